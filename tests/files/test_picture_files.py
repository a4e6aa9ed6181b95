"""Writing a picture: the format by extension, the file mode, --force, and a failed or interrupted
write that leaves the old file and no temporary behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from convcli.cli.app import FLAGS
from convcli.errors import ConfigError, SaveError
from convcli.figure import draw as figure_draw
from convcli.files import targets, writers

from helpers import decode, sobel_gradient

RGB = ("R", "G", "B")


# ------------------------------------------------------------------------------------------------
# writing pictures


@pytest.fixture(scope="module")
def small_image() -> Image.Image:
    return figure_draw.figure_image(sobel_gradient(40, 60), [0], RGB, panel=32)


@pytest.mark.parametrize("name, fmt", [("f.png", "PNG"), ("f.jpg", "JPEG"), ("f.JPEG", "JPEG"), ("f.webp", "WEBP")])
def test_image_formats_by_extension(small_image, tmp_path: Path, name: str, fmt: str):
    target = targets.check_target(tmp_path / name, force=False, suffix=targets.IMAGE_FORMATS)
    writers.save_image(small_image, target)
    got, px = decode(target)
    assert got == fmt and (px.shape[1], px.shape[0]) == small_image.size
    assert [p.name for p in tmp_path.iterdir()] == [name]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


def test_unsupported_extension_is_a_usage_error(small_image, tmp_path: Path):
    with pytest.raises(ConfigError, match=r"\.png, \.jpg, \.jpeg or \.webp"):
        targets.check_target(tmp_path / "f.gif", force=True, suffix=targets.IMAGE_FORMATS)
    with pytest.raises(ConfigError):
        writers.save_image(small_image, tmp_path / "f.gif")
    assert not list(tmp_path.iterdir())


def test_existing_picture_needs_force(small_image, tmp_path: Path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"precious")
    with pytest.raises(SaveError) as info:
        targets.check_target(target, force=False, suffix=targets.IMAGE_FORMATS)
    assert info.value.worded(FLAGS) == f"{target} exists; pass --force to replace it"
    assert info.value.field == "force" and str(info.value) == f"{target} exists; pass force to replace it"
    assert target.read_bytes() == b"precious"
    writers.save_image(small_image, targets.check_target(target, force=True, suffix=targets.IMAGE_FORMATS))
    assert decode(target)[0] == "PNG"


@pytest.mark.parametrize("failure, raised", [(KeyboardInterrupt, KeyboardInterrupt), (OSError(28, "No space left"), SaveError)])
def test_failed_write_leaves_old_file_and_no_temporary(small_image, tmp_path: Path, monkeypatch, failure, raised):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"half a picture")
        raise failure

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(raised):
        writers.save_image(small_image, target)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"] and target.read_bytes() == b"old"
