"""Signal readers: WAV and text columns as ``(L, C)``, multi-frame TIFF/GIF as ``(D, H, W, C)``.

Every file is written here: WAV by the standard library's ``wave`` (24-bit frames packed by hand),
text by hand, frames by Pillow; the values read back are compared with the arrays written. Hostile
files (headers that claim more than the file holds, formats the readers refuse) must give one
``LoadError`` naming the file, without allocating what the header claims.
"""

from __future__ import annotations

import struct
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.errors import ConfigError, LoadError
from convcli.sources.signals import LINE_LIMIT, read_columns, read_frames, read_signal, read_wav

RNG = np.random.default_rng(25)


def write_wav(path: Path, frames: bytes, *, channels: int, width: int, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(frames)
    return path


# --------------------------------------------------------------------------------------------
# WAV


@pytest.mark.parametrize(("width", "dtype"), [(1, np.uint8), (2, np.int16), (4, np.int32)])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_pcm_reads_as_stored_one_channel_per_audio_channel(tmp_path: Path, width: int, dtype: type, channels: int):
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.max, size=(50, channels), endpoint=True).astype(dtype)
    x[0] = info.min
    x[1] = info.max
    path = write_wav(tmp_path / "a.wav", x.astype(x.dtype.newbyteorder("<")).tobytes(), channels=channels, width=width,
                     rate=44100)
    s = read_wav(path)
    assert s.array.dtype == dtype and s.array.shape == (50, channels)
    np.testing.assert_array_equal(s.array, x)
    assert s.rate == 44100
    assert s.description.startswith(f"WAV, {8 * width}-bit PCM, {channels} channel")
    assert "44100 Hz, 50 samples, values as stored" in s.description
    assert s.channel_names == (("L", "R") if channels == 2 else tuple(f"c{i}" for i in range(channels)))


def test_24_bit_pcm_is_sign_extended(tmp_path: Path):
    x = np.array([[0, -1], [8388607, -8388608], [1, 256], [-256, 65536]], dtype=np.int32)
    packed = b"".join(int(v).to_bytes(3, "little", signed=True) for v in x.ravel())
    s = read_wav(write_wav(tmp_path / "a.wav", packed, channels=2, width=3))
    assert s.array.dtype == np.int32
    np.testing.assert_array_equal(s.array, x)
    assert "24-bit PCM, 2 channels" in s.description


@pytest.mark.parametrize(("width", "dtype", "values", "want"), [
    (1, np.uint8, [0, 128, 255], [-1.0, 0.0, 127 / 128]),
    (2, np.int16, [-32768, 0, 16384, 32767], [-1.0, 0.0, 0.5, 32767 / 32768]),
    (4, np.int32, [-(2**31), 2**30], [-1.0, 0.5]),
])
def test_normalize_maps_full_scale_to_minus_one_one(tmp_path: Path, width: int, dtype: type, values: list[int],
                                                    want: list[float]):
    raw = np.array(values, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    s = read_wav(write_wav(tmp_path / "a.wav", raw, channels=1, width=width), normalize=True)
    assert s.array.dtype == np.float64
    np.testing.assert_array_equal(s.array[:, 0], want)
    assert s.description.endswith("normalized to [-1, 1]")


def test_the_description_reads_as_one_line(tmp_path: Path):
    x = np.zeros((1000, 2), np.int16)
    s = read_wav(write_wav(tmp_path / "a.wav", x.tobytes(), channels=2, width=2, rate=44100))
    assert s.description == "WAV, 16-bit PCM, 2 channels, 44100 Hz, 1,000 samples, values as stored"


def wav_header(*, tag: int = 1, channels: int = 1, width: int = 2, rate: int = 8000, data_size: int,
               riff_size: int | None = None) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * width, channels * width, 8 * width)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_size)
    return b"RIFF" + struct.pack("<I", riff_size if riff_size is not None else len(body) + data_size) + body


def test_a_header_claiming_billions_of_frames_is_refused_without_allocating(tmp_path: Path):
    path = tmp_path / "huge.wav"
    path.write_bytes(wav_header(channels=2, width=4, data_size=0xFFFFFFF8, riff_size=0xFFFFFFFF) + b"\x00" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(LoadError) as err:
            read_wav(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value) and "536,870,911 frames" in str(err.value) and "truncated" in str(err.value)
    assert peak < 1_000_000  # the header claims 4 GB


def test_a_signal_over_the_value_limit_is_refused_before_reading(tmp_path: Path):
    path = write_wav(tmp_path / "a.wav", np.zeros((600, 2), np.int16).tobytes(), channels=2, width=2)
    with pytest.raises(LoadError, match=r"600 samples × 2 channels = 1,200 values is over the limit of 1,000"):
        read_wav(path, max_values=1000)
    with pytest.raises(ConfigError):
        read_wav(path, max_values=0)


@pytest.mark.parametrize(("tag", "name"), [(3, "IEEE float"), (6, "A-law"), (7, "µ-law"), (2, "Microsoft ADPCM"),
                                           (0x55, "MP3")])
def test_float_and_compressed_wav_are_refused_by_name(tmp_path: Path, tag: int, name: str):
    path = tmp_path / "f.wav"
    path.write_bytes(wav_header(tag=tag, width=4, data_size=16) + b"\x00" * 16)
    with pytest.raises(LoadError) as err:
        read_wav(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: not an integer PCM WAV file ({name})") and "\n" not in msg


@pytest.mark.parametrize(("content", "words"), [
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not an integer PCM WAV file"),  # cut inside the chunks
    (b"this is not audio at all", "not a WAV file"),
])
def test_damaged_or_foreign_files_are_one_error_naming_the_file(tmp_path: Path, content: bytes, words: str):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(LoadError) as err:
        read_wav(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_a_wav_without_samples_is_refused(tmp_path: Path):
    path = write_wav(tmp_path / "empty.wav", b"", channels=1, width=2)
    with pytest.raises(LoadError, match="holds no samples"):
        read_wav(path)


# --------------------------------------------------------------------------------------------
# Text columns


def test_csv_columns_are_channels_and_a_header_names_them(tmp_path: Path):
    x = RNG.normal(size=(20, 3)).round(6)
    path = tmp_path / "s.csv"
    path.write_text("time,left,right\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in x) + "\n")
    s = read_columns(path)
    np.testing.assert_array_equal(s.array, x)
    assert s.channel_names == ("time", "left", "right")
    assert s.description == ("text columns (comma-separated, header time, left, right), 3 columns → 3 channels, "
                             "20 samples")


@pytest.mark.parametrize(("sep", "word"), [("\t", "tab"), (";", "semicolon"), (" ", "whitespace")])
def test_other_separators_without_a_header(tmp_path: Path, sep: str, word: str):
    path = tmp_path / "s.txt"
    path.write_text("# a comment\n1" + sep + "2\n\n3" + sep + "-4.5e1\n")
    s = read_columns(path)
    np.testing.assert_array_equal(s.array, [[1, 2], [3, -45]])
    assert s.channel_names == ("c0", "c1") and f"({word}-separated)" in s.description


@pytest.mark.parametrize(("text", "words"), [
    ("a,b\n1,2\n3,x\n", "line 3, column 2 (b): 'x' is not a number"),
    ("1,2\n3,\n", "line 2, column 2 is empty"),
    ("1,2\n3,4,5\n", "line 2 has 3 columns, the first row 2"),
    ("a,b\n", "holds no rows of numbers (only a header)"),
    ("# nothing\n\n", "holds no rows of numbers"),
])
def test_bad_cells_are_named_by_line_and_column(tmp_path: Path, text: str, words: str):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(LoadError) as err:
        read_columns(path)
    assert str(err.value) == f"{path}: {words}"


def test_an_endless_line_and_binary_data_are_refused(tmp_path: Path):
    path = tmp_path / "long.csv"
    path.write_text("1," * (LINE_LIMIT // 2 + 10))
    with pytest.raises(LoadError, match=r"line 1 is longer than"):
        read_columns(path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"1,2\x00\x00\xff")
    with pytest.raises(LoadError, match="not text"):
        read_columns(binary)
    latin = tmp_path / "l.csv"
    latin.write_bytes("é,1\n".encode("latin-1"))
    with pytest.raises(LoadError, match="not UTF-8"):
        read_columns(latin)


def test_columns_over_the_value_limit_stop_being_read(tmp_path: Path):
    path = tmp_path / "s.csv"
    path.write_text("1,2\n" * 100)
    with pytest.raises(LoadError, match="over the limit of 50"):
        read_columns(path, max_values=50)
    assert read_columns(path, max_values=200).array.shape == (100, 2)


# --------------------------------------------------------------------------------------------
# Frames


def test_a_multi_frame_tiff_is_the_depth_of_a_volume(tmp_path: Path):
    vol = RNG.integers(0, 256, size=(4, 6, 5), dtype=np.uint8)
    path = tmp_path / "v.tif"
    frames = [Image.fromarray(f) for f in vol]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    s = read_frames(path)
    assert s.array.shape == (4, 6, 5, 1) and s.channel_names == ("L",)
    np.testing.assert_array_equal(s.array[..., 0], vol)
    assert s.description.startswith("TIFF, 4 frames of 5×6 as the depth, L, uint8")
    assert read_signal(path).array.shape == (4, 6, 5, 1)


def test_gif_frames_are_rgb_with_their_palette_applied(tmp_path: Path):
    colours = [(255, 0, 0), (0, 128, 255), (10, 200, 30)]
    frames = [Image.new("RGB", (7, 3), c) for c in colours]
    frames[1].putpixel((2, 1), (255, 255, 255))
    path = tmp_path / "v.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    s = read_frames(path)
    assert s.array.shape == (3, 3, 7, 3) and s.channel_names == ("R", "G", "B")
    for d, frame in enumerate(frames):
        np.testing.assert_array_equal(s.array[d], np.asarray(frame.convert("RGB")))
    assert "GIF, 3 frames of 7×3" in s.description and "palette applied" in s.description


def test_frames_that_differ_in_size_are_refused_naming_the_frame(tmp_path: Path):
    path = tmp_path / "v.tif"
    Image.new("L", (4, 4)).save(path, save_all=True, append_images=[Image.new("L", (5, 4))])
    with pytest.raises(LoadError, match=r"frame 1 is 5×4 with 1 channels .* frame 0 4×4"):
        read_frames(path)


def test_a_volume_over_the_limits_is_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "v.tif"
    frames = [Image.new("L", (40, 30)) for _ in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(LoadError, match=r"5 frames × 30×40 × 1 channels = 6,000 values is over the limit of 5,000"):
        read_frames(path, max_values=5000)
    with pytest.raises(LoadError, match="more pixels than the limit of 100"):
        read_frames(path, max_pixels=100)


def test_read_signal_chooses_by_content(tmp_path: Path):
    wav = write_wav(tmp_path / "audio.dat", np.arange(4, dtype=np.int16).tobytes(), channels=1, width=2)
    assert read_signal(wav).description.startswith("WAV")
    text = tmp_path / "cols.wav"  # a misleading name: the content decides
    text.write_text("1 2\n3 4\n")
    with pytest.raises(LoadError, match="not a WAV file"):
        read_wav(text)
    assert read_signal(text).array.shape == (2, 2)
