"""How ``--help`` shows an option's value, in one place: nothing for a flag, choices that wrap whole.

Typer 0.29 prints a type column for every option: ``<bool>`` beside a flag, which takes no value
(so users try ``--json true``), and ``<linear|relu|…>`` as one word, which the 80-column help folds
mid-name (``softp⏎lus``). :func:`tidy_help` makes Typer's option class show nothing for a flag and
``linear | relu | …`` for a choice, which wraps between choices. It changes only what help prints,
never how a value is parsed; ``tests/cli/test_helptext.py`` fails when a Typer upgrade changes the
method it wraps.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any

from typer.core import TyperOption

#: What Typer's own method returns; kept to wrap it once.
_TYPER_DISPLAY = TyperOption.display_type_rich


def _display(self: TyperOption, ctx: Any) -> str | None:
    if self.metavar is None and self.is_flag and not self.count:
        return None
    desc = getattr(self, "type_descriptor", None)
    if self.metavar is None and desc is not None and desc.is_choice and not desc.is_list:
        return " | ".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    return _TYPER_DISPLAY(self, ctx)


def tidy_help() -> None:
    """Show flags without a value and choices separated by ``|`` (idempotent)."""
    TyperOption.display_type_rich = _display  # type: ignore[method-assign]


#: How Typer (through pydantic) refuses a choice: ``'rellu' is not one of 'linear', 'relu', ...``.
_NOT_ONE_OF = re.compile(r"'(?P<given>[^']*)' is not one of (?P<choices>'[^']*'(?:, '[^']*')*)")


def usage_message(message: str) -> str:
    """A usage error as convcli words it: without pydantic's ``Value error,`` prefix, and for a choice
    that is not one, the nearest choices (``did you mean 'relu'?``)."""
    message = message.replace("Value error, ", "")
    m = _NOT_ONE_OF.search(message)
    if m:
        choices = re.findall(r"'([^']*)'", m.group("choices"))
        near = get_close_matches(m.group("given").lower(), choices, n=2, cutoff=0.6)
        if near:
            message = message.rstrip(".") + "; did you mean " + " or ".join(f"'{c}'" for c in near) + "?"
    return message
