"""Output feature maps -> greyscale PNGs that any image viewer opens, with a JSON sidecar.

They are data, not pictures: grey levels stand for values (read back through ``maps.json``), so
they stay out of the colour language of the screen and ``--figure`` (blue < 0 < red).

Each filter's output ``result.output[..., f]`` (``(H', W')``) becomes ``filter_{f}.png``: a
linear map of that filter's finite ``[min, max]`` onto ``[0, 2**bits - 1]`` (16-bit ``I;16`` or
8-bit ``L``). ``maps.json`` states for every file the ``offset`` and ``scale`` that give the
values back::

    value = offset + pixel * scale        # within scale / 2, the quantisation step's half

A constant map is stored as all 0 with ``scale`` 0 and ``offset`` the value. Non-finite values
have no pixel of their own: NaN and -Inf are stored as 0, +Inf as the top pixel, and their
counts are in the sidecar.

Folder rules: the folder is created if missing (its parent must exist). Files already in it
are kept unless ``force``; with ``force`` only the files this run writes are replaced, and other
files (say, ``filter_7.png`` from an earlier run with more filters) are left alone: ``maps.json``,
written last, lists the files that belong together. A write that fails or is interrupted
removes the folder again if this run created it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convcli import reads
from convcli.engine import LayerResult
from convcli.errors import FIELD, ConfigError, SaveError, ShapeError
from convcli.files import png
from convcli.present import schema
from convcli.text import shown

SIDECAR = "maps.json"
BITS = (8, 16)


def map_name(f: int) -> str:
    return f"filter_{f}.png"


@dataclass(frozen=True)
class Quantised:
    """One map as integers: ``pixels (H', W')`` with ``value = offset + pixel * scale``."""

    pixels: np.ndarray  # (H', W') uint8 or uint16
    offset: float
    scale: float
    value_min: float | None  # finite extremes; None if there is no finite value
    value_max: float | None
    nan: int
    posinf: int
    neginf: int


def quantise(values: np.ndarray, bits: int = 16) -> Quantised:
    """``values (H', W')`` onto ``[0, 2**bits - 1]`` linearly from their finite min to max."""
    if bits not in BITS:
        raise ConfigError(f"map files are 8 or 16 bits, got {bits}")
    top = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    a = np.asarray(values)
    if a.dtype.kind == "f" and a.size:
        lo, hi = float(a.min()), float(a.max())  # NaN and ±Inf show here: then the general path
        if np.isfinite(lo) and np.isfinite(hi):
            return _quantise_finite(a, lo, hi, top, dtype)
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    counts = {"nan": int(np.isnan(v).sum()), "posinf": int(np.isposinf(v).sum()), "neginf": int(np.isneginf(v).sum())}
    if not finite.any():
        pixels = np.where(np.isposinf(v), top, 0).astype(dtype)
        return Quantised(pixels, 0.0, 0.0, None, None, **counts)
    lo, hi = float(v[finite].min()), float(v[finite].max())
    # the step is computed in float64 from float64 extremes, so offset + pixel·scale recovers a
    # float32 map to well within half a step even at 16 bits
    scale = (hi - lo) / top if hi > lo else 0.0
    if scale > 0:
        q = np.rint((np.where(finite, v, lo) - lo) / scale)
    else:
        q = np.zeros(v.shape)
    q = np.where(np.isposinf(v), top, q)
    pixels = np.clip(q, 0, top).astype(dtype)
    return Quantised(pixels, lo, scale, lo, hi, **counts)


def _quantise_finite(a: np.ndarray, lo: float, hi: float, top: int, dtype: type[np.integer]) -> Quantised:
    """:func:`quantise` of an all-finite float ``a (H', W')`` with extremes ``lo``, ``hi``: the same
    float64 arithmetic, a band of rows at a time (the general path's temporaries are each 8 bytes
    a value of a whole photo's map)."""
    scale = (hi - lo) / top if hi > lo else 0.0
    pixels = np.zeros(a.shape, dtype=dtype)
    if scale > 0:
        step = max(1, (1 << 16) // max(1, a.shape[1]))
        for r in range(0, a.shape[0], step):
            q = a[r : r + step].astype(np.float64)
            q -= lo
            q /= scale
            np.rint(q, out=q)
            np.clip(q, 0, top, out=q)
            pixels[r : r + step] = q
    return Quantised(pixels, lo, scale, lo, hi, 0, 0, 0)


def check_maps_dir(
    directory: str | os.PathLike[str],
    filters: Sequence[int],
    *,
    force: bool,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Refuse a folder whose map files or sidecar exist (without ``force``) or are inputs.

    Nothing is created here, so the CLI can check before computing; :func:`save_maps` creates the
    folder. Its parent must exist: a mistyped path should not grow a tree of folders.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise SaveError("{target} is a file; {field} needs a folder", field="save_maps", values={"target": shown(directory)})
    if not path.exists() and not path.parent.is_dir():
        raise SaveError(f"{shown(directory)}: its parent folder {shown(path.parent)} does not exist")
    names = [map_name(f) for f in filters] + [SIDECAR]
    for name in names:  # by identity: a hard link to an input is that input
        target = path / name
        if reads.input_at(target, tuple(inputs)) is not None:
            raise SaveError(f"{shown(target)} is an input file; convcli never overwrites its inputs")
    if not force:
        existing = [name for name in names if (path / name).exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise SaveError("{target} exists" + f"{more}; pass {FIELD} to replace", field="force",
                            values={"target": shown(path / existing[0])})
    return path


def save_maps(
    result: LayerResult,
    directory: str | os.PathLike[str],
    *,
    bits: int = 16,
    force: bool = False,
    filters: Sequence[int] | None = None,
    source: str | None = None,
    padding: object = None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    progress: Callable[[float], None] | None = None,
) -> list[Path]:
    """Write ``filter_{f}.png`` for each filter's output ``(H', W')`` and ``maps.json``; return the paths.

    Parameters
    ----------
    result : the computed layer; ``result.output`` is ``(H', W', F)``
    directory : the folder (created if missing; its parent must exist)
    bits : 16 (``I;16`` PNG, default) or 8 (``L``)
    force : replace map files and sidecar that exist
    filters : which filters (default: all ``F``)
    source : the input's name, recorded in the sidecar
    padding : the padding as given (``"same"``, 1, ...), recorded beside the concrete pads
    inputs : files that must never be overwritten
    progress : told the fraction of the maps written (0 to 1)

    Each file is written atomically; the sidecar comes last, so its presence means the set is whole.
    The maps are quantised and encoded (:func:`convcli.files.png.write_grey_png`) on the engine's threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    from convcli.engine import tiles
    from convcli.files.atomic import atomic_write

    if bits not in BITS:
        raise ConfigError(f"{{field}} writes 8- or 16-bit PNGs, got {bits} bits", field="save_maps")
    n = result.layer.filters
    chosen = list(range(n)) if filters is None else [int(f) for f in filters]
    bad = [f for f in chosen if not 0 <= f < n]
    if bad:
        raise ShapeError(f"filter {bad[0]} does not exist: the layer has {n} (0..{n - 1})")
    path = check_maps_dir(directory, chosen, force=force, inputs=inputs)
    created = not path.exists()
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise SaveError(f"{shown(path)}: could not create the folder ({exc.strerror or exc})") from exc

    try:
        # an old sidecar would describe new pictures if this call stops half way: it goes first
        # (check_maps_dir refused an existing one without force)
        (path / SIDECAR).unlink(missing_ok=True)
        def write(f: int) -> tuple[dict[str, Any], Path]:
            q = quantise(result.output[..., f], bits)
            target = path / map_name(f)
            entry: dict[str, Any] = {
                "file": target.name,
                "filter": f,
                "shape": list(q.pixels.shape),
                "stored": f"uint{bits} greyscale PNG",
                "value_min": q.value_min,
                "value_max": q.value_max,
                "offset": q.offset,
                "scale": q.scale,
                "constant": q.scale == 0,
                "nonfinite": {"nan": q.nan, "posinf": q.posinf, "neginf": q.neginf},
            }
            # the scaling also travels inside the PNG, for a file that gets separated from its sidecar
            text = {"convcli": json.dumps({k: entry[k] for k in ("filter", "offset", "scale")})}
            atomic_write(target, lambda fh: png.write_grey_png(fh, q.pixels, text), force=force, inputs=inputs)
            return entry, target

        entries, written = [], []
        # numpy, zlib and the writes release the GIL: the maps go side by side
        with ThreadPoolExecutor(max_workers=max(1, min(tiles.THREADS, len(chosen)))) as pool:
            futures = [pool.submit(write, f) for f in chosen]
            try:
                for n_done, future in enumerate(futures, 1):
                    entry, target = future.result()
                    entries.append(entry)
                    written.append(target)
                    if progress is not None:
                        progress(n_done / len(futures))
            except BaseException:
                for future in futures:  # those not started never start; the pool waits for the rest
                    future.cancel()
                raise

        doc = {
            "what": "Conv2D output feature maps, one greyscale PNG per filter",
            "decode": "value = offset + pixel * scale (to within scale / 2); a constant map is all 0 with scale 0",
            "nonfinite": "NaN and -Inf are stored as 0, +Inf as the top pixel; counts per file under 'nonfinite'",
            "source": source,
            "layer": schema.layer_json(result, padding, shapes=True),
            "bits": bits,
            "maps": entries,
        }
        sidecar = path / SIDECAR
        body = schema.dumps(doc).encode()
        atomic_write(sidecar, lambda fh: fh.write(body), force=force, inputs=inputs)
        return [*written, sidecar]
    except BaseException:  # includes KeyboardInterrupt
        if created:  # a folder this call made holds only its files: leave no half set behind
            for name in [map_name(f) for f in chosen] + [SIDECAR]:
                (path / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.rmdir()
        raise
