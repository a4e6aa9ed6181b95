"""Expected failures. The CLI turns each into one line on stderr and the exit code it carries.

An error may carry the ``field`` that is wrong (``"stride"``, ``"window"``, ``"kernel"`` ...): the
library names settings by their field, and only the CLI knows them as flags (``--stride``). A
message that names its field writes the placeholder ``{field}`` where the name goes, before any
text taken from a file or the user: ``str(exc)`` fills in the field's own name,
:meth:`ConvcliError.worded` the caller's name for it. Only the first placeholder is filled, so a
``{field}`` inside a file name or an option value is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Stands in a message where the name of the error's field goes.
FIELD = "{field}"


class ConvcliError(Exception):
    """Base of every expected failure; ``exit_code`` 1 means bad data, 2 bad usage."""

    exit_code = 1

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def worded(self, names: Mapping[str, str] | None = None) -> str:
        """The message with the field named as ``names`` calls it (its own name when not there).

        A message without the :data:`FIELD` placeholder is prefixed with the name instead
        (``--stride: ...``) when ``names`` knows the field, and left alone otherwise.
        """
        if self.field is None:
            return self.message
        name = (names or {}).get(self.field, self.field)
        if FIELD in self.message:
            return self.message.replace(FIELD, name, 1)
        return f"{name}: {self.message}" if names and self.field in names else self.message

    def __str__(self) -> str:
        return self.worded()


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
