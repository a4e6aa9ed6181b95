"""Limits are checked before memory is spent: every size and count has a ceiling, a kernel
is measured before it is made, --filter ranges before they are expanded; a text input is sniffed from
its head; Pillow's and libtiff's own warnings do not reach stderr; an unreadable input is bad data; a
summary of a million filters is a few rows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.cli.parsing import MAX_SIZE
from convcli.layer import geometry, spec
from convcli.pipeline import memory
from convcli.present import selection
from convcli.sources import text as text_source

from helpers import ROOT, invoke, one_error


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """x.npy (8×8×3) in a fresh folder, and 4 GiB of memory as convcli sees it (what is refused does not
    depend on the machine)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(memory, "available_bytes", lambda: (4 * 2**30, "free"))
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((8, 8, 3)).astype(np.float32))
    return tmp_path


def _child(*args: str, cwd: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run([*prefix, sys.executable, "-m", "convcli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


# --------------------------------------------------------------------------------------------
# Sizes and counts: one ceiling, checked before anything is allocated


def test_the_ceiling_is_one_number_everywhere() -> None:
    assert MAX_SIZE == geometry.MAX_SIZE == spec.MAX_SIZE == 2**31 - 1


@pytest.mark.parametrize(("args", "message"), [
    (["-k", str(2**63)], f"--kernel-size must be ≤ {2**31 - 1}; got '{2**63}'"),
    (["--stride", f"1,{2**31}"], f"--stride must be ≤ {2**31 - 1}; got '1,{2**31}'"),
    (["--dilation", str(10**30)], f"--dilation must be ≤ {2**31 - 1}; got '{10**30}'"),
    (["--padding", str(2**63 - 1)], f"--padding must be ≤ {2**31 - 1}; got '{2**63 - 1}'"),
    (["--filters", str(2**63)], f"--filters must be ≤ {2**31 - 1}; got {2**63}"),
    (["--groups", str(2**40)], f"--groups must be ≤ {2**31 - 1}; got {2**40}"),
    (["--seed", "-1"], "--seed takes a whole number from 0 to 2^128 - 1; got -1"),
    (["--seed", str(2**128)], f"--seed takes a whole number from 0 to 2^128 - 1; got {2**128}"),
    (["--at", f"{2**31},0"], f"--at takes ROW,COL ≤ {2**31 - 1}; got '{2**31},0'"),
    (["--trace", f"0,{2**40}"], f"--trace takes ROW,COL ≤ {2**31 - 1}; got '0,{2**40}'"),
])
def test_a_huge_option_is_a_usage_error_with_its_numbers(folder: Path, args: list[str], message: str) -> None:
    start = time.monotonic()
    r = invoke("run", "x.npy", *args)
    assert r.exit_code == 2, r.output
    one_error(r.stderr, message)
    assert time.monotonic() - start < 5


def test_a_huge_seed_within_the_bound_is_a_seed(folder: Path) -> None:
    r = invoke("run", "x.npy", "--seed", str(2**128 - 1), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["kernel_shape"] == [3, 3, 3, 1]


@pytest.mark.parametrize(("args", "fragments"), [
    # the kernel larger than the input: the geometry says so before a 10¹⁸-weight kernel is made
    (["-k", "1000000000"], ["kernel 1000000000×1000000000 spans 1000000000 rows but the padded input has 8"]),
    (["-k", str(2**31 - 1), "--dilation", str(2**31 - 1)],
     [f"kernel {2**31 - 1}×{2**31 - 1} with dilation {2**31 - 1} spans {(2**31 - 2) * (2**31 - 1) + 1} rows"]),
    # a kernel that fits a padded input but not in memory: its size, before it is made
    (["-k", "2000000000", "--padding", "2000000000"],
     ["the 2000000000×2000000000×3×1 kernel would need", "GiB but only", "use fewer --filters or a smaller --kernel-size"]),
    (["--filters", str(2**31 - 1)], [f"the 3×3×3×{2**31 - 1} kernel would need", "GiB"]),
    # the padded output: its size, from Python ints (no numpy shape product)
    (["--padding", str(2**31 - 1)], [f"the {2 * (2**31 - 1) + 6}×{2 * (2**31 - 1) + 6}×1 output would need"]),
    # a stride far past the kernel whose padded rows alone are too large
    (["--stride", str(2**31 - 1), "--padding", str(2**31 - 1)],
     [f"the 3×3×1 output and 3×{2 * (2**31 - 1) + 3}×3 padded input rows per block would need", "GiB"]),
    # a trace reads the kernel's taps, never the dilated span between them
    (["--dilation", str(2**31 - 1), "--padding", str(2**31 - 1), "--trace", "1,1"],
     ["the 8×8×1 output and", "padded input rows per block would need"]),
])
def test_a_size_that_cannot_fit_is_one_data_error_before_allocating(folder: Path, args: list[str],
                                                                    fragments: list[str]) -> None:
    start = time.monotonic()
    r = invoke("run", "x.npy", *args, "-q")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, *fragments)
    assert time.monotonic() - start < 5


def test_a_stride_far_past_the_kernel_computes_without_a_huge_copy(folder: Path) -> None:
    """Space-to-depth would copy sh·sw channels one by one: for a stride of 2³¹-1 the strided taps are used."""
    x = np.load(folder / "x.npy")
    r = invoke("run", "x.npy", "--stride", str(2**31 - 1), "--init", "ones", "--json", "--filter", "0")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["output_shape"] == [1, 1, 1]
    f = doc["filters"][0]
    assert f["output_max"] == pytest.approx(float(x[:3, :3].astype(np.float64).sum()), rel=1e-6)


@pytest.mark.parametrize(("text", "bad"), [("0-1000000000", 3), ("2-1000000000", 3), ("5-1000000000", 5),
                                           ("1,0-999999999999999999999", 3), ("1000000000-1", None)])
def test_a_filter_range_is_checked_before_it_is_expanded(folder: Path, text: str, bad: int | None) -> None:
    start = time.monotonic()
    r = invoke("run", "x.npy", "--filters", "3", "--filter", text, "--json")
    assert time.monotonic() - start < 5
    if bad is None:  # a reversed range (lo > hi) is refused: it used to choose nothing, silently
        assert r.exit_code == 2
        one_error(r.stderr, "--filter 1000000000-1: a range goes from the smaller index to the larger")
        return
    assert r.exit_code == 2
    one_error(r.stderr, f"--filter {bad} does not exist: the layer has 3 filters (0..2)")


@pytest.mark.parametrize(("args", "message"), [
    (["-c", str(2**31)], f"--in-channels must be ≤ {2**31 - 1}; got {2**31}"),
    (["-c", "3", "-f", str(2**63)], f"--filters must be ≤ {2**31 - 1}; got {2**63}"),
    (["-c", "3", "--input-size", f"{2**31},5"], f"--input-size takes values ≤ {2**31 - 1}; got '{2**31},5'"),
    (["-c", "3", "-k", str(2**31)], f"--kernel-size must be ≤ {2**31 - 1}"),
])
def test_params_refuses_huge_values_at_once(args: list[str], message: str) -> None:
    r = invoke("params", *args)
    assert r.exit_code == 2, r.output
    one_error(r.stderr, message)


@pytest.mark.parametrize(("k", "s"), [(1, 10**8), (10**8, 1), (10**8, 3), (2**31 - 1, 2**31 - 1), (5, 2**31 - 1)])
def test_params_of_a_huge_transpose_is_immediate(k: int, s: int) -> None:
    start = time.monotonic()
    r = invoke("params", "--kind", "transpose", "-c", "3", "-k", str(k), "--stride", str(s), "--json",
               "--input-size", "2147483647,2147483647")
    assert time.monotonic() - start < 5
    assert r.exit_code == 0, r.stderr
    rf = -(-k // s)  # one transpose: ⌈k/s⌉ inputs at most per output
    assert json.loads(r.stdout)["receptive_field"] == [rf, rf]


def test_a_stack_of_gapped_transposes_is_refused_with_its_numbers() -> None:
    r = invoke("params", "--stack", "tconv 8 k1 s2000, tconv 8 k1 s1000", "--input-size", "8,8,3")
    assert r.exit_code == 2, r.output
    one_error(r.stderr, "--stack: the receptive field of these transpose layers is not computed: their strides "
               "multiply to 2000000", "(at most 1048576)")


def test_the_spec_and_geometry_refuse_values_past_the_ceiling() -> None:
    with pytest.raises(spec.LayerConfigError, match=rf"the stride must be ≤ {2**31 - 1}, got {2**31}"):
        spec.check_spec(spec.ConvSpec("conv", 3, 1, (3, 3), (2**31, 1)))
    with pytest.raises(spec.LayerConfigError, match=rf"the number of filters must be ≤ {2**31 - 1}, got {2**63}"):
        spec.check_spec(spec.ConvSpec("conv", 3, 2**63, (3, 3)))
    with pytest.raises(geometry.ConfigError, match=rf"must be ≤ {2**31 - 1}, got {2**40}"):
        geometry.conv_geometry((8, 8), (3, 3), padding=2**40)
    with pytest.raises(geometry.ShapeError, match=rf"an axis may have at most {2**31 - 1} positions"):
        geometry.conv_geometry((2**31, 8), (3, 3))


# --------------------------------------------------------------------------------------------
# Text inputs: sniffed from a bounded head


def test_a_sparse_file_larger_than_memory_is_one_line_at_once(folder: Path) -> None:
    with open(folder / "big.txt", "wb") as fh:
        fh.truncate(100 * 2**30)  # 100 GiB of NUL bytes, none on disk
    start = time.monotonic()
    r = invoke("run", "big.txt")
    assert time.monotonic() - start < 5
    assert r.exit_code == 1
    one_error(r.stderr, "big.txt: not text (binary data); expected rows of numbers")


def test_text_whose_head_is_text_but_is_too_large_is_refused_with_its_size(folder: Path) -> None:
    with open(folder / "huge.txt", "wb") as fh:
        fh.write(b"1 2 3\n" * 20000)  # past the sniffed head
        fh.truncate(3 * 2**30)
    start = time.monotonic()
    r = invoke("run", "huge.txt")
    assert time.monotonic() - start < 5
    assert r.exit_code == 1
    one_error(r.stderr, "huge.txt: 3.0 GiB of text is more than the 1 GiB convcli reads as numeric text; "
               "save the array as .npy instead")


def test_binary_past_the_head_is_still_binary(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_source, "SNIFF_BYTES", 16)
    (folder / "late.txt").write_bytes(b"1 2 3\n4 5 6\n7 8 9\n\x00\x00")
    r = invoke("run", "late.txt")
    assert r.exit_code == 1
    one_error(r.stderr, "late.txt: not text (binary data)")


def test_a_character_cut_by_the_head_is_not_binary(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The head ends inside a two-byte UTF-8 character: the sniff does not call that binary."""
    body = "# é\n1 2 3\n4 5 6\n7 8 9\n".encode()
    monkeypatch.setattr(text_source, "SNIFF_BYTES", body.index("é".encode()) + 1)
    (folder / "cut.txt").write_bytes(body)
    r = invoke("run", "cut.txt", "-k", "1", "--init", "ones", "--json", "--filter", "0")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["filters"][0]["output_max"] == 9


# --------------------------------------------------------------------------------------------
# Pillow's and libtiff's own messages do not come before (or instead of) the one line


def _broken_zip_tiff(path: Path) -> None:
    Image.fromarray((np.random.default_rng(1).random((16, 16, 3)) * 255).astype(np.uint8)).save(
        path, compression="tiff_adobe_deflate")
    data = bytearray(path.read_bytes())
    start = data.find(b"\x78\x9c") if b"\x78\x9c" in data else data.find(b"\x78\xda")
    assert start >= 0
    for i in range(start + 2, start + 40):
        data[i] ^= 0x55  # the deflate stream broken: libtiff writes "ZIPDecode: Decoding error" to fd 2
    path.write_bytes(bytes(data))


def test_a_tiff_with_broken_zip_data_is_one_line(tmp_path: Path) -> None:
    from PIL import features

    if not features.check("libtiff"):
        pytest.skip("Pillow is built without libtiff")
    _broken_zip_tiff(tmp_path / "bad.tif")
    r = _child("run", "bad.tif", cwd=tmp_path)
    assert r.returncode == 1
    one_error(r.stderr, "bad.tif: not a readable image (corrupt TIFF: decoder error")
    assert "ZIPDecode" not in r.stderr


def test_libtiffs_message_is_there_without_the_redirect(tmp_path: Path) -> None:
    """The oracle for the test above: Pillow alone lets libtiff write to fd 2."""
    from PIL import features

    if not features.check("libtiff"):
        pytest.skip("Pillow is built without libtiff")
    _broken_zip_tiff(tmp_path / "bad.tif")
    code = "from PIL import Image\ntry:\n    Image.open('bad.tif').load()\nexcept OSError:\n    pass\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "ZIPDecode" in r.stderr


_BAD_EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\xff\xff\xff\xff"


def test_an_image_with_corrupt_exif_reads_without_pillows_warning(tmp_path: Path) -> None:
    pixels = (np.random.default_rng(2).random((8, 8, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "e.jpg", exif=_BAD_EXIF)
    code = ("import warnings\nfrom PIL import Image\nwarnings.simplefilter('always')\n"
            "Image.open('e.jpg').getexif()\n")
    oracle = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "Corrupt EXIF data" in oracle.stderr  # Pillow does warn about this file
    r = _child("run", "e.jpg", "-q", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert json.loads(r.stdout)["input"]["shape"] == [8, 8, 3]


def test_a_truncated_png_with_corrupt_exif_is_one_line(tmp_path: Path) -> None:
    pixels = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "e.png", exif=_BAD_EXIF[6:])
    data = (tmp_path / "e.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) - 200])
    r = _child("run", "t.png", "-q", cwd=tmp_path)
    assert r.returncode == 1
    one_error(r.stderr, "t.png: not a readable image")


# --------------------------------------------------------------------------------------------
# A file without read permission is bad data (exit 1)


def _without_read_permission() -> tuple[str, ...] | None:
    """A prefix that runs the child without the right to ignore permissions, or None if there is none."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    # root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH obeys the permission bits
    probe = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", "true"], capture_output=True)
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search") if probe.returncode == 0 else None


@pytest.mark.parametrize(("args", "name"), [
    (["run", "locked.npy"], "locked.npy"),
    (["run", "x.npy", "--kernel", "locked.npy"], "locked.npy"),
    (["verify", "locked.npy"], "locked.npy"),
    (["run", "shut/x.npy"], "shut/x.npy"),  # a folder without search permission
])
def test_an_unreadable_input_or_kernel_is_bad_data(tmp_path: Path, args: list[str], name: str) -> None:
    prefix = _without_read_permission()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    tmp_path.chmod(0o755)
    x = np.random.default_rng(0).random((6, 6, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "locked.npy", np.ones((3, 3, 3, 1)) if "--kernel" in args else x)
    (tmp_path / "locked.npy").chmod(0)
    (tmp_path / "shut").mkdir()
    np.save(tmp_path / "shut" / "x.npy", x)
    (tmp_path / "shut").chmod(0o600)
    try:
        r = _child(*args, cwd=tmp_path, prefix=prefix)
    finally:
        (tmp_path / "shut").chmod(0o755)
    assert r.returncode == 1, r.stderr
    one_error(r.stderr, f"{name}: cannot be read (Permission denied)")


# --------------------------------------------------------------------------------------------
# A summary of many filters is bounded


def _summary_rows(stdout: str) -> tuple[str, list[int]]:
    table = stdout[stdout.index("all filters, whole output"):]
    table = table[: table.index("filters shown in detail")] if "filters shown in detail" in table else table
    rows = [int(line.split()[0]) for line in table.splitlines()[1:] if line.split() and line.split()[0].isdigit()
            and len(line.split()) >= 5 and "filters:" not in line]
    return table, rows


def test_the_summary_lists_first_last_and_strongest(folder: Path) -> None:
    f = 60
    r = invoke("run", "x.npy", "--filters", str(f), "-q", columns=120)
    assert r.exit_code == 0, r.stderr
    full = json.loads(invoke("run", "x.npy", "--filters", str(f), "--json", "--filter", f"0-{f - 1}").stdout)
    strength = [max(abs(e["output_min"]), abs(e["output_max"])) for e in full["filters"]]
    strongest = sorted(range(f), key=lambda i: (-strength[i], i))[:10]
    expected = sorted(set(range(10)) | set(range(f - 5, f)) | set(strongest))
    table, rows = _summary_rows(r.stdout)
    assert rows == expected
    left_out = [b - a - 1 for a, b in zip(expected, expected[1:], strict=False) if b > a + 1]
    said = [int(n.replace(",", "")) for n in re.findall(r"… +([\d,]+) filters? ", table)]
    assert said == left_out and sum(said) + len(expected) == f
    assert f"{len(expected)} of 60 filters: the first 10, the last 5 and the 10 strongest (largest |output|); " \
           "every filter's row is in --json --filter 0-59" in " ".join(table.split())


def test_forty_filters_are_all_listed(folder: Path) -> None:
    r = invoke("run", "x.npy", "--filters", "40", "-q", columns=120)
    table, rows = _summary_rows(r.stdout)
    assert rows == list(range(40))
    assert "strongest" not in table


def test_a_hundred_thousand_filters_print_a_short_summary(folder: Path) -> None:
    start = time.monotonic()
    r = invoke("run", "x.npy", "--filters", "100000", "-q", columns=100)
    assert r.exit_code == 0, r.stderr
    assert time.monotonic() - start < 30
    assert len(r.stdout.splitlines()) < 300
    assert "of 100,000 filters: the first 10" in r.stdout


def test_summary_filters_with_nan_and_ties() -> None:
    stats = np.zeros((50, 3))
    stats[:, 2] = 1.0
    stats[20, 0] = np.nan
    stats[20, 2] = np.nan  # an all-NaN map is not strong
    stats[33, 0] = -7.0  # the strongest by its min
    chosen = selection.summary_filters(stats)
    # 33, then the ties at 1.0 to the lowest indices (0..8, already among the first ten)
    assert chosen == sorted({*range(10), *range(45, 50), 33})
    stats[5, 2] = np.inf  # an infinite map is the strongest
    assert selection.summary_filters(stats) == chosen
    stats[:, 2] = np.arange(50.0)  # the strongest are the last ten: 40..49
    assert selection.summary_filters(stats) == sorted({*range(10), *range(40, 50)})


@pytest.mark.parametrize(("args", "fragment"), [
    (["--padding", "100000"], "the 200006×200006×1 output and the 200008×200008×3 padded input a framework makes "
                              "would need"),
    (["--filters", str(2**31 - 1)], f"the 3×3×3×{2**31 - 1} kernel would need"),
    (["-k", "1000000000"], "kernel 1000000000×1000000000 spans 1000000000 rows but the padded input has 8"),
])
def test_verify_checks_sizes_before_any_framework_runs(folder: Path, args: list[str], fragment: str) -> None:
    start = time.monotonic()
    r = invoke("verify", "x.npy", *args)
    assert time.monotonic() - start < 10
    assert r.exit_code == 1, r.output
    one_error(r.stderr, fragment)
