"""``convcli explore`` on the command line: its help, its refusals, and the one line for a missing Textual."""

from __future__ import annotations

import sys


def test_without_textual_it_names_the_extra_in_one_line(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual", None)  # `import textual` raises ImportError
    result = cli("explore", "samples/grace_hopper.png")
    assert result.exit_code == 1
    assert result.output == "Error: convcli explore needs the textual package: pip install 'convcli[explore]'\n"


def test_its_help_names_the_keys_options(cli):
    result = cli("explore", "--help")
    assert result.exit_code == 0
    assert "--filter" in result.output and "--at" in result.output and "--model" in result.output


def test_a_filter_that_does_not_exist_is_bad_usage(cli):
    result = cli("explore", "samples/grace_hopper.png", "-f", "2", "--filter", "5")
    assert result.exit_code == 2
    assert "--filter 5 does not exist: the layer has 2 (0..1)" in result.output


def test_a_position_outside_the_output_is_refused_before_the_run(cli):
    result = cli("explore", "samples/grace_hopper.png", "--at", "500,1")
    assert result.exit_code == 1
    assert "outside the 148×126 output" in result.output


def test_an_unknown_precision_or_an_adder_it_cannot_have_is_bad_usage(cli):
    result = cli("explore", "samples/grace_hopper.png", "--precision", "fp8")
    assert result.exit_code == 2 and "--precision" in result.output
    result = cli("explore", "samples/grace_hopper.png", "--precision", "tf32", "--accumulate", "fp16")
    assert result.exit_code == 2 and "--accumulate" in result.output and "--precision" in result.output
