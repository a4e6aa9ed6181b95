"""The package's layers point one way, and ruff holds the line (each folder's ruff.toml).

Each case asks ruff about one import in a file that does not exist, placed in a package folder
(``--stdin-filename``), so the real configuration decides: a forbidden import must be reported
as TID251 (banned API) or, in cli/, TID253 (banned at module level), an allowed one must pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["layer", "engine", "sources", "verify", "present", "files", "pipeline", "render", "figure", "cli"]


def ruff(path: str, code: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.skip("ruff is not installed (pip install '.[test]' brings it)")
    # only the import rules: an import block this short is not the point
    return subprocess.run([exe, "check", "--no-cache", "--select", "TID", "--stdin-filename", path, "-"],
                          input=code, capture_output=True, text=True, cwd=ROOT)


FORBIDDEN = [
    ("convcli/layer/probe.py", "import numpy\n", "TID251"),
    ("convcli/layer/probe.py", "from convcli.engine import conv2d\n", "TID251"),
    ("convcli/engine/probe.py", "from rich.text import Text\n", "TID251"),
    ("convcli/engine/probe.py", "import typer\n", "TID251"),
    ("convcli/engine/probe.py", "from PIL import Image\n", "TID251"),
    ("convcli/engine/probe.py", "from convcli.present import describe\n", "TID251"),
    ("convcli/sources/probe.py", "from convcli.render import run\n", "TID251"),
    ("convcli/verify/probe.py", "import rich\n", "TID251"),
    ("convcli/present/probe.py", "from rich.console import Console\n", "TID251"),
    ("convcli/present/probe.py", "from PIL import Image\n", "TID251"),
    ("convcli/files/probe.py", "from convcli.render import numbers\n", "TID251"),
    ("convcli/render/probe.py", "from PIL import Image\n", "TID251"),
    ("convcli/render/probe.py", "import typer\n", "TID251"),
    ("convcli/figure/probe.py", "from rich.text import Text\n", "TID251"),
    ("convcli/figure/probe.py", "from convcli.render import run\n", "TID251"),
    ("convcli/pipeline/probe.py", "import typer\n", "TID251"),
    ("convcli/pipeline/probe.py", "from rich.text import Text\n", "TID251"),
    ("convcli/pipeline/probe.py", "from convcli.cli.app import warn\n", "TID251"),
    ("convcli/pipeline/probe.py", "from convcli.render import run\n", "TID251"),
    ("convcli/pipeline/probe.py", "from convcli.figure import draw\n", "TID251"),
    ("convcli/present/probe.py", "from convcli.pipeline import explore\n", "TID251"),
    ("convcli/engine/probe.py", "from convcli.pipeline.run import run\n", "TID251"),
    ("convcli/errors.py", "import rich\n", "TID251"),
    ("convcli/cli/probe.py", "import numpy as np\n", "TID253"),
    ("convcli/cli/probe.py", "from convcli.engine import conv2d\n", "TID253"),
    ("convcli/cli/probe.py", "from rich.console import Console\n", "TID253"),
]

ALLOWED = [
    ("convcli/layer/probe.py", "from convcli.errors import ConfigError\n"),
    ("convcli/engine/probe.py", "import numpy as np\nfrom convcli.layer import geometry\n"),
    ("convcli/sources/probe.py", "from PIL import Image\n"),
    ("convcli/present/probe.py", "import numpy as np\nfrom convcli.engine import conv\n"),
    ("convcli/pipeline/probe.py", "import numpy as np\nfrom convcli.files import writers\nfrom convcli.sources import inputs\n"),
    ("convcli/render/probe.py", "from rich.text import Text\nfrom convcli.present import describe\n"),
    ("convcli/figure/probe.py", "from PIL import Image\nfrom convcli.files import atomic\n"),
    ("convcli/cli/probe.py", "import typer\n\n\ndef f():\n    import numpy as np\n    return np\n"),
]


@pytest.mark.parametrize(("path", "code", "rule"), FORBIDDEN)
def test_a_forbidden_import_fails_the_lint(path: str, code: str, rule: str):
    r = ruff(path, code + "print(locals())\n")
    assert r.returncode == 1, (path, code, r.stdout)
    assert rule in r.stdout, r.stdout


@pytest.mark.parametrize(("path", "code"), ALLOWED)
def test_an_allowed_import_passes_the_lint(path: str, code: str):
    r = ruff(path, code + "print(locals())\n")
    assert r.returncode == 0, (path, code, r.stdout)


def test_every_package_has_its_rules_and_the_tree_passes():
    for pkg in ORDER:
        config = ROOT / "convcli" / pkg / "ruff.toml"
        assert config.is_file(), config
        assert 'extend = "../../pyproject.toml"' in config.read_text()
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    r = subprocess.run([exe, "check", "--no-cache", "convcli"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "convcli").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
