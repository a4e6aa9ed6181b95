"""Bad input: every malformed file or option ends in one ``Error: ...`` line, a known exit
code, no traceback and no changed file; pickles never run; random input never crashes the CLI."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpers import invoke


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``: file bytes, or None for a folder."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


# --------------------------------------------------------------------------------------------
# Files the cases use; every case runs in a fresh folder holding x.npy (5×5×3 float32) and the
# files its setup makes.


def _npy(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _image(fmt: str, size: tuple[int, int] = (10, 10)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _huge_header() -> bytes:
    """A .npy whose header claims 10000×10000×3 float64 (2.4 GB) over 16 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10000, 10000, 3)}
    )
    return buf.getvalue() + b"\x00" * 16


def _corrupt_jpeg() -> bytes:
    data = bytearray(_image("JPEG", (32, 32)))
    data[20:200] = b"\xff" * 180  # the quantisation and Huffman tables
    return bytes(data)


Setup = dict[str, bytes | None]  # name -> bytes, or None for a folder

X = _npy(np.random.default_rng(1).random((5, 5, 3), dtype=np.float32))

# (id, files to create, args, exit code, fragment of the one-line message)
CASES: list[tuple[str, Setup, list[str], int, str]] = [
    # files
    ("missing-file", {}, ["run", "nope.png"], 1, "nope.png: no such file"),
    ("directory", {"d": None}, ["run", "d"], 1, "is a directory"),
    ("empty-file", {"e.png": b""}, ["run", "e.png"], 1, "is empty (0 bytes)"),
    ("truncated-png", {"t.png": _image("PNG")[:60]}, ["run", "t.png"], 1, "truncated"),
    ("corrupt-jpeg", {"c.jpg": _corrupt_jpeg()}, ["run", "c.jpg"], 1, "not a readable image"),
    ("text-named-png", {"a.png": b"hello world\n"}, ["run", "a.png"], 1, "not a readable image"),
    ("npy-named-jpg-header", {"a.jpg": b"\xff\xd8\xff" + b"\x00" * 40}, ["run", "a.jpg"], 1, "JPEG"),
    ("unsupported-format", {"a.xyz": b"\x00\x01\x02\x03binary"}, ["run", "a.xyz"], 1,
     "not an image, a .npy/.npz array or numeric text"),
    ("npy-that-is-text", {"t.npy": b"hello, world\n"}, ["run", "t.npy"], 1, "not a .npy file"),
    ("object-array", {"o.npy": _npy(np.array([1, "a"], dtype=object), allow_pickle=True)},
     ["run", "o.npy"], 1, "object arrays are refused"),
    ("npz-zero-arrays", {"z.npz": _npz()}, ["run", "z.npz"], 1, "holds no arrays"),
    ("npz-several-no-key", {"s.npz": _npz(a=np.ones((4, 4)), b=np.ones((4, 4)))}, ["run", "s.npz"], 1,
     "choose one with --key"),
    ("npz-unknown-key", {"s.npz": _npz(a=np.ones((4, 4)))}, ["run", "s.npz", "--key", "q"], 1,
     "no array named 'q'"),
    ("key-on-npy", {}, ["run", "x.npy", "--key", "q"], 2, "a .npy file holds a single array"),
    ("complex", {"c.npy": _npy(np.ones((4, 4), dtype=complex))}, ["run", "c.npy"], 1, "complex"),
    ("strings", {"s.npy": _npy(np.array([["a", "b"], ["c", "d"]]))}, ["run", "s.npy"], 1, "strings"),
    ("bool", {"b.npy": _npy(np.ones((4, 4), dtype=bool))}, ["run", "b.npy"], 1, "booleans"),
    ("zero-size", {"z.npy": _npy(np.ones((0, 4, 3)))}, ["run", "z.npy"], 1, "is empty"),
    ("one-dim", {"v.npy": _npy(np.ones(7))}, ["run", "v.npy"], 1, "is not an image"),
    ("five-dims", {"f.npy": _npy(np.ones((1, 1, 3, 3, 1)))}, ["run", "f.npy"], 1, "at most 4"),
    ("batch-of-two", {"b.npy": _npy(np.ones((2, 4, 4, 1)))}, ["run", "b.npy"], 1, "batch of 2"),
    ("huge-header", {"h.npy": _huge_header()}, ["run", "h.npy"], 1, "the header claims shape"),
    ("truncated-npy", {"t.npy": X[:-20]}, ["run", "t.npy"], 1, "truncated or corrupt"),
    ("image-over-max-pixels", {"i.png": _image("PNG")}, ["run", "i.png", "--max-pixels", "50"], 1,
     "over the limit of 50"),
    ("array-over-max-pixels", {}, ["run", "x.npy", "--max-pixels", "10"], 1, "over the limit of 10"),
    ("max-pixels-zero", {}, ["run", "x.npy", "--max-pixels", "0"], 2, "--max-pixels"),
    # options
    ("stride-zero", {}, ["run", "x.npy", "--stride", "0"], 2, "--stride must be ≥ 1"),
    ("stride-negative", {}, ["run", "x.npy", "--stride", "-1,1"], 2, "--stride must be ≥ 1"),
    ("stride-malformed", {}, ["run", "x.npy", "--stride", "a"], 2, "--stride takes whole numbers"),
    ("stride-three", {}, ["run", "x.npy", "--stride", "1,1,1"], 2, "--stride takes N or N,M"),
    ("dilation-zero", {}, ["run", "x.npy", "--dilation", "0"], 2, "--dilation must be ≥ 1"),
    ("dilation-negative", {}, ["run", "x.npy", "--dilation", "-2"], 2, "--dilation must be ≥ 1"),
    ("filters-zero", {}, ["run", "x.npy", "-f", "0"], 2, "--filters"),
    ("filters-negative", {}, ["run", "x.npy", "-f", "-3"], 2, "--filters"),
    ("kernel-size-zero", {}, ["run", "x.npy", "-k", "0"], 2, "--kernel-size must be ≥ 1"),
    ("kernel-size-negative", {}, ["run", "x.npy", "-k", "3,-1"], 2, "--kernel-size must be ≥ 1"),
    ("groups-zero", {}, ["run", "x.npy", "--groups", "0"], 2, "--groups"),
    ("groups-negative", {}, ["run", "x.npy", "--groups", "-1"], 2, "--groups"),
    ("groups-not-dividing-channels", {}, ["run", "x.npy", "--groups", "2", "-f", "2"], 1,
     "does not divide the 3 input channels"),
    ("groups-not-dividing-filters", {}, ["run", "x.npy", "--groups", "3", "-f", "2"], 2,
     "--groups 3 does not divide --filters 2"),
    ("kernel-larger-than-input", {}, ["run", "x.npy", "-k", "7"], 1, "spans 7 rows but the padded input has 5"),
    ("dilated-kernel-larger", {}, ["run", "x.npy", "-k", "3", "--dilation", "3"], 1, "with dilation 3 spans 7 rows"),
    ("padding-negative", {}, ["run", "x.npy", "--padding", "-1"], 2, "--padding takes valid, same"),
    ("padding-malformed", {}, ["run", "x.npy", "--padding", "wide"], 2, "--padding takes valid, same"),
    ("padding-three", {}, ["run", "x.npy", "--padding", "1,1,1"], 2, "--padding takes valid, same"),
    ("activation-unknown", {}, ["run", "x.npy", "--activation", "gelu2"], 2, "--activation"),
    ("kernel-channel-mismatch", {"k.npy": _npy(np.ones((3, 3, 2, 1)))}, ["run", "x.npy", "--kernel", "k.npy"], 1,
     "input channels"),
    ("kernel-rank-1", {"k.npy": _npy(np.ones(9))}, ["run", "x.npy", "--kernel", "k.npy"], 1, "k.npy: a kernel must have 2, 3 or 4 dimensions"),
    ("kernel-rank-5", {"k.npy": _npy(np.ones((1, 3, 3, 3, 1)))}, ["run", "x.npy", "--kernel", "k.npy"], 1,
     "got 5: (1, 3, 3, 3, 1)"),
    ("kernel-missing", {}, ["run", "x.npy", "--kernel", "k.npy"], 1, "k.npy: no such file"),
    ("kernel-object", {"k.npy": _npy(np.array([None] * 9, dtype=object), allow_pickle=True)},
     ["run", "x.npy", "--kernel", "k.npy"], 1, "object arrays are refused"),
    ("bias-wrong-length", {}, ["run", "x.npy", "-f", "2", "--bias", "1,2,3"], 1, "the layer has 2 filters"),
    ("bias-file-wrong-length", {"b.npy": _npy(np.ones(3))}, ["run", "x.npy", "-f", "2", "--bias", "b.npy"], 1,
     "the layer has 2 filters"),
    ("bias-malformed", {}, ["run", "x.npy", "--bias", "1,x"], 2, "neither a number"),
    ("bias-and-no-bias", {}, ["run", "x.npy", "--bias", "1", "--no-bias"], 2, "contradict"),
    ("at-malformed", {}, ["run", "x.npy", "--at", "a,b"], 2, "--at takes whole numbers"),
    ("at-one-value", {}, ["run", "x.npy", "--at", "1"], 2, "--at takes N,M"),
    ("at-negative", {}, ["run", "x.npy", "--at", "-1,0"], 2, "--at takes ROW,COL"),
    ("at-outside", {}, ["run", "x.npy", "--at", "3,0"], 1, "outside the 3×3 output"),
    ("trace-malformed", {}, ["run", "x.npy", "--trace", "1;1"], 2, "--trace takes whole numbers"),
    ("trace-outside", {}, ["run", "x.npy", "--trace", "0,9"], 1, "outside the 3×3 output"),
    ("window-zero", {}, ["run", "x.npy", "--window", "0"], 2, "--window must be ≥ 1"),
    ("window-larger-than-output", {}, ["run", "x.npy", "--window", "4"], 1, "larger than the 3×3 output"),
    ("filter-index-outside", {}, ["run", "x.npy", "--filter", "5"], 2, "--filter 5 does not exist"),
    ("torch-same-strided", {}, ["run", "x.npy", "--semantics", "torch", "--padding", "same", "--stride", "2"], 2,
     "PyTorch refuses padding='same'"),
    # output files
    ("save-exists-no-force", {"out.npz": b"precious"}, ["run", "x.npy", "--save", "out.npz"], 1,
     "exists; pass --force"),
    ("save-onto-input", {"in.npz": _npz(x=np.ones((4, 4)))}, ["run", "in.npz", "--save", "in.npz", "--force"], 1,
     "is an input file"),
    ("save-onto-kernel", {"k.npz": _npz(k=np.ones((3, 3, 3, 1)))},
     ["run", "x.npy", "--kernel", "k.npz", "--save", "k.npz", "--force"], 1, "is an input file"),
    ("save-missing-folder", {}, ["run", "x.npy", "--save", "nope/out.npz"], 1, "does not exist"),
    ("save-onto-folder", {"o.npz": None}, ["run", "x.npy", "--save", "o.npz"], 1, "is a folder"),
    ("save-wrong-suffix", {}, ["run", "x.npy", "--save", "out.txt"], 2, "must end in .npz"),
    ("save-bad-data-writes-nothing", {}, ["run", "x.npy", "-k", "9", "--save", "out.npz"], 1, "spans 9 rows"),
    ("figure-bad-suffix", {}, ["run", "x.npy", "--figure", "f.gif"], 2,
     "f.gif: the output file must end in .png, .jpg, .jpeg, .webp, .svg or .pdf"),
    ("figure-missing-folder", {}, ["run", "x.npy", "--figure", "nope/f.png"], 1, "the folder nope does not exist"),
    ("figure-exists-no-force", {"f.png": b"precious"}, ["run", "x.npy", "--figure", "f.png"], 1,
     "f.png exists; pass --force"),
    ("figure-onto-input", {"in.png": _image("PNG")}, ["run", "in.png", "--figure", "in.png", "--force"], 1,
     "in.png is an input file"),
    ("maps-onto-file", {"m": b"a file"}, ["run", "x.npy", "--save-maps", "m"], 1, "m is a file; --save-maps needs a folder"),
    ("maps-missing-parent", {}, ["run", "x.npy", "--save-maps", "nope/maps"], 1, "its parent folder nope does not exist"),
    ("maps-exist-no-force", {"m": None, "m/filter_0.png": b"old", "m/maps.json": b"{}"},
     ["run", "x.npy", "--save-maps", "m"], 1, "filter_0.png exists (and 1 more); pass --force"),
    ("maps-onto-input", {"m": None, "m/filter_0.png": _image("PNG")}, ["run", "m/filter_0.png", "--save-maps", "m",
     "--force"], 1, "filter_0.png is an input file"),
    ("export-bad-suffix", {}, ["run", "x.npy", "--export", "o.pdf"], 2, "o.pdf: the output file must end in .svg, "
     ".html or .txt"),
    ("export-with-json", {}, ["run", "x.npy", "--export", "o.svg", "--json"], 2, "--export records the tables; it "
     "cannot be combined with --json"),
    ("export-onto-input", {"in.txt": b"1 2 3\n4 5 6\n7 8 9\n"}, ["run", "in.txt", "-k", "2", "--export", "in.txt",
     "--force"], 1, "in.txt is an input file"),
    ("export-onto-kernel", {"k.txt": b"1 0 1\n0 1 0\n1 0 1\n"}, ["run", "x.npy", "--kernel", "k.txt", "--export",
     "k.txt", "--force"], 1, "k.txt is an input file"),
    ("export-exists-no-force", {"o.txt": b"precious"}, ["run", "x.npy", "--export", "o.txt"], 1,
     "o.txt exists; pass --force"),
    ("view-unknown", {}, ["run", "x.npy", "--view", "fancy"], 2, "'--view'"),
    ("explain-export-bad-suffix", {}, ["explain", "--export", "o.pdf"], 2, "must end in .svg, .html or .txt"),
    ("explain-export-missing-folder", {}, ["explain", "--export", "nope/o.svg"], 1, "the folder nope does not exist"),
    ("explain-export-exists-no-force", {"o.txt": b"precious"}, ["explain", "--export", "o.txt"], 1,
     "o.txt exists; pass --force"),
    ("params-export-bad-suffix", {}, ["params", "-c", "3", "--export", "o.pdf"], 2, "must end in .svg, .html or .txt"),
    ("params-export-with-json", {}, ["params", "-c", "3", "--export", "o.svg", "--json"], 2,
     "cannot be combined with --json"),
    ("params-export-missing-folder", {}, ["params", "-c", "3", "--export", "nope/o.txt"], 1,
     "the folder nope does not exist"),
    ("params-export-exists-no-force", {"o.txt": b"precious"}, ["params", "-c", "3", "--export", "o.txt"], 1,
     "o.txt exists; pass --force"),
    # NaN/Inf are warned about only once the run is sure to go ahead: a refused run prints its Error alone
    ("nan-bias-then-bad-at", {}, ["run", "x.npy", "--bias", "nan", "--at", "9,9"], 1, "--at 9,9 is outside"),
    ("nan-bias-wrong-length", {}, ["run", "x.npy", "-f", "2", "--bias", "nan,1,2"], 1, "the layer has 2 filters"),
    ("nan-input-then-bad-trace", {"n.npy": _npy(np.full((5, 5, 1), np.nan))}, ["run", "n.npy", "--trace", "0,9"], 1,
     "outside the 3×3 output"),
    # verify and params
    ("verify-missing", {}, ["verify", "nope.npy"], 1, "no such file"),
    ("verify-object", {"o.npy": _npy(np.array([1, "a"], dtype=object), allow_pickle=True)},
     ["verify", "o.npy"], 1, "object arrays are refused"),
    ("verify-stride-zero", {}, ["verify", "x.npy", "--stride", "0"], 2, "--stride must be ≥ 1"),
    ("params-no-channels", {}, ["params", "-k", "3"], 2, "give the input channels"),
    ("params-kernel-zero", {}, ["params", "-c", "3", "-k", "0"], 2, "--kernel-size must be ≥ 1"),
    ("params-padding-bad", {}, ["params", "-c", "3", "--padding", "-2"], 2, "--padding takes valid, same"),
    ("params-groups-not-dividing", {}, ["params", "-c", "3", "-f", "4", "--groups", "2"], 2, "--groups"),
    ("params-input-size-bad", {}, ["params", "-c", "3", "--input-size", "0,5"], 2, "--input-size"),
]


def _make(root: Path, files: Setup) -> None:
    (root / "x.npy").write_bytes(X)
    for name, data in files.items():
        p = root / name
        if data is None:
            p.mkdir()
        else:
            p.write_bytes(data)


def _warnings(stderr: str) -> list[str]:
    """The lines of stderr but the "saved ..." lines."""
    return [line for line in stderr.splitlines() if not line.startswith("saved ")]


@pytest.mark.parametrize(("files", "args", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: Setup, args: list[str], code: int, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _make(tmp_path, files)
    before = snapshot(tmp_path)
    r = invoke(*args)
    assert r.exit_code == code, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), r.stderr
    assert fragment in lines[0], r.stderr
    assert "Traceback" not in r.output
    assert snapshot(tmp_path) == before


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_extension_does_not_decide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose extension lies is read by its content: a PNG named .npy is a PNG."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.npy").write_bytes(_image("PNG"))
    r = invoke("run", "photo.npy", "--json")
    assert r.exit_code == 0, r.output
    assert "PNG image" in r.stdout


def test_save_force_replaces_only_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _make(tmp_path, {"out.npz": b"old"})
    r = invoke("run", "x.npy", "--save", "out.npz", "--force")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz", "x.npy"]  # no temporary left
    assert (tmp_path / "x.npy").read_bytes() == X
    with np.load(tmp_path / "out.npz") as npz:
        assert {"input", "output", "partials"} <= set(npz.files)


# --------------------------------------------------------------------------------------------
# Pickles: refused, and their payload never runs


class _Payload:
    """Unpickling this creates ``marker`` (``open(marker, 'w')``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("container", ["npy", "npz", "npz-kernel", "npy-bias"])
def test_crafted_pickle_is_refused_and_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container: str
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    path = tmp_path / ("evil.npy" if container.startswith("npy") else "evil.npz")
    if container.startswith("npy"):
        np.save(path, evil, allow_pickle=True)
    else:
        np.savez(path, x=evil)
    _make(tmp_path, {})
    args = {
        "npy": ["run", path.name],
        "npz": ["run", path.name],
        "npz-kernel": ["run", "x.npy", "--kernel", path.name],
        "npy-bias": ["run", "x.npy", "--bias", path.name],
    }[container]
    r = invoke(*args)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ") and "object arrays are refused" in r.stderr
    assert not marker.exists()
    # The payload is live: numpy with pickles allowed would have run it.
    loaded = np.load(path, allow_pickle=True)
    if container.startswith("npz"):
        loaded["x"]
    assert marker.exists()


# --------------------------------------------------------------------------------------------
# Random options and random files never end in a traceback

_VALUES = {
    "--stride": ["1", "2", "1,2", "0", "-1", "x", "1,1,1", ""],
    "--padding": ["valid", "same", "0", "1", "2,0", "-1", "huge", "1,", "SAME"],
    "--dilation": ["1", "2", "0", "-3", "2,1", "1.5"],
    "-k": ["1", "2", "3", "3,1", "0", "-2", "9", "a"],
    "-f": ["1", "2", "3", "0", "-1", "x"],
    "--groups": ["1", "2", "3", "0", "-1"],
    "--at": ["0,0", "1,1", "9,9", "-1,0", "1", "a,b", ""],
    "--window": ["1", "2", "3", "0", "-1", "50", "x"],
    "--trace": ["0,0", "2,1", "99,0", "x", "1,2,3"],
    "--activation": ["linear", "relu", "tanh", "exponential", "nope"],
    "--bias": ["0", "1.5", "1,2", "1,2,3", "nan", "inf", "abc", "x.npy"],
}

_options = st.dictionaries(st.sampled_from(sorted(_VALUES)), st.integers(0, 50), max_size=6).map(
    lambda d: [a for k, i in sorted(d.items()) for a in (k, _VALUES[k][i % len(_VALUES[k])])]
)

_VALID_INPUTS = [
    _npy(np.arange(16, dtype=np.uint8).reshape(4, 4)),
    _npy(np.random.default_rng(2).random((5, 4, 3))),
    _npy(np.ones((1, 2, 6, 6), dtype=np.float32)),
    b"1 2 3\n4 5 6\n7 8 9\n",
    _image("PNG", (6, 5)),
]

_files = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(_VALID_INPUTS),
    st.tuples(st.sampled_from(_VALID_INPUTS), st.integers(1, 200)).map(lambda t: t[0][: t[1]]),  # truncated
    st.sampled_from([b"\x93NUMPY", b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF89a"]).flatmap(
        lambda magic: st.binary(max_size=48).map(lambda tail: magic + tail)
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_files,
    ext=st.sampled_from([".png", ".jpg", ".npy", ".npz", ".txt", ".csv", ".bin", ""]),
    options=_options,
    layout=st.sampled_from([[], ["--layout", "channels-first"]]),
)
def test_random_input_never_crashes(data: bytes, ext: str, options: list[str], layout: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / ("in" + ext)).write_bytes(data)
        (root / "x.npy").write_bytes(_npy(np.ones(2)))  # --bias x.npy: a 2-value bias file
        old = os.getcwd()
        os.chdir(root)
        try:
            r = invoke("run", "in" + ext, *options, *layout)
        finally:
            os.chdir(old)
    event(f"exit {r.exit_code}")  # --hypothesis-show-statistics: successes must be among them
    assert r.exit_code in (0, 1, 2), (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code:
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr


# --------------------------------------------------------------------------------------------
# NaN and ±Inf: carried through with a warning



@pytest.mark.parametrize("extra", [["-k", "1", "--init", "ones"], ["-k", "3", "-f", "2", "--trace", "1,1"],
                                   ["--json"], ["--save", "out.npz"]])
def test_nan_inf_are_carried_through_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    """One warning line, exit 0, and none of numpy's multi-line RuntimeWarnings."""
    monkeypatch.chdir(tmp_path)
    x = np.zeros((6, 6, 2), dtype=np.float32)
    x[2, 3, 1] = np.nan
    x[4, 0, 0] = np.inf
    x[5, 5, 1] = -np.inf
    np.save(tmp_path / "n.npy", x)
    r = invoke("run", "n.npy", *extra)
    assert r.exit_code == 0, r.output
    assert _warnings(r.stderr) == [
        "Warning: n.npy holds 1 NaN and 2 ±Inf values (first at row 2, col 3, channel 1); "
        "they propagate to the outputs they touch"
    ]
    assert "Traceback" not in r.output


def test_nan_inf_with_json_and_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON cannot hold NaN: the values come out as null, the saved file keeps them."""
    monkeypatch.chdir(tmp_path)
    x = np.zeros((4, 4, 1))
    x[1, 1, 0] = np.nan
    np.save(tmp_path / "n.npy", x)
    r = invoke("run", "n.npy", "-k", "1", "--init", "ones", "--json", "--save", "out.npz")
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("Warning: n.npy holds 1 NaN and 0 ±Inf values (first at row 1, col 1, channel 0)")
    json.loads(r.stdout)
    with np.load(tmp_path / "out.npz") as npz:
        assert np.isnan(npz["output"][1, 1, 0])
        assert np.isfinite(np.delete(npz["output"].ravel(), 5)).all()


def test_finite_input_has_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _make(tmp_path, {})
    r = invoke("run", "x.npy")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""


def test_nonfinite_counts() -> None:
    from convcli.sources.inputs import nonfinite

    x = np.zeros((3, 4, 2))
    assert nonfinite(x) == (0, 0, None)
    x[2, 1, 0] = -np.inf
    x[0, 3, 1] = np.nan
    x[1, 0, 0] = np.nan
    assert nonfinite(x) == (2, 1, (0, 3, 1))
    assert nonfinite(np.full((2, 2, 1), 7, dtype=np.uint8)) == (0, 0, None)




@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--kernel", "k.npy"], ["the kernel from k.npy holds 1 NaN and 1 ±Inf values (first at row 0, col 0, "
                                 "channel 2, filter 0)"]),
        (["--kernel", "k.npy", "--flip"], ["the kernel from k.npy holds 1 NaN and 1 ±Inf values (first at row 0, "
                                           "col 0, channel 2, filter 0)"]),  # the file's tap, not the flipped one
        (["-f", "2", "--bias", "nan"], ["--bias nan holds 1 NaN and 0 ±Inf values (used for every filter)"]),
        (["-f", "2", "--bias", "1,-inf"], ["--bias 1,-inf holds 0 NaN and 1 ±Inf values (first at filter 1)"]),
        (["-f", "2", "--bias", "b.npy"], ["--bias b.npy holds 1 NaN and 1 ±Inf values (first at filter 0)"]),
        (["-f", "2", "--bias", "1e39"], ["--bias 1e39 holds 0 NaN and 1 ±Inf values once cast to float32 "
                                         "(used for every filter)"]),
        (["-f", "2", "--bias", "1e39", "--dtype", "float64"], []),
        (["-f", "2", "--bias", "2"], []),
    ],
    ids=["kernel", "kernel-flipped", "bias-number", "bias-list", "bias-file", "bias-overflows-float32",
         "bias-fits-float64", "finite"],
)
def test_nan_inf_in_kernel_and_bias_are_warned_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], stderr: list[str]
) -> None:
    """As for the input: carried through, exit 0, one line naming the file or option, the count and where."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.full((5, 5, 3), 0.5, dtype=np.float32))
    k = np.ones((3, 3, 3, 2))
    k[1, 2, 0, 1] = np.nan
    k[0, 0, 2, 0] = np.inf
    np.save(tmp_path / "k.npy", k)
    np.save(tmp_path / "b.npy", np.array([np.nan, np.inf]))
    r = invoke("run", "x.npy", *args, "--save", "out.npz")
    assert r.exit_code == 0, r.output
    # the saved line is on stderr too (every saved line in one stream)
    assert _warnings(r.stderr) == [f"Warning: {w}; they propagate to the outputs they touch" for w in stderr]
    with np.load(tmp_path / "out.npz") as npz:
        out = npz["output"]
    if "k.npy" in args:  # filter 0 meets +Inf everywhere, filter 1 a NaN
        assert np.isposinf(out[..., 0]).all() and np.isnan(out[..., 1]).all()
    elif stderr:
        assert not np.isfinite(out).all()


def test_nan_inf_warnings_come_one_per_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    x = np.ones((4, 4, 1))
    x[3, 2, 0] = -np.inf
    np.save(tmp_path / "n.npy", x)
    np.save(tmp_path / "k.npy", np.array([[np.nan, 1.0], [1.0, 1.0]]))
    r = invoke("run", "n.npy", "--kernel", "k.npy", "--bias", "nan")
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    assert [line.split(" holds ")[0] for line in lines] == [
        "Warning: n.npy", "Warning: the kernel from k.npy", "Warning: --bias nan"
    ], r.stderr
    assert "(first at row 3, col 2, channel 0)" in lines[0]
    # a 2-D kernel file is one slice used for every channel: counted as the layer uses it
    assert "1 NaN and 0 ±Inf values (first at row 0, col 0, channel 0, filter 0)" in lines[1]


# --------------------------------------------------------------------------------------------
# Ctrl-C while a file is written: no temporary file is left, and an existing target is untouched


def _interrupt_after_writing(fh: io.BufferedIOBase) -> None:
    fh.write(b"half a file")
    raise KeyboardInterrupt


@pytest.fixture
def small_result():
    from convcli import engine
    from convcli.sources import kernels

    x = np.arange(30, dtype=np.float32).reshape(5, 6, 1)
    layer = engine.prepare(x, kernels.make_kernel("ones", (3, 3), 1, 2))
    return engine.run_layer(layer, None, "linear")


@pytest.mark.parametrize("writer", ["npz", "image", "export", "maps-existing-folder", "maps-new-folder",
                                    "maps-second-file"])
def test_interrupted_writer_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_result, writer: str
) -> None:
    from PIL import Image

    from convcli.figure import maps
    from convcli.files import atomic, png, writers

    real_save, real_png = Image.Image.save, png.write_grey_png
    calls = []

    def interrupted_save(self, fp, *args, **kwargs):
        calls.append(fp)
        if writer == "maps-second-file" and len(calls) == 1:
            return real_save(self, fp, *args, **kwargs)
        return _interrupt_after_writing(fp)

    def interrupted_png(fh, *args, **kwargs):  # the maps' own PNG writer
        calls.append(fh)
        if writer == "maps-second-file" and len(calls) == 1:
            return real_png(fh, *args, **kwargs)
        return _interrupt_after_writing(fh)

    _make(tmp_path, {
        "npz": {"out.npz": b"old"},
        "image": {"out.png": b"old"},
        "export": {"out.svg": b"old"},
        "maps-existing-folder": {"m": None, "m/filter_0.png": b"old map"},
    }.get(writer, {}))
    monkeypatch.setattr("convcli.files.writers._write_flat", lambda out, a: _interrupt_after_writing(out))
    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    monkeypatch.setattr(png, "write_grey_png", interrupted_png)
    before = snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        if writer == "npz":
            writers.save_npz(tmp_path / "out.npz", {"a": np.ones(3)})
        elif writer == "image":
            writers.save_image(Image.new("RGB", (4, 4)), tmp_path / "out.png")
        elif writer == "export":
            atomic.atomic_write(tmp_path / "out.svg", _interrupt_after_writing)
        else:
            maps.save_maps(small_result, tmp_path / "m", force=True)
    assert snapshot(tmp_path) == before
    assert calls or writer in ("npz", "export")  # the patched writer did run


@pytest.mark.parametrize("case", ["save-new", "save-force", "figure-force", "maps-new", "export-force"])
def test_ctrl_c_during_a_write_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    _make(tmp_path, {})
    args, existing = {
        "save-new": (["--save", "out.npz"], None),
        "save-force": (["--save", "out.npz", "--force"], "out.npz"),
        "figure-force": (["--figure", "f.png", "--force"], "f.png"),
        "maps-new": (["--save-maps", "maps"], None),
        "export-force": (["--export", "o.txt", "--force"], "o.txt"),
    }[case]
    if existing:
        (tmp_path / existing).write_bytes(b"old")
    monkeypatch.setattr("convcli.files.writers._write_flat", lambda out, a: _interrupt_after_writing(out))
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **kw: _interrupt_after_writing(fp))
    monkeypatch.setattr("convcli.files.png.write_grey_png", lambda fh, *a, **kw: _interrupt_after_writing(fh))
    monkeypatch.setattr("convcli.files.png.write_rgb_png", lambda fh, *a, **kw: _interrupt_after_writing(fh))
    if case == "export-force":  # the screen's text is one fh.write; interrupt just after it
        monkeypatch.setattr("convcli.files.atomic.os.fsync", lambda fd: _interrupt_after_writing(io.BytesIO()))
    before = snapshot(tmp_path)
    r = invoke("run", "x.npy", *args)
    assert r.exit_code == 130, r.output
    assert r.stderr == "Error: interrupted\n"
    assert snapshot(tmp_path) == before


def test_interrupted_maps_over_an_old_set_leave_no_stale_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_result
) -> None:
    """A sidecar left beside a half-replaced set would decode the new pictures with the old scaling."""
    from PIL import Image

    from convcli.figure import maps
    from convcli.files import png

    folder = tmp_path / "m"
    maps.save_maps(small_result, folder)
    assert (folder / "maps.json").exists()
    real_save, real_png = Image.Image.save, png.write_grey_png
    calls = []

    def second_fails(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 1:
            return real_save(self, fp, *args, **kwargs)
        return _interrupt_after_writing(fp)

    def second_png_fails(fh, *args, **kwargs):  # the maps' own PNG writer
        calls.append(fh)
        if len(calls) == 1:
            return real_png(fh, *args, **kwargs)
        return _interrupt_after_writing(fh)

    monkeypatch.setattr(Image.Image, "save", second_fails)
    monkeypatch.setattr(png, "write_grey_png", second_png_fails)
    with pytest.raises(KeyboardInterrupt):
        maps.save_maps(small_result, folder, force=True)
    assert not (folder / "maps.json").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--init", "ones", "-f", "2"], ["Warning: the results overflow float32 (±Inf or NaN in filters 0, 1) although "
                                        "the input, kernel and bias are finite; --dtype float64 reaches about 1.8e308"]),
        (["--init", "ones", "--activation", "sigmoid"], ["Warning: the results overflow float32 (±Inf or NaN in "
                                                         "filter 0) although the input, kernel and bias are finite; "
                                                         "--dtype float64 reaches about 1.8e308"]),
        (["--init", "ones", "--dtype", "float64"], []),
        (["--init", "random"], []),  # large partials whose Σ|partial| would overflow a float32 sum: fine
    ],
    ids=["ones", "sigmoid-output-finite", "float64", "random"],
)
def test_finite_inputs_that_overflow_are_warned_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], stderr: list[str]
) -> None:
    """3e38 everywhere: nine of them overflow float32 (max 3.4e38). One line, exit 0, no numpy warnings."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "big.npy", np.full((6, 6, 3), 3e38, dtype=np.float32))
    r = invoke("run", "big.npy", "--view", "numbers", *args)
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == stderr
    assert "Traceback" not in r.output and "RuntimeWarning" not in r.output
    if not stderr:
        assert "nan%" not in r.stdout and "inf" not in r.stdout


def test_overflow_that_leaves_only_nan_is_warned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3e39 - 3e39: Inf - Inf = NaN and no ±Inf at all; the statistics skip NaN, the warning must not."""
    monkeypatch.chdir(tmp_path)
    x = np.ones((4, 4, 2), dtype=np.float32)
    x[1, 1] = [3e38, 3e38]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "k.npy", np.array([10.0, -10.0], dtype=np.float32).reshape(1, 1, 2, 1))
    warning = "Warning: the results overflow float32 (±Inf or NaN in filter 0)"
    r = invoke("run", "x.npy", "--kernel", "k.npy", "--view", "numbers")
    assert r.exit_code == 0, r.output
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith(warning)
    assert "RuntimeWarning" not in r.output
    # verify warns too; whether the frameworks' own Inf - Inf (or a fused multiply-add's 0) agrees
    # with convcli's NaN is theirs to report, so only the warning is checked here
    r = invoke("verify", "x.npy", "--kernel", "k.npy")
    assert r.stderr.startswith(warning) and "RuntimeWarning" not in r.output and "Traceback" not in r.output
    # CliRunner keeps an uncaught exception in r.exception, never as a traceback in r.output
    assert r.exit_code in (0, 1) and (r.exception is None or isinstance(r.exception, SystemExit)), r.exception


@pytest.mark.parametrize("option", ["--kernel", "--bias"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fifo_or_device_as_kernel_or_bias_is_refused_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, special: str) -> None:
    """A FIFO would block the read forever and /dev/zero never ends: both are refused by name, unread."""
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.ones((5, 5, 3), dtype=np.float32))
    if special == "fifo":
        os.mkfifo("pipe")
        special = "pipe"
    before = snapshot(tmp_path) if special == "/dev/zero" else None
    r = invoke("run", "x.npy", option, special)
    assert r.exit_code == 1, r.output
    assert r.stderr.strip() == f"Error: {special}: is not a regular file"
    if before is not None:
        assert snapshot(tmp_path) == before


def test_running_out_of_memory_on_a_text_matrix_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large text matrix takes many times its size as Python floats: the refusal names the file."""
    from convcli.sources import text

    monkeypatch.chdir(tmp_path)
    Path("big.csv").write_text("1,2,3\n4,5,6\n")

    def exhausted(name: str, txt: str) -> list[np.ndarray]:
        raise MemoryError

    monkeypatch.setattr(text, "parse_text", exhausted)
    r = invoke("run", "big.csv", "-k", "1")
    assert r.exit_code == 1, r.output
    assert r.stderr.strip() == ("Error: big.csv: ran out of memory reading it as numeric text (12 characters); save the "
                                "array as .npy instead")
    r = invoke("run", "big.csv", "--kernel", "big.csv")  # a kernel file takes the same reader
    assert r.exit_code == 1, r.output
    assert "Error: big.csv: ran out of memory reading it as numeric text" in r.stderr
