"""--help as a newcomer reads it: no value shown for a flag, choice lists unbroken at 80 columns,
a bare command answered with its help alone, a near-miss choice answered with the nearest ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from typer.core import TyperOption

from convcli.cli import helptext
from convcli.cli.options import Activation, Init

from helpers import ROOT


def convcli(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT)


def test_the_wrapped_typer_method_is_still_there():
    # helptext wraps TyperOption.display_type_rich; a Typer without it would silently show <bool> again
    assert helptext._TYPER_DISPLAY.__name__ == "display_type_rich"
    assert TyperOption.display_type_rich is helptext._display


@pytest.mark.parametrize("command", ["run", "verify", "params", "explain"])
def test_flags_show_no_value_in_help(command: str):
    out = convcli(command, "--help").stdout
    assert "<bool>" not in out
    assert re.search(r"--force\s+Replace existing", out) or command == "verify"


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_every_choice_is_printed_whole(columns: int):
    out = convcli("run", "--help", columns=columns).stdout
    words = set(re.findall(r"[\w-]+", out))
    for choice in [*(a.value for a in Activation), *(i.value for i in Init)]:
        assert choice in words, (choice, columns)


@pytest.mark.parametrize("args", [["run"], ["verify"], ["params"], []])
def test_a_bare_command_prints_its_help_and_no_empty_error(args: list[str]):
    r = convcli(*args)
    assert r.returncode == 2
    assert "Usage: convcli" in r.stdout
    assert "Error" not in r.stderr and "Error" not in r.stdout


def test_a_near_miss_choice_names_the_nearest():
    r = convcli("run", "samples/textbook.npy", "--activation", "rellu")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "did you mean 'relu'" in lines[0]
    assert "Value error" not in lines[0]


def test_usage_message_leaves_a_far_value_alone():
    msg = "Invalid value for '--dtype': 'int8' is not one of 'float32', 'float64'."
    assert helptext.usage_message(msg) == msg
    assert helptext.usage_message("Value error, x") == "x"


@pytest.mark.parametrize("command", ["run", "verify", "params", "layers", "explain", "report"])
def test_no_help_text_is_cut_mid_word_at_80_columns(command: str):
    r = convcli(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout, [line for line in r.stdout.splitlines() if "…" in line]


def test_run_help_ends_with_examples_that_run():
    import shlex

    from convcli.cli.run import EXAMPLES

    from helpers import invoke

    text = convcli("run", "--help").stdout
    tail = text[text.index("Examples"):]
    assert all(command in tail for command, _ in EXAMPLES)
    assert 3 <= len(EXAMPLES) <= 5 and max(len(command) for command, _ in EXAMPLES) <= 78  # one line at 80
    for command, _ in EXAMPLES:
        args = shlex.split(command.split(" > ")[0])[2:]
        r = invoke("run", *(ROOT / a if a.startswith("samples/") else a for a in args))
        assert r.exit_code == 0, (command, r.output)
