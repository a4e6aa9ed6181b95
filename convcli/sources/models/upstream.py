"""A model layer's real input: the model run from its input up to that layer, on one image.

``convcli run IMAGE --model M --layer NAME`` explores a conv layer with its learned weights; unless
the layer reads the model's input directly (:func:`needs_upstream`), its input is what the layers
before it make of the image, and :func:`layer_input` computes it:

- ``.keras`` / ``.h5``: Keras itself (``keras.saving.load_model(compile=False, safe_mode=True)``,
  never unsafe: a ``Lambda`` layer is refused, its code never runs), a sub-model from the model's
  input to the layer's input. The backend is the one :mod:`convcli.sources.frameworks` chooses. A
  ``Rescaling`` or ``Normalization`` in the model is applied on the way, as in training, and the
  note says so (the image then goes in as stored). Without Keras, a layer that only an
  ``InputLayer`` and ``Rescaling`` layers precede is computed here (``x * scale + offset``).
- ``.onnx``: ONNX Runtime on a copy of the graph whose one output is the Conv's input tensor, in a child
  process (:mod:`convcli.sources.models.child`) that the time budget (``CONVCLI_UPSTREAM_TIMEOUT``,
  300 s), Ctrl-C and SIGTERM end: a graph can run forever in one call (a ``Loop`` of 10^15 trips).
  Keras stays in this process (a child would import it again, seconds on every run), within the same
  budget between its steps.

Before the framework computes, the largest activation its shape inference finds on the way to the
layer goes to the caller's ``fits`` (:mod:`convcli.sources.models.sizes`): an ``UpSampling2D`` of ×8000
is refused, not allocated.
- ``.safetensors`` / ``.pt``: no graph; the layer's input must come as an array file.

Every failure is one :class:`~convcli.errors.LoadError` (or :class:`~convcli.errors.ShapeError`)
line naming the file; names from the file are shown through :func:`convcli.text.shown`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from convcli.errors import LoadError, ShapeError
from convcli.layer.model import Listing, ModelLayer
from convcli.sources import frameworks, sniff
from convcli.sources.models import inputs_fit, keras_load, keras_run, paths, sizes
from convcli.sources.models.install import missing
from convcli.sources.models.ort_child import ORT_INSTALL, escaped_message  # noqa: F401 - re-exported
from convcli.sources.models.sizes import Fits
from convcli.text import shown

KERAS_INSTALL = "pip install 'convcli[keras]'"


@dataclass(frozen=True)
class LayerInput:
    """What a layer receives from the layers before it, for one image."""

    array: np.ndarray  # (*S', C') float32 (float64 from a float64 Keras model): the layer's real input
    by: str  # "Keras 3.x.y (torch backend)", "ONNX Runtime 1.x", or "convcli (Rescaling)"
    note: str  # one line for the header


def _check_index(listing: Listing, index: int) -> ModelLayer:
    if not 0 <= index < len(listing.layers):
        raise IndexError(f"layer index {index} is outside the {len(listing.layers)} layers of {listing.model}")
    return listing.layers[index]


def _no_graph(listing: Listing, layer: ModelLayer) -> LoadError:
    return LoadError(f"{listing.model}: the file holds weights, no graph: convcli cannot compute the input of layer "
                     f"{shown(layer.name)!r}; pass that input as an array file (.npy, (H, W, C))")


def needs_upstream(listing: Listing, index: int) -> bool:
    """Whether layer ``index`` reads something other than the model's input (False: the image itself).

    A listing without a graph (safetensors, state dicts) cannot say: the caller decides (check
    ``listing.graph`` first); asked anyway, this raises the :class:`LoadError` :func:`layer_input` would.
    """
    layer = _check_index(listing, index)
    if not listing.graph:
        raise _no_graph(listing, layer)
    srcs = paths.sources_of(listing, index)
    return not (srcs == [] or (len(srcs) == 1 and listing.layers[srcs[0]].kind == "input"))


def _rescaling_chain(listing: Listing, index: int) -> list[ModelLayer] | None:
    """The Rescaling layers between the model's input and layer ``index``, input first; None when
    anything else lies between (or a merge, or a Rescaling whose numbers the file does not hold)."""
    chain: list[ModelLayer] = []
    srcs = paths.sources_of(listing, index)
    while srcs:
        if len(srcs) != 1:
            return None
        lay = listing.layers[srcs[0]]
        if lay.kind == "input":
            break
        if lay.kind != "rescaling" or lay.scale is None:
            return None
        chain.append(lay)
        srcs = paths.sources_of(listing, srcs[0])
    return chain[::-1]


def _per_channel(name: str, v: float | tuple[float, ...], c: int, layer: ModelLayer, what: str) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float32)
    if arr.ndim == 1 and arr.shape[0] not in (1, c):
        raise ShapeError(f"{name}: Rescaling {shown(layer.name)!r}: its {what} has {arr.shape[0]} values, the input "
                         f"{c} channels")
    return arr


def _rescaled(name: str, x: np.ndarray, chain: list[ModelLayer]) -> np.ndarray:
    """``x * scale + offset`` layer by layer, in float32 as Keras' Rescaling computes it."""
    out = x.astype(np.float32)
    for lay in chain:
        assert lay.scale is not None
        scale = _per_channel(name, lay.scale, out.shape[2], lay, "scale")
        offset = _per_channel(name, lay.offset if lay.offset is not None else 0.0, out.shape[2], lay, "offset")
        out = (out * scale + offset).astype(np.float32)
    return out


def _own_scaling(listing: Listing, index: int) -> str:
    found = [lay for i in paths.ancestors(listing, index) if (lay := listing.layers[i]).kind in paths.SCALING_KINDS]
    if not found:
        return ""
    names = ", ".join(f"{lay.class_name} {shown(lay.name)!r}" for lay in found)
    return f", through the model's own {names} (give the image as stored: --preprocess none)"


def layer_input(path: str | os.PathLike[str], listing: Listing, index: int, x: np.ndarray, *,
                fits: Fits | None = None) -> LayerInput:
    """The input of layer ``index`` of the model at ``path`` (read as ``listing``) for ``x (H, W, C)`` (``(L, C)``,
    ``(D, H, W, C)``), already preprocessed as the user asked. ``fits``: called, before the framework computes, on the largest
    activation its shape inference finds on the way to the layer."""
    layer = _check_index(listing, index)
    name = sniff.name_of(path)
    arr = inputs_fit.check_x(x)
    if not listing.graph:
        raise _no_graph(listing, layer)
    n_in = len(paths.sources_of(listing, index))
    if n_in > 1:
        raise LoadError(f"{name}: layer {shown(layer.name)!r} ({shown(layer.class_name)}) reads {n_in} tensors "
                        "(a merge); convcli explores a layer with one input")
    if listing.format == "onnx":
        return _onnx(name, listing, index, arr, fits)
    if listing.format not in ("keras", "h5"):
        raise LoadError(f"{name}: convcli cannot run a {listing.format} model")
    chain = _rescaling_chain(listing, index)
    reason = unloaded = ""
    if frameworks.installed("keras"):
        try:
            return _keras_in_budget(name, listing, index, arr, fits)
        except frameworks.NoBackend as exc:
            reason = f" ({exc})"
        except keras_load.KerasCannotLoad:
            if chain is None:
                raise
            unloaded = "; Keras cannot load the model"  # what it computes is the same: x * scale + offset
    if chain is not None:
        names = ", ".join(shown(lay.name) for lay in chain)
        note = (f"the input of {shown(layer.name)!r}: the model's Rescaling {names} applied by convcli{unloaded} "
                "(give the image as stored: --preprocess none)" if chain else
                f"the input of {shown(layer.name)!r}: the model's input itself{unloaded}")
        return LayerInput(_rescaled(name, arr, chain), "convcli (Rescaling)", note)
    raise LoadError(f"{name}: the input of layer {shown(layer.name)!r} is the output of earlier layers: install keras "
                    f"({KERAS_INSTALL}) to compute it{reason}, or pass that input as an array file (.npy, (H, W, C))")


def _keras_in_budget(name: str, listing: Listing, index: int, x: np.ndarray, fits: Fits | None) -> LayerInput:
    """Keras in this process (a child would import it again: seconds on every run), its load and run within
    the time budget (:func:`convcli.sources.models.child.alarm`: between Keras' steps; each step's work is
    bounded by the weights in the file and the activations checked before it runs)."""
    from convcli.sources.models import child

    seconds = child.budget()
    try:
        with child.alarm(seconds):
            return _keras(name, listing, index, x, fits)
    except child.OverBudget:
        raise LoadError(f"{name}: Keras took more than {seconds:g} s to compute the input of "
                        f"{shown(listing.layers[index].name)!r} and was stopped ({child.TIMEOUT_ENV} sets the "
                        "seconds it may take)") from None


#: Where each backend of Keras comes from: its package, for the version in the cache's key.
_BACKEND_PACKAGES = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "numpy": "numpy",
                     "openvino": "openvino"}


def dist_version(*names: str) -> str:
    """The version of the first of the distributions ``names`` installed; ``""`` when none is."""
    from importlib import metadata

    for dist in names:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return ""


def framework(listing: Listing) -> str:
    """What computes a layer's input of this model here, with its version (``"onnxruntime 1.x"``, ``"keras
    3.x torch 2.x"``), found without importing it; ``""`` when nothing installed would (convcli's own
    Rescaling, or nothing). The layer-input cache's key holds it (:mod:`convcli.pipeline.cache`)."""
    if listing.format == "onnx":
        version = dist_version("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml")
        return f"onnxruntime {version}" if version and frameworks.installed("onnxruntime") else ""
    if listing.format not in ("keras", "h5") or not frameworks.installed("keras"):
        return ""
    try:
        backend = frameworks.keras_backend()[0]
    except frameworks.NoBackend:
        return ""
    package = _BACKEND_PACKAGES.get(backend, backend)
    return f"keras {dist_version('keras')} {backend} {dist_version(package, package + '-cpu')}"


def _first_line(exc: BaseException) -> str:
    return keras_run.first_line(exc)


def _check_archive(name: str) -> None:
    import zipfile

    from convcli.sources.models import keras_v3

    try:
        with zipfile.ZipFile(name) as zf:
            keras_v3.check_archive(name, zf.infolist(), os.path.getsize(name))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise LoadError(f"{name}: not a readable zip archive ({sniff.reason(exc)})") from None


def _keras(name: str, listing: Listing, index: int, x: np.ndarray, fits: Fits | None = None) -> LayerInput:
    layer = listing.layers[index]
    for lay in listing.layers:
        if lay.class_name == "Lambda":
            raise LoadError(f"{name}: layer {shown(lay.name)!r} is a Lambda layer, Python code saved in the file; "
                            "convcli does not run it (refused)")
    suffixes = (".keras",) if listing.format == "keras" else (".h5", ".hdf5")
    if not name.endswith(suffixes):
        raise LoadError(f"{name}: Keras opens this model only from a file named *{suffixes[0]}: rename or copy it "
                        "to compute a layer's input")
    if listing.format == "keras":
        _check_archive(name)  # Keras extracts every member it does not need to TMPDIR: sizes first
    frameworks.keras_backend()  # before keras is imported: it reads its backend once
    try:
        import keras
    except ImportError as exc:
        raise missing("keras", listing.format, KERAS_INSTALL) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own chatter about the file and the backend
        try:
            model = keras.saving.load_model(name, compile=False, safe_mode=True, custom_objects=keras_run.keras2_layers(keras))
        except Exception as exc:  # noqa: BLE001 - whatever Keras raises on a file it cannot load is one line
            if isinstance(exc, (KeyboardInterrupt, MemoryError)):
                raise
            # Keras wraps the cause in the config it could not read: the cause is what says why
            cause = str(exc).rsplit("Exception encountered: ", 1)[-1].strip().splitlines()
            text = shown(cause[0])[:200] if cause else _first_line(exc)
            if "safe_mode" in str(exc) or "Lambda" in str(exc):
                raise LoadError(f"{name}: Keras refuses to load it safely (a Lambda or other Python code in the "
                                "file; convcli never loads unsafely)") from None
            if "arguments passed to" in str(exc) and "'groups'" in str(exc) and listing.format == "keras":
                raise LoadError(f"{name}: a .keras file written by Keras 2 (tf_keras): Keras 3 refuses the groups of "
                                "its depthwise or separable layers; save the model as .h5 with tf_keras, which "
                                "convcli reads as Keras 2 wrote it") from None
            raise keras_load.cannot_load(name, keras, listing, exc, text) from None
        inputs = list(getattr(model, "inputs", None) or [])
        if len(inputs) != 1:
            raise LoadError(f"{name}: the model has {len(inputs)} inputs; convcli feeds one image")
        inputs_fit.fit(name, tuple(inputs[0].shape[1:]), x)
        y = keras_run.layer_input(keras, model, name, layer.name, x, fits)
    if y.ndim != x.ndim + 1:
        raise ShapeError(f"{name}: the input of {shown(layer.name)!r} is {y.shape[1:]}, not {inputs_fit.LAYOUTS[x.ndim]}")
    note = (f"the input of {shown(layer.name)!r} as Keras computes it from the {'image' if x.ndim == 3 else 'array'}"
            f"{_own_scaling(listing, index)}")
    # in the model's own precision: a float64 model's activations stay float64
    dtype = np.float64 if y.dtype == np.float64 else np.float32
    return LayerInput(np.ascontiguousarray(y[0], dtype=dtype), f"Keras {frameworks.version('keras')}", note)


def _onnx(name: str, listing: Listing, index: int, x: np.ndarray, fits: Fits | None = None) -> LayerInput:
    """The graph read here with the onnx package, ONNX Runtime run in a process of its own
    (:mod:`convcli.sources.models.child`, importing only onnxruntime and numpy): a graph that never ends
    (a ``Loop`` of 10^15 iterations) is stopped at the time budget, and by Ctrl-C or SIGTERM."""
    from convcli.sources.models import child

    layer = listing.layers[index]
    try:
        import onnx
    except ImportError:
        raise missing("onnx", ".onnx") from None
    if not frameworks.installed("onnxruntime"):
        raise LoadError(f"{name}: computing the input of layer {shown(layer.name)!r} needs the onnxruntime package: "
                        f"{ORT_INSTALL}, or pass that input as an array file (.npy, (H, W, C))")
    from convcli.sources.models import onnx_functions, onnx_graph, onnx_shapes

    try:
        model = onnx_graph.load(name)[1]
        graph = model.graph
        folder = os.path.dirname(os.path.abspath(name))
        external = [t for t in graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        for t in external:
            onnx_graph.check_external(name, t, folder)
        if external:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # onnx's about the file (an unknown external-data key)
                onnx.load_external_data_for_model(model, folder)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a file onnx cannot read, in one line
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        raise LoadError(f"{name}: not a readable ONNX model ({_first_line(exc)})") from None
    known: dict[str, tuple[int, ...]] = {t.name: () for t in graph.initializer}
    known |= {out: () for node in graph.node if node.op_type == "Constant" for out in node.output}
    inputs, nodes = onnx_graph.named(graph, known)
    node = next((n for lname, n in nodes if lname == layer.name), None)
    if node is None:
        owner = onnx_functions.owner(nodes, layer.name)
        if owner is not None:
            raise LoadError(f"{name}: layer {shown(layer.name)!r} sits inside the control flow of {shown(owner)!r}: its "
                            "input depends on which branch or iteration runs, so convcli does not compute it; pass "
                            "that input as an array file (.npy, (H, W, C))")
        raise LoadError(f"{name}: the graph has no node {shown(layer.name)!r} where the listing had it (has the file "
                        "changed?)")
    if len(inputs) != 1:
        raise LoadError(f"{name}: the graph has {len(inputs)} inputs; convcli feeds one image")
    feed = inputs[0]
    ttype = feed.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim]
    if ttype.elem_type != onnx.TensorProto.FLOAT:
        raise LoadError(f"{name}: the graph's input {shown(feed.name)!r} is not float32; convcli feeds float32")
    if len(dims) != x.ndim + 1 or dims[0] not in (None, 1):
        raise ShapeError(f"{name}: the graph's input {shown(feed.name)!r} is {tuple(dims)}, not a batch "
                         f"{inputs_fit.first(x.ndim).replace('1', 'N', 1)} of the {'image' if x.ndim == 3 else 'array'}")
    last = onnx_shapes.channels_last(graph, feed.name)  # (N, *S, C), as Keras' own export writes
    inputs_fit.fit(name, tuple(dims[1:]) if last else (*dims[2:], dims[1]), x)
    data = node.input[0] if node.input else ""
    if not data:
        raise LoadError(f"{name}: node {shown(layer.name)!r} has no data input")
    if fits is not None:
        sizes.onnx_fits(onnx, model, feed.name, (1, *x.shape) if last else (1, x.shape[-1], *x.shape[:-1]),
                        data, fits)
    del graph.output[:]  # the layer's input alone: nothing after it is computed
    graph.output.append(onnx.ValueInfoProto(name=data))
    try:
        serialized = model.SerializeToString()
    except ValueError as exc:  # protobuf's 2 GiB limit
        raise LoadError(f"{name}: ONNX Runtime cannot be given the model ({_first_line(exc)})") from None
    batch = np.ascontiguousarray((x if last else np.moveaxis(x, -1, 0)).astype(np.float32)[None])
    args = {"name": name, "layer": layer.name, "feed": feed.name, "data": data}
    try:
        y, answer = child.run("convcli.sources.models.ort_child:ort_task", args, batch, {"model.onnx": serialized})
    except child.OverBudget:
        raise LoadError(f"{name}: ONNX Runtime took more than {child.budget():g} s to compute the input of "
                        f"{shown(layer.name)!r} and was stopped ({child.TIMEOUT_ENV} sets the seconds it may "
                        "take)") from None
    except LoadError as exc:
        if exc.field is None and not exc.message.startswith(name):
            raise LoadError(f"{name}: {exc.message}") from None
        raise
    if y.ndim != x.ndim + 1 or y.shape[0] != 1 or y.dtype != np.float32:
        raise ShapeError(f"{name}: the input of {shown(layer.name)!r} is {y.dtype} {y.shape}, not float32 "
                         f"{inputs_fit.first(x.ndim)}")
    what, read_as = ("image", "NCHW") if x.ndim == 3 else ("array", "channels first")
    note = (f"the input of {shown(layer.name)!r} as ONNX Runtime computes it from the {what} ({read_as}, read as "
            f"{inputs_fit.LAYOUTS[x.ndim]})")
    return LayerInput(np.ascontiguousarray(np.moveaxis(y[0], 0, -1)), f"ONNX Runtime {answer.get('version', '')}",
                      note)
