"""convcli.sources: what comes in imports neither the views (rich), the CLI (typer) nor, until an image is read, Pillow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_FORBIDDEN = ("rich", "typer", "click", "PIL", "convcli.engine", "convcli.cli")


@pytest.mark.parametrize("module", ["convcli.sources.inputs", "convcli.sources.kernels", "convcli.load", "convcli.kernels"])
def test_sources_import_no_views_no_cli_no_pillow(module: str) -> None:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = [m for m in json.loads(out) if any(m == f or m.startswith(f + ".") for f in _FORBIDDEN)]
    assert loaded == []

