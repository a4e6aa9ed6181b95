"""Text taken from files (member names, paths, metadata), made safe to show.

A name inside an ``.npz`` or a file name may hold a newline, a carriage return or a terminal escape
(``\\x1b[31m``): printed raw, it forges lines (a second ``Error:``) or recolours the terminal.
:func:`shown` escapes every control character the way Python writes it in a string literal, so a
message stays one line and shows exactly which bytes the name holds. It does not escape rich
markup: the screens put such text in ``rich.text.Text`` (never parsed as markup), and where a
markup string cannot be avoided the caller also applies ``rich.markup.escape``.
"""

from __future__ import annotations

import os
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(text: str | os.PathLike[str]) -> str:
    """``text`` with control characters (C0, DEL, C1, line and paragraph separators, bidi
    overrides) escaped as ``\\n``, ``\\x1b``, ``\\u2028``; other text unchanged.

    >>> shown("a\\nError: x\\x1b[31m")
    'a\\\\nError: x\\\\x1b[31m'
    """
    s = os.fspath(text)
    if s.isprintable():  # the common case: nothing to do (isprintable is False for every Cc/Cf/Zl/Zp)
        return s
    return "".join(_escape(ch) if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") and ch != " "
                   else ch for ch in s)


def clipped(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word's end, with `` …`` where it was cut.

    >>> clipped("an unsupported global was found", 20)
    'an unsupported …'
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 2]
    # a word cut in two reads as another word: cut before it (only one long word is cut inside)
    if not text[limit - 2].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:(") + " …"
