"""The process ends at once after a framework was loaded (cli/exits.py): same output, same exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from convcli.cli import exits

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("code", "status", "said"), [(None, 0, ""), (0, 0, ""), (2, 2, ""), ("no such file", 1, "no such file\n")])
def test_leave_keeps_sys_exits_meaning(monkeypatch, capsys, code, status, said):
    ended: list[int] = []
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch", object()))  # as if torch were loaded
    monkeypatch.setattr(exits.os, "_exit", ended.append)
    ran: list[bool] = []
    monkeypatch.setattr(exits.atexit, "_run_exitfuncs", lambda: ran.append(True))
    exits.leave(code)
    assert ended == [status] and ran == [True]
    assert capsys.readouterr().err == said


def test_leave_exits_as_usual_without_a_framework(monkeypatch):
    for name in exits.HEAVY:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(exits.os, "_exit", lambda status: pytest.fail("os._exit without a framework"))
    with pytest.raises(SystemExit) as info:
        exits.leave(3)
    assert info.value.code == 3


_WITH_A_FRAMEWORK = """
import sys
sys.modules.setdefault("onnxruntime", type(sys)("onnxruntime"))  # a loaded framework, without the wait
from convcli.cli import main
sys.argv = ["convcli", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("args", "status", "out", "err"), [
    (["params", "--in-channels", "3", "-k", "2", "--filters", "1"], 0, "13", ""),
    (["params", "--in-channels", "0"], 2, "", "Error: "),
    (["run", "no-such-file.png"], 1, "", "Error: no-such-file.png"),
])
def test_the_process_says_everything_and_exits_with_its_code(tmp_path: Path, args, status, out, err):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", _WITH_A_FRAMEWORK, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == status, done.stderr
    assert out in done.stdout
    assert done.stderr.startswith(err) and done.stderr.count("\n") <= 1
    plain = subprocess.run([sys.executable, "-m", "convcli", *args], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert (plain.returncode, plain.stdout, plain.stderr) == (done.returncode, done.stdout, done.stderr)
