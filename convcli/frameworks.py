"""The same Conv2D through every installed framework: one adapter each, imported only when asked.

Each adapter receives convcli's arrays (channels-last, Keras layouts: ``x (H, W, C)``, ``kernel
(kh, kw, C // groups, F)``, ``bias (F,)``), converts them to its framework's layouts itself,
realises the padding the framework's own way where it has one, and returns the pre-activation
``(H', W', F)`` back in convcli's layout, together with what it did: the version, the permutation,
how the padding was made. Where a framework refuses a configuration it reports the refusal in the
framework's own words instead of failing.

Nothing here imports a framework at module level: ``convcli --help`` and ``convcli run`` never pay
for torch, keras, tensorflow, jax or scipy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from convcli import compare, engine, reference
from convcli.engine import PaddingSpec

SEMANTICS = ("keras", "torch")

COMPUTED = "computed"
REFUSED = "refused"
MISSING = "missing"


@dataclass(frozen=True)
class Problem:
    """One layer to compute everywhere.

    ``layer`` holds the arrays as applied (``kernel (kh, kw, C // groups, F)`` already flipped
    when ``flip``); ``bias (F,)``; ``padding`` as the user spelt it (``'valid'``, ``'same'``, P or
    ``(PH, PW)``), the concrete pads being ``layer.geometry.pads``; ``semantics`` the framework
    whose rules the user asked for.
    """

    layer: engine.Layer
    bias: np.ndarray
    padding: PaddingSpec
    semantics: str = "keras"
    flip: bool = False

    @property
    def same(self) -> bool:
        return isinstance(self.padding, str) and self.padding == "same"

    @property
    def numeric_padding(self) -> bool:
        return not isinstance(self.padding, str)


@dataclass(frozen=True)
class Outcome:
    """What one framework did with a :class:`Problem`.

    ``status`` is :data:`COMPUTED` (``output (H', W', F)`` set), :data:`REFUSED` (``note`` holds the
    framework's rule and message) or :data:`MISSING` (``note`` says how to install it).
    """

    framework: str
    version: str
    status: str
    layout: str = ""
    padding: str = ""
    output: np.ndarray | None = None
    note: str = ""


@dataclass(frozen=True)
class Checked:
    """An :class:`Outcome` and, when it computed, its comparison with convcli."""

    outcome: Outcome
    comparison: compare.Comparison | None


class Refused(Exception):
    """A framework refused the configuration; the message is its rule and its own words."""


class Unavailable(Exception):
    """A framework is installed but cannot be used here (e.g. Keras without its backend)."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _pair_text(p: tuple[int, ...]) -> str:
    return f"({', '.join(str(v) for v in p)})"


# ------------------------------------------------------------------------------------------------
# PyTorch

TORCH_LAYOUT = ("x (H, W, C) → (1, C, H, W) by permute(2, 0, 1)[None]; "
                "kernel (kh, kw, C/g, F) → (F, C/g, kh, kw) by permute(3, 2, 0, 1)")


def _torch(p: Problem) -> Outcome:
    import torch
    import torch.nn.functional as F

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    explicit: tuple[int, int, int, int] | None = None
    padding: str | tuple[int, int]
    refusal_expected = False
    if p.numeric_padding:
        padding, how = (top, left), f"padding=({top}, {left})"
    elif not p.same:
        padding, how = "valid", "padding='valid'"
    elif p.semantics == "torch" or g.stride == (1, 1):
        padding = "same"
        refusal_expected = g.stride != (1, 1)
        how = f"padding='same' (torch's own: pads {g.pads}"
        how += ", the odd one at the end, as TensorFlow)" if (top, left) != (bottom, right) else ")"
    elif (top, left) == (bottom, right):
        padding, how = (top, left), f"padding=({top}, {left}): these 'same' pads are symmetric"
    else:
        padding, explicit = (0, 0), (left, right, top, bottom)
        how = (f"F.pad(x, {_pair_text(explicit)}) (left, right, top, bottom), then padding=0: torch refuses "
               "'same' with stride > 1 and its padding= is symmetric")
    x = torch.from_numpy(np.ascontiguousarray(layer.x)).permute(2, 0, 1)[None]
    w = torch.from_numpy(np.ascontiguousarray(layer.kernel)).permute(3, 2, 0, 1)
    b = torch.from_numpy(np.ascontiguousarray(p.bias))
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns that 'same' with an even kernel copies a padded input: a cost, not a difference
        warnings.filterwarnings("ignore", message=".*padding='same'.*", category=UserWarning)
        if explicit is not None:
            x = F.pad(x, explicit)
        try:
            y = F.conv2d(x, w, b, stride=g.stride, padding=padding, dilation=g.dilation,  # type: ignore[arg-type]
                         groups=layer.groups)
        except (RuntimeError, ValueError) as exc:
            if not refusal_expected:
                raise
            raise Refused(f"PyTorch allows padding='same' only with stride 1: {_first_line(exc)}") from exc
    return Outcome("PyTorch", torch.__version__, COMPUTED, TORCH_LAYOUT, how,
                   y[0].permute(1, 2, 0).contiguous().numpy())


# ------------------------------------------------------------------------------------------------
# Keras 3

_KERAS_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
                         "openvino": "openvino"}


#: Why convcli chose Keras' backend, if it did (Keras reads KERAS_BACKEND once, at import).
_KERAS_CHOICE = {"note": ""}


def _keras_config_backend() -> str | None:
    """The backend named in keras.json (where Keras itself looks), if any."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    try:
        backend = json.loads((home / "keras.json").read_text(encoding="utf-8")).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


def choose_keras_backend(explicit: str | None, from_file: str | None,
                         installed: Callable[[str], bool]) -> tuple[str, str | None]:
    """The backend Keras should import with, and the value to give ``KERAS_BACKEND`` (None: leave it).

    Keras picks its backend once, at import: ``KERAS_BACKEND``, else keras.json, else TensorFlow.
    When the choice comes from keras.json or the default and is not installed, an installed one
    (torch, then jax) is used instead; an explicit ``KERAS_BACKEND`` is always respected.
    Raises :class:`Unavailable` when no usable backend is installed.
    """
    configured = explicit or from_file or "tensorflow"
    if installed(_KERAS_BACKEND_MODULE.get(configured, configured)):
        return configured, None
    if explicit:
        raise Unavailable(f"KERAS_BACKEND={explicit} but {explicit} is not installed")
    for alternative in ("torch", "jax"):
        if installed(alternative):
            return alternative, alternative
    raise Unavailable(f"Keras' {configured} backend is not installed; pip install 'convcli[keras]' (torch backend)")


def keras_backend() -> tuple[str, str]:
    """The backend Keras computes on here, and a note when convcli chose it (see :func:`choose_keras_backend`)."""
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend()), _KERAS_CHOICE["note"]
    explicit = os.environ.get("KERAS_BACKEND") or None
    from_file = _keras_config_backend()
    backend, set_env = choose_keras_backend(explicit, from_file, _installed)
    if set_env is not None:
        os.environ["KERAS_BACKEND"] = set_env
        configured = from_file or "tensorflow"
        source = "keras.json" if from_file else "Keras' default"
        _KERAS_CHOICE["note"] = (f"the {configured} backend ({source}) is not installed, so convcli set "
                                 f"KERAS_BACKEND={set_env}")
    return backend, _KERAS_CHOICE["note"]


def _keras(p: Problem) -> Outcome:
    backend, chosen = keras_backend()
    if backend == "jax" and p.layer.x.dtype == np.float64:
        import jax

        jax.config.update("jax_enable_x64", True)  # otherwise Keras on JAX computes float64 layers in float32
    import keras

    layer, g = p.layer, p.layer.geometry
    dtype = layer.x.dtype.name
    top, bottom, left, right = g.pads
    try:
        conv = keras.layers.Conv2D(
            filters=layer.filters, kernel_size=g.kernel_hw, strides=g.stride,
            padding="same" if p.same else "valid", data_format="channels_last", dilation_rate=g.dilation,
            groups=layer.groups, use_bias=True, dtype=dtype,
        )
    except ValueError as exc:
        if g.stride == (1, 1) or g.dilation == (1, 1):
            raise
        raise Refused(f"Keras allows dilation_rate > 1 only with strides 1: {_first_line(exc)}") from exc
    x = keras.ops.convert_to_tensor(layer.x[None], dtype=dtype)
    if p.numeric_padding:
        x = keras.layers.ZeroPadding2D(((top, bottom), (left, right)), data_format="channels_last", dtype=dtype)(x)
        how = f"ZeroPadding2D((({top}, {bottom}), ({left}, {right}))) then padding='valid': Keras has no numeric padding"
    else:
        how = f"padding={'same' if p.same else 'valid'!r}" + (f" (Keras' own: pads {g.pads})" if p.same else "")
    with warnings.catch_warnings():
        # Keras' torch backend trips numpy 2's __array__(copy=) deprecation: noise about Keras, not the layer
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        conv.build(tuple(x.shape))
        conv.set_weights([layer.kernel, p.bias])
        y = keras.ops.convert_to_numpy(conv(x))[0]
    version = f"{keras.__version__} ({keras.backend.backend()} backend)"
    return Outcome("Keras", version, COMPUTED,
                   "x[None] (1, H, W, C); kernel (kh, kw, C/g, F) as is, by set_weights([kernel, bias])",
                   how, np.asarray(y), note=chosen)


# ------------------------------------------------------------------------------------------------
# TensorFlow


def _tensorflow(p: Problem) -> Outcome:
    import tensorflow as tf

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    x = tf.constant(layer.x[None])
    if p.numeric_padding:
        x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        mode, how = "VALID", f"tf.pad (({top}, {bottom}), ({left}, {right})) then padding='VALID'"
    else:
        mode = "SAME" if p.same else "VALID"
        how = f"padding={mode!r}" + (f" (TensorFlow's own: pads {g.pads})" if p.same else "")
    cg, fg = layer.cg, layer.filters // layer.groups
    refusal_expected = g.stride != (1, 1) and g.dilation != (1, 1)
    outs = []
    for k in range(layer.groups):  # one call per group: TensorFlow's CPU kernels have no grouped convolution
        try:
            outs.append(tf.nn.convolution(
                x[..., k * cg : (k + 1) * cg], tf.constant(layer.kernel[..., k * fg : (k + 1) * fg]),
                strides=g.stride, padding=mode, dilations=g.dilation, data_format="NHWC",
            ))
        except Exception as exc:  # its error type for this rule varies between versions and devices
            if not refusal_expected:
                raise
            raise Refused(f"TensorFlow allows dilations > 1 only with strides 1: {_first_line(exc)}") from exc
    y = tf.concat(outs, axis=-1) + tf.constant(p.bias)
    groups = "; one tf.nn.convolution per group" if layer.groups > 1 else ""
    return Outcome("TensorFlow", tf.__version__, COMPUTED,
                   f"NHWC x[None]; kernel HWIO (kh, kw, C/g, F) as is{groups}", how, np.asarray(y.numpy()[0]))


# ------------------------------------------------------------------------------------------------
# JAX


def _jax(p: Problem) -> Outcome:
    import jax

    if p.layer.x.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)  # otherwise JAX silently computes in float32
    import jax.numpy as jnp
    from jax import lax

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    padding: str | list[tuple[int, int]]
    if p.numeric_padding:
        padding = [(top, bottom), (left, right)]
        how = f"padding={padding}"
    elif p.same:
        padding, how = "SAME", f"padding='SAME' (lax's own: pads {g.pads})"
    else:
        padding, how = "VALID", "padding='VALID'"
    y = lax.conv_general_dilated(
        jnp.asarray(layer.x[None]), jnp.asarray(layer.kernel), window_strides=g.stride, padding=padding,
        rhs_dilation=g.dilation, dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=layer.groups, precision=lax.Precision.HIGHEST,
    )
    y = y + jnp.asarray(p.bias)
    return Outcome("JAX", jax.__version__, COMPUTED,
                   "lax.conv_general_dilated, dimension_numbers ('NHWC', 'HWIO', 'NHWC'): nothing permuted",
                   how, np.asarray(y[0]))


# ------------------------------------------------------------------------------------------------
# SciPy: one 2-D correlation per (channel, filter), summed; the sum the layer is, written out


def _scipy(p: Problem) -> Outcome:
    import scipy
    from scipy import signal

    layer, g = p.layer, p.layer.geometry
    top, bottom, left, right = g.pads
    (sh, sw), (dh, dw) = g.stride, g.dilation
    kh, kw, cg, f = layer.kernel.shape
    fg = f // layer.groups
    xpad = np.pad(layer.x, ((top, bottom), (left, right), (0, 0)))
    # the kernel as given (convolve2d flips it itself), with dilation's gaps as explicit zeros
    given = layer.kernel[::-1, ::-1] if p.flip else layer.kernel
    dilated = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1, cg, f), dtype=layer.kernel.dtype)
    dilated[::dh, ::dw] = given
    fn = signal.convolve2d if p.flip else signal.correlate2d
    ho, wo = g.out_hw
    out = np.empty((ho, wo, f), dtype=layer.x.dtype)
    for j in range(f):
        group = j // fg
        acc = np.full((ho, wo), p.bias[j], dtype=layer.x.dtype)
        for c in range(cg):
            full = fn(xpad[:, :, group * cg + c], dilated[:, :, c, j], mode="valid")
            acc += full[::sh, ::sw][:ho, :wo]
        out[:, :, j] = acc
    name = "convolve2d" if p.flip else "correlate2d"
    how = f"np.pad {g.pads}, {name}(mode='valid')" + (f", then [::{sh}, ::{sw}]" if (sh, sw) != (1, 1) else "")
    gaps = "; dilation as zeros in the kernel" if (dh, dw) != (1, 1) else ""
    given_note = "; the kernel as given: convolve2d flips it" if p.flip else ""
    return Outcome("SciPy", scipy.__version__, COMPUTED,
                   f"Σ_c {name}(x[:, :, c], kernel[:, :, c, f]) + bias[f]{gaps}{given_note}", how, out)


# ------------------------------------------------------------------------------------------------
# numpy: convcli's own second implementation, always there


def _numpy(p: Problem) -> Outcome:
    layer, g = p.layer, p.layer.geometry
    out = reference.einsum_conv2d(layer.x, layer.kernel, p.bias, stride=g.stride, dilation=g.dilation,
                                  pads=g.pads, groups=layer.groups)
    return Outcome("numpy einsum", np.__version__, COMPUTED,
                   "einsum('ijcuv,uvcf->ijf') over sliding_window_view (convcli's second implementation)",
                   f"np.pad {g.pads}", out)


# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapter:
    """A framework: its display name, the module that must be importable, how to install it."""

    name: str
    module: str
    install: str
    compute: Callable[[Problem], Outcome]


ADAPTERS: tuple[Adapter, ...] = (
    Adapter("PyTorch", "torch", "pip install 'convcli[torch]'", _torch),
    Adapter("Keras", "keras", "pip install 'convcli[keras]'", _keras),
    Adapter("TensorFlow", "tensorflow", "pip install tensorflow", _tensorflow),
    Adapter("JAX", "jax", "pip install 'convcli[jax]'", _jax),
    Adapter("SciPy", "scipy", "pip install 'convcli[scipy]'", _scipy),
    Adapter("numpy einsum", "numpy", "", _numpy),
)


def run_adapter(adapter: Adapter, problem: Problem) -> Outcome:
    """``adapter`` on ``problem``; a missing framework or a refusal becomes an :class:`Outcome`."""
    if not _installed(adapter.module):
        return Outcome(adapter.name, "", MISSING, note=f"not installed: {adapter.install}")
    try:
        return adapter.compute(problem)
    except Refused as exc:
        return Outcome(adapter.name, _version(adapter.module), REFUSED, note=str(exc))
    except (Unavailable, ImportError) as exc:
        return Outcome(adapter.name, "", MISSING, note=f"cannot be used: {_first_line(exc)}")


def _version(module: str) -> str:
    mod = sys.modules.get(module)
    if mod is None:
        return ""
    if module == "keras":
        return f"{mod.__version__} ({mod.backend.backend()} backend)"
    return str(getattr(mod, "__version__", ""))


def verify(problem: Problem, expected: np.ndarray, adapters: tuple[Adapter, ...] | None = None) -> list[Checked]:
    """Every adapter (default :data:`ADAPTERS`) on ``problem``, each result compared with ``expected (H', W', F)``."""
    scale = compare.magnitude(problem.layer, problem.bias)
    n = compare.terms(problem.layer)
    checked = []
    for adapter in ADAPTERS if adapters is None else adapters:
        outcome = run_adapter(adapter, problem)
        if problem.flip and outcome.status == COMPUTED and adapter.module != "scipy":
            outcome = replace(outcome, layout=outcome.layout + "; the kernel flipped by convcli (--flip)")
        comparison = None
        if outcome.output is not None:
            comparison = compare.compare(outcome.output, expected, scale, n=n, dtype=problem.layer.x.dtype)
        checked.append(Checked(outcome, comparison))
    return checked


def installable(checked: list[Checked]) -> list[str]:
    """Install hints for the frameworks that were missing."""
    by_name = {a.name: a for a in ADAPTERS}
    return [by_name[c.outcome.framework].install for c in checked
            if c.outcome.status == MISSING and c.outcome.framework in by_name and by_name[c.outcome.framework].install]
