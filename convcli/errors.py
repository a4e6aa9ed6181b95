"""Expected failures. The CLI turns each into one line on stderr and the exit code it carries.

An error may carry the ``field`` that is wrong (``"stride"``, ``"window"``, ``"kernel"`` ...): the
library names settings by their field, and only the CLI knows them as flags (``--stride``). A
message that names its field writes the placeholder ``{field}`` where the name goes, before any
text taken from a file or the user: ``str(exc)`` fills in the field's own name,
:meth:`ConvcliError.worded` the caller's name for it. Only the first placeholder is filled, so a
``{field}`` inside a file name or an option value is shown as it is.

A message that names a second setting gives it as ``also`` and writes ``{also}`` where its name goes
(``"{field} sobel-x is 3×3, but {also} is 5×5"``). Text from outside that must come before a
placeholder (a file name) goes in ``values`` and the message writes ``{KEY}`` where it goes. The
slots are filled in one pass over the message, so a value is never read for placeholders, and only
the slots the error declares (its ``field``, ``also`` and ``values``) are filled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Stands in a message where the name of the error's field goes.
FIELD = "{field}"

#: ``{field}``, ``{also}`` (a second field) or ``{KEY}`` (one of the error's values).
_SLOT = re.compile(r"\{(\w+)\}")


class ConvcliError(Exception):
    """Base of every expected failure; ``exit_code`` 1 means bad data, 2 bad usage."""

    exit_code = 1

    def __init__(self, message: str = "", *, field: str | None = None, also: str | None = None,
                 values: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.also = also
        self.values = dict(values or {})

    def worded(self, names: Mapping[str, str] | None = None) -> str:
        """The message with the field named as ``names`` calls it (its own name when not there).

        A message without the :data:`FIELD` placeholder is prefixed with the name instead
        (``--stride: ...``) when ``names`` knows the field, and left alone otherwise.
        """
        names = names or {}
        if self.field is None and self.also is None and not self.values:
            return self.message
        fields = {"field": self.field, "also": self.also}
        filled: set[str] = set()

        def fill(slot: re.Match[str]) -> str:
            key = slot.group(1)
            own = fields.get(key)
            if own is not None and key not in filled:  # only the first {field}, the first {also}
                filled.add(key)
                return names.get(own, own)
            return str(self.values[key]) if own is None and key in self.values else slot.group(0)

        text = _SLOT.sub(fill, self.message)
        if self.field is not None and "field" not in filled and self.field in names:
            return f"{names[self.field]}: {text}"
        return text

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
