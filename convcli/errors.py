"""Expected failures. The CLI turns each into one line on stderr and the exit code it carries."""

from __future__ import annotations


class ConvcliError(Exception):
    """Base of every expected failure; ``exit_code`` 1 means bad data, 2 bad usage."""

    exit_code = 1


class ConfigError(ConvcliError):
    """A layer setting that is invalid whatever the data (stride 0, unknown padding, ...)."""

    exit_code = 2


class ShapeError(ConvcliError):
    """Shapes that do not fit together: input, kernel, bias, padding, window."""


class LoadError(ConvcliError):
    """A file that cannot be read as an image or an array."""


class SaveError(ConvcliError):
    """An output file that cannot, or may not, be written."""


class ResourceError(ConvcliError):
    """A computation that would need more memory than the tool allows itself."""


class DisagreementError(ConvcliError):
    """A framework computed the layer differently from convcli (``convcli verify``)."""
