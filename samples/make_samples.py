"""Regenerate every file in samples/ (see samples/README.md for what each one is).

Usage: python samples/make_samples.py [DATA_DIR] [--out DIR]

DATA_DIR holds grace_hopper.jpg (default: ../shared/data next to the repository); --out is where
the files go (default: this script's folder). Same Pillow and numpy versions, same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import wave
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"

PHOTO_WIDTH = 128
TEXTBOOK_VALUES = (1.0, 100.0, 10000.0)  # R, G, B: each channel's share stays readable in the sum
SOBEL_X = np.array(
    [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32
)  # cross-correlation: + on dark→bright


def textbook() -> np.ndarray:
    """``(3, 3, 3)`` float32, channels-last: channel c is constant ``TEXTBOOK_VALUES[c]``."""
    return np.ones((3, 3, 3), dtype=np.float32) * np.array(TEXTBOOK_VALUES, dtype=np.float32)


def textbook_csv(x: np.ndarray) -> str:
    lines = [
        "# convcli textbook example: a 3x3 image with 3 channels, R = 1, G = 100, B = 10000.",
        "# Blocks separated by blank lines are channels (channels-last): R, then G, then B.",
        "# The same values as textbook.npy.",
    ]
    for c, label in enumerate("RGB"):
        lines += ["", f"# {label}"]
        lines += [",".join(f"{v:g}" for v in row) for row in x[:, :, c]]
    return "\n".join(lines) + "\n"


def signal() -> np.ndarray:
    """``(24, 2)`` float32, a 1-D signal channels-last: c0 a pulse (1 from position 8 to 15), c1 a slow ramp."""
    x = np.zeros((24, 2), dtype=np.float32)
    x[8:16, 0] = 1.0
    x[:, 1] = np.arange(24, dtype=np.float32) / 10
    return x


CHIRP_RATE = 8000  # Hz
CHIRP_FRAMES = 1600  # 200 ms


def chirp() -> np.ndarray:
    """``(1600, 2)`` int16, 200 ms of stereo at 8 kHz: L a linear chirp rising from 200 to 2000 Hz, R one
    falling from 2000 to 200 Hz at half the level; both fade in and out over 10 ms."""
    t = np.arange(CHIRP_FRAMES) / CHIRP_RATE
    span = CHIRP_FRAMES / CHIRP_RATE
    rising = np.sin(2 * np.pi * (200 * t + (2000 - 200) / (2 * span) * t**2))
    falling = np.sin(2 * np.pi * (2000 * t - (2000 - 200) / (2 * span) * t**2))
    fade = np.clip(np.minimum(t, span - t) / 0.01, 0, 1)
    return np.round(np.stack([16000 * rising, 8000 * falling], axis=1) * fade[:, None]).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """``samples (L, C)`` int16 as a 16-bit PCM WAV file (the standard library's ``wave``: no timestamps)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def kernel_rgb() -> np.ndarray:
    """``(3, 3, 3, 2)`` Keras layout: filter 0 = sobel-x on R, 0 on G, -sobel-x on B; filter 1 = mean of G."""
    k = np.zeros((3, 3, 3, 2), dtype=np.float32)
    k[:, :, 0, 0] = SOBEL_X
    k[:, :, 2, 0] = 0.0 - SOBEL_X  # not -SOBEL_X: no -0.0 weights in the tables
    k[:, :, 1, 1] = 1.0 / 9.0
    return k


def make(data_dir: Path, out: Path) -> list[Path]:
    """Write all samples into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    photo = data_dir / "grace_hopper.jpg"
    written = []

    jpg = out / "grace_hopper.jpg"
    if photo.resolve() != jpg.resolve():
        shutil.copyfile(photo, jpg)
    written.append(jpg)
    with Image.open(photo) as img:
        rgb = img.convert("RGB")
    height = round(rgb.height * PHOTO_WIDTH / rgb.width)
    small = rgb.resize((PHOTO_WIDTH, height), Image.Resampling.LANCZOS)
    png = out / "grace_hopper.png"
    small.save(png, optimize=True)
    written.append(png)

    x = textbook()
    arrays = {
        "textbook.npy": x,
        "kernel_ones_2x2_keras.npy": np.ones((2, 2, 3, 1), dtype=np.float32),  # (kh, kw, C, F)
        "kernel_ones_2x2_torch.npy": np.ones((1, 3, 2, 2), dtype=np.float32),  # (F, C, kh, kw)
        "kernel_rgb_keras.npy": kernel_rgb(),  # (kh, kw, C, F)
        "signal.npy": signal(),  # (L, C): a Conv1D's input
    }
    for file_name, arr in arrays.items():
        np.save(out / file_name, arr)
        written.append(out / file_name)

    texts = {
        "textbook.csv": textbook_csv(x),
        "kernel_sobel_x.csv": "# sobel-x, 3x3, applied to every input channel (cross-correlation)\n"
        + "".join(",".join(f"{v:g}" for v in row) + "\n" for row in SOBEL_X),
    }
    for file_name, text in texts.items():
        (out / file_name).write_text(text, encoding="utf-8", newline="\n")
        written.append(out / file_name)
    write_wav(out / "chirp.wav", chirp(), CHIRP_RATE)
    written.append(out / "chirp.wav")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA, help="holds grace_hopper.jpg")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the samples")
    args = parser.parse_args(argv)
    if not (args.data_dir / "grace_hopper.jpg").is_file():
        parser.error(f"{args.data_dir / 'grace_hopper.jpg'} not found; give the data folder as DATA_DIR")
    for path in make(args.data_dir, args.out):
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
