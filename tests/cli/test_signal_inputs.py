"""Signal files as a layer's input through ``convcli run``: WAV audio and text columns as ``(L, C)`` with
``--ndim 1``, multi-frame TIFF and GIF as ``(D, H, W, C)`` with ``--ndim 3``; the header says how each was read;
hostile files and a file of the wrong rank are one ``Error:`` line. The files are written here (``wave``, Pillow)
and the archive's ``input`` is checked against the values written."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest
from PIL import Image

from helpers import invoke, one_error


def write_wav(path, samples: np.ndarray, rate: int = 8000) -> None:
    """``samples (L, C)`` int16 as a 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


@pytest.fixture
def stereo(tmp_path):
    rng = np.random.default_rng(0)
    samples = rng.integers(-30000, 30000, size=(300, 2)).astype(np.int16)
    write_wav(tmp_path / "st.wav", samples)
    return tmp_path / "st.wav", samples


def test_a_stereo_wav_is_a_two_channel_signal(tmp_path, stereo):
    path, samples = stereo
    r = invoke("run", path, "--ndim", "1", "-k", "3", "--padding", "causal", "--dilation", "2", "-f", "2",
               "--dtype", "float64", "--save", tmp_path / "out.npz", "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert "WAV, 16-bit PCM, 2 channels, 8000 Hz, 300 samples, values as stored" in r.stdout
    assert "300×2 (L, C)" in r.stdout and "channels L R" in r.stdout
    saved = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(saved["input"], samples.astype(np.float64))
    # the causal dilated Conv1D by hand: output i reads x[i - 4], x[i - 2], x[i]
    k, x = saved["kernel"], np.pad(samples.astype(np.float64), ((4, 0), (0, 0)))
    want = sum(x[t * 2:t * 2 + 300] @ k[t] for t in range(3)) + saved["bias"]
    np.testing.assert_allclose(saved["preactivation"], want, rtol=1e-12, atol=1e-9)


def test_normalize_scales_wav_samples_to_minus_one_one(tmp_path, stereo):
    path, samples = stereo
    r = invoke("run", path, "--kind", "Conv1D", "-k", "2", "--normalize", "--dtype", "float64",
               "--save", tmp_path / "out.npz", "--view", "numbers")
    assert r.exit_code == 0, r.output
    assert "normalized to [-1, 1]" in r.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["input"], samples / 32768.0)


def test_csv_columns_are_channels_named_by_the_header(tmp_path):
    rows = np.random.default_rng(1).normal(size=(40, 3)).round(4)
    lines = ["ax,ay,az"] + [",".join(f"{v:.4f}" for v in row) for row in rows]
    (tmp_path / "imu.csv").write_text("\n".join(lines) + "\n")
    r = invoke("run", tmp_path / "imu.csv", "--ndim", "1", "-k", "5", "--dtype", "float64",
               "--save", tmp_path / "out.npz", "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert "text columns (comma-separated, header ax, ay, az), 3 columns → 3 channels, 40 samples" in r.stdout
    assert "channels ax ay az" in r.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["input"], rows)


@pytest.mark.parametrize("fmt", ["TIFF", "GIF"])
def test_multi_frame_images_are_a_volume(tmp_path, fmt):
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, size=(4, 6, 5)).astype(np.uint8)
    images = [Image.fromarray(f, mode="L") for f in frames]
    path = tmp_path / f"vol.{fmt.lower()}"
    images[0].save(path, format=fmt, save_all=True, append_images=images[1:])
    r = invoke("run", path, "--ndim", "3", "-k", "2", "--dtype", "float64", "--save", tmp_path / "out.npz",
               "--view", "numbers", columns=120)
    assert r.exit_code == 0, r.output
    assert f"{fmt}, 4 frames of 5×6 as the depth" in r.stdout
    saved = np.load(tmp_path / "out.npz")["input"]
    if fmt == "TIFF":  # grey frames as stored, one channel
        np.testing.assert_array_equal(saved, frames[..., None].astype(np.float64))
    else:  # GIF frames through their palette, as RGB: grey stays grey in each channel
        assert saved.shape == (4, 6, 5, 3)
        np.testing.assert_array_equal(saved[..., 0], saved[..., 2])


def test_without_ndim_a_multi_frame_tiff_is_still_its_first_frame(tmp_path):
    frames = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    images = [Image.fromarray(f, mode="L") for f in frames]
    images[0].save(tmp_path / "v.tif", save_all=True, append_images=images[1:])
    r = invoke("run", tmp_path / "v.tif", "-k", "2", "--dtype", "float64", "--save", tmp_path / "o.npz",
               "--view", "numbers")
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["input"], frames[0][..., None])


def test_a_wav_without_ndim_1_says_how_to_read_it(stereo):
    r = invoke("run", stereo[0], "-k", "3")
    assert r.exit_code == 1
    one_error(r.stderr, "st.wav", "WAV audio", "--ndim 1")
    r = invoke("verify", stereo[0], "--ndim", "3", "-k", "1")
    assert r.exit_code == 1
    one_error(r.stderr, "st.wav", "--ndim 1")


def test_an_image_to_a_1d_layer_is_one_error(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "p.png")
    Image.new("L", (4, 4)).save(tmp_path / "g.gif")
    r = invoke("run", tmp_path / "p.png", "--ndim", "1")
    assert r.exit_code == 1
    one_error(r.stderr, "p.png", "PNG image", "leave out --ndim")
    r = invoke("run", tmp_path / "g.gif", "--ndim", "1")
    assert r.exit_code == 1
    one_error(r.stderr, "g.gif", "--ndim 3")


def _riff(fmt_tag: int, channels: int, bits: int, frames: int, data: bytes) -> bytes:
    """A WAV file by hand: its header may claim what its data does not hold."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, 8000, 8000 * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", frames * block) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(("content", "fragments"), [
    (_riff(1, 1, 16, 2_000_000_000 // 2, b"\x00\x01" * 10), ("claims", "truncated or damaged")),
    (_riff(3, 1, 32, 4, b"\x00" * 16), ("not an integer PCM WAV file", "IEEE float")),
    (b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff", ("bad.wav",)),
])
def test_hostile_wav_files_are_one_error_line(tmp_path, content, fragments):
    (tmp_path / "bad.wav").write_bytes(content)
    r = invoke("run", tmp_path / "bad.wav", "--ndim", "1", "-k", "1")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "bad.wav", *fragments)


def test_bad_columns_and_oversize_volumes_are_one_error_line(tmp_path):
    (tmp_path / "c.csv").write_text("a,b\n1,2\n3,oops\n")
    r = invoke("run", tmp_path / "c.csv", "--ndim", "1", "-k", "1")
    assert r.exit_code == 1
    one_error(r.stderr, "c.csv", "line 3, column 2 (b)", "'oops' is not a number")
    # a frame over --max-pixels is refused before it is decoded
    images = [Image.new("L", (40, 30)) for _ in range(2)]
    images[0].save(tmp_path / "big.tif", save_all=True, append_images=images[1:])
    r = invoke("run", tmp_path / "big.tif", "--ndim", "3", "-k", "1", "--max-pixels", "100")
    assert r.exit_code == 1, r.output
    one_error(r.stderr, "big.tif", "the limit of 100")
