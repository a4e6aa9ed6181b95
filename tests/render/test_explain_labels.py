"""`explain --lang ru|ko` speaks its language in the run panels too; English is unchanged."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from convcli.render.explain_texts import LANGS, PANEL_LABELS, PARAM_WORDS, PRECISION_LABELS
from convcli.render.precision import PrecisionLabels
from convcli.render.run import PanelLabels

from helpers import invoke

ENGLISH = ["filter 0 · bias 0", "weights: a 2×2 slice", "partial sums, output rows", "pre-activation",
           "whole output", "channel shares", "of Σ mean |partial|", "weights + F biases"]


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_no_english_panel_label_in_another_language(lang: str) -> None:
    r = invoke("explain", "--lang", lang, columns=120)
    assert r.exit_code == 0, r.stderr
    for words in ENGLISH:
        assert words not in r.stdout, (lang, words)
    assert PANEL_LABELS[lang]["whole_output"] in r.stdout
    assert f"F {PARAM_WORDS[lang][1]}" in r.stdout


def test_english_is_the_default() -> None:
    r = invoke("explain", "--lang", "en", columns=120)
    for words in ENGLISH:
        assert words in r.stdout


@pytest.mark.parametrize("lang", sorted(PANEL_LABELS))
def test_every_label_translated_with_its_placeholders(lang: str) -> None:
    table = PANEL_LABELS[lang]
    assert set(table) == {f.name for f in fields(PanelLabels)}
    for f in fields(PanelLabels):
        english = set(re.findall(r"\{(\w+)\}", f.default))  # type: ignore[arg-type]
        assert set(re.findall(r"\{(\w+)\}", table[f.name])) == english, (lang, f.name)


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_precision_label_translated_with_its_placeholders(lang: str) -> None:
    table = PRECISION_LABELS[lang]
    assert set(table) == {f.name for f in fields(PrecisionLabels)}
    for f in fields(PrecisionLabels):
        english = set(re.findall(r"\{(\w+)\}", f.default))  # type: ignore[arg-type]
        assert set(re.findall(r"\{(\w+)\}", table[f.name])) == english, (lang, f.name)
    out = invoke("explain", "--lang", lang, "--step", "6", columns=120).stdout
    assert "stored in" not in out and "sum in" not in out and "the largest part" not in out
    assert table["stored_in"].format(storage="bfloat16") in out
