"""convcli.sources: what comes in imports neither the views (rich), the CLI (typer) nor, until an image is read, Pillow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_FORBIDDEN = ("rich", "typer", "click", "PIL", "convcli.engine", "convcli.cli")


@pytest.mark.parametrize("module", ["convcli.sources.inputs", "convcli.sources.kernels"])
def test_sources_import_no_views_no_cli_no_pillow(module: str) -> None:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = [m for m in json.loads(out) if any(m == f or m.startswith(f + ".") for f in _FORBIDDEN)]
    assert loaded == []


def test_a_library_error_names_its_field_and_the_cli_words_it_as_the_flag() -> None:
    from convcli.errors import ConfigError
    from convcli.sources import kernels

    with pytest.raises(ConfigError) as info:
        kernels.parse_bias("x1")
    assert info.value.field == "bias"
    assert str(info.value) == "bias 'x1' is neither a number, a comma-separated list, nor an existing file"
    assert info.value.worded({"bias": "--bias"}).startswith("--bias 'x1' is neither")
    with pytest.raises(ConfigError) as info:
        kernels.to_keras_layout(kernels.make_kernel("ones", (3, 3), 1, 1), "caffe", 1)
    assert info.value.field == "kernel_layout"
    assert info.value.worded({"kernel_layout": "--kernel-layout"}) == "--kernel-layout must be keras or torch, got 'caffe'"
