"""Errors that guide: the --filters hint, KxK sizes, click's near-miss option names,
memory advice that fits the dtype (tests/cli/test_writes_signals_and_escapes.py) and saved lines on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import invoke


@pytest.fixture
def x(tmp_path: Path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((9, 11, 2)).astype(np.float32))
    return path


def test_filter_beyond_one_filter_suggests_filters(x: Path) -> None:
    r = invoke("run", x, "--filter", "4")
    assert r.exit_code == 2
    assert ("--filter 4 does not exist: the layer has 1 filter (0..0); to make 4 filters use --filters 4"
            in r.stderr)


def test_no_hint_for_a_kernel_file_or_a_range(x: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", np.ones((3, 3, 2, 2)))
    r = invoke("run", x, "--kernel", tmp_path / "k.npy", "--filter", "4")
    assert r.exit_code == 2
    assert "the layer has 2 filters (0..1)" in r.stderr and "--filters 4" not in r.stderr
    r = invoke("run", x, "--filters", "2", "--filter", "1-5")
    assert "--filter 2 does not exist" in r.stderr and "to make" not in r.stderr


@pytest.mark.parametrize("sep", ["x", "X", "×", ","])
def test_kxk_is_k_comma_k(x: Path, sep: str) -> None:
    args = ("-k", f"3{sep}2", "--stride", f"2{sep}1", "--dilation", f"1{sep}2", "--padding", f"1{sep}0",
            "--init", "ones", "--json")
    r = invoke("run", x, *args)
    assert r.exit_code == 0, r.stderr
    layer = json.loads(r.stdout)["layer"]
    assert (layer["kernel_size"], layer["strides"], layer["dilation_rate"]) == ([3, 2], [2, 1], [1, 2])
    # out = floor((n + 2p - d(k-1) - 1) / s) + 1 by hand: rows (9+2-2-1)/2+1 = 5, cols (11-2-1)/1+1 = 9
    assert json.loads(r.stdout)["output_shape"][:2] == [5, 9]


def test_params_takes_kxk() -> None:
    r = invoke("params", "-k", "3x5", "--in-channels", "2", "--input-size", "8x10", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["config"]["kernel_size"] == [3, 5]


def test_near_miss_option_is_named(x: Path) -> None:
    r = invoke("run", x, "--filterz", "2")
    assert r.exit_code == 2
    assert "No such option: --filterz" in r.stderr and "--filters" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_saved_lines_on_stderr_stdout_only_the_screen(x: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.npz"
    r = invoke("run", x, "--save", out, "--export", tmp_path / "s.txt")
    assert r.exit_code == 0, r.stderr
    assert f"saved {out}" not in r.stdout and "exported the screen" not in r.stdout
    assert f"saved {out}" in r.stderr and "exported the screen to" in r.stderr
    assert (tmp_path / "s.txt").read_text() == r.stdout
