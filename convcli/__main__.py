"""``python -m convcli``."""

from convcli.cli import app

app(prog_name="convcli")
