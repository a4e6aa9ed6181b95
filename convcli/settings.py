"""Process-wide switches, in one object: what the command running now was asked for.

The library never reads these to decide a number; they only shape what a front end says
(``--debug`` tracebacks, the out-of-memory advice of a command that failed where no layer is at hand).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """The switches of the command running now; a fresh process starts with the defaults."""

    debug: bool = False  # --debug: show the traceback of an expected failure
    dtype: str = ""  # the compute dtype once the command knows it: the memory advice suggests float32 only when it is not


#: The one instance every module reads.
SETTINGS = Settings()
