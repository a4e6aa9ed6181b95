"""TEMPORARY shim for the merge: the writers moved to :mod:`convcli.files`."""

from convcli.files.atomic import atomic_write
from convcli.files.targets import IMAGE_FORMATS, _either, check_target
from convcli.files.writers import _IMAGE_OPTIONS, save_image, save_npz

__all__ = ["IMAGE_FORMATS", "_IMAGE_OPTIONS", "_either", "atomic_write", "check_target", "save_image", "save_npz"]
