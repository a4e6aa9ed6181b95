"""A model given as a folder: the file inside that convcli reads, or what to do with the folder.

A Hugging Face ``save_pretrained`` folder holds ``config.json`` beside ``model.safetensors`` (or an
older ``pytorch_model.bin``): that file is read, and the listing says so. A sharded one
(``model.safetensors.index.json``) names its shards: each is listed on its own. A TensorFlow
SavedModel folder (``saved_model.pb``) holds a graph convcli does not read: converting it with
tf2onnx, or saving the model as ``.keras``, gives a file it does. Any other folder is refused as
one. Nothing but the names of the folder's entries is read here.
"""

from __future__ import annotations

import os

from convcli.errors import LoadError

#: The weight files of a Hugging Face folder, in the order transformers itself prefers them.
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
SAVED_MODEL_ADVICE = ("convert it to ONNX with tf2onnx (python -m tf2onnx.convert --saved-model DIR --output "
                      "model.onnx) or save the model as .keras (model.save('model.keras'))")


def model_file(name: str) -> tuple[str, str | None]:
    """The file to read for ``name`` and a note saying where it came from (``None``: ``name`` is that
    file). A folder that holds none convcli reads is one :class:`LoadError` saying what to do."""
    if not os.path.isdir(name):
        return name, None
    try:
        entries = set(os.listdir(name))
    except OSError as exc:
        raise LoadError(f"{name}: is a directory that cannot be read ({exc.strerror or exc})") from None
    if "saved_model.pb" in entries or "saved_model.pbtxt" in entries:
        raise LoadError(f"{name}: is a TensorFlow SavedModel folder, which convcli does not read; "
                        f"{SAVED_MODEL_ADVICE}")
    found = next((f for f in HF_WEIGHTS if f in entries and os.path.isfile(os.path.join(name, f))), None)
    if found is not None:
        kind = "a Hugging Face save_pretrained folder" if "config.json" in entries else "a folder"
        return os.path.join(name, found), f"{kind}: read its {found}"
    index = next((f"{f}.index.json" for f in HF_WEIGHTS if f"{f}.index.json" in entries), None)
    if index is not None:
        raise LoadError(f"{name}: is a folder of a sharded model ({index}); list one of its shard files "
                        "(e.g. model-00001-of-00002.safetensors)")
    raise LoadError(f"{name}: is a directory, not a model file (a Hugging Face folder holds model.safetensors)")
