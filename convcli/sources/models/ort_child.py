"""ONNX Runtime's side of computing a layer's input, run in a child process (:mod:`convcli.sources.models.child`):
it imports onnxruntime and numpy only (the onnx package, 1 s to import, stays in the parent, which
prepared the graph: :func:`convcli.sources.models.upstream.layer_input`)."""

from __future__ import annotations

import os

import numpy as np

from convcli.errors import LoadError
from convcli.text import shown

ORT_INSTALL = "pip install 'convcli[onnxruntime]'"
#: ONNX Runtime's log severity that lets only fatal errors through (0 verbose ... 4 fatal).
FATAL = 4


def escaped_message(exc: BaseException, limit: int = 400) -> str:
    """A library's whole error message on one line: every line break and control character escaped
    (:func:`convcli.text.shown`); past ``limit`` characters its middle is cut (the cause is often last);
    the exception's type when it says nothing."""
    text = shown(str(exc).strip())
    if len(text) > limit:
        text = f"{text[: limit // 2]} … {text[-(limit // 2):]}"
    return text or type(exc).__name__


def ort_task(x: np.ndarray, folder: str, *, name: str, layer: str, feed: str, data: str
             ) -> tuple[np.ndarray, dict[str, str]]:
    """In the child: ONNX Runtime runs ``folder/model.onnx`` on ``x (1, C, H, W)`` float32 fed as ``feed``;
    the tensor ``data`` (the input of the node ``layer``; ``name``: the file in messages) and
    ``{"version": ONNX Runtime's}``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise LoadError(f"{name}: computing the input of layer {shown(layer)!r} needs the onnxruntime package: "
                        f"{ORT_INSTALL}, or pass that input as an array file (.npy, (H, W, C))") from None
    try:
        # ONNX Runtime logs to the process's stderr itself, node names from the file raw (escapes, a
        # forged "Error:" line): fatal only, and its failure comes back as the exception, escaped below
        ort.set_default_logger_severity(FATAL)
        options = ort.SessionOptions()
        options.log_severity_level = FATAL
        run_options = ort.RunOptions()
        run_options.log_severity_level = FATAL
        session = ort.InferenceSession(os.path.join(folder, "model.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        (y,) = session.run([data], {feed: x}, run_options)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's error on building or running the graph
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        raise LoadError(f"{name}: ONNX Runtime cannot compute the input of {shown(layer)!r} "
                        f"({escaped_message(exc)})") from None
    return np.asarray(y), {"version": str(ort.__version__)}
