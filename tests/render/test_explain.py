"""`convcli explain`: the lesson in every language it speaks, its numbers computed by the engine."""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np
import pytest

from convcli.render import explain, explain_texts

from helpers import draw
from helpers import invoke as convcli


def invoke(*args: str, width: int = 100):
    return convcli("explain", *args, columns=width)


def numbers(text: str) -> Counter:
    return Counter(re.findall(r"\d+(?:\.\d+)?", text))


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_key_numbers_in_every_language(lang: str):
    r = invoke("--lang", lang)
    assert r.exit_code == 0, r.output
    out = r.stdout
    # section 1: the partial sums 4, 400, 40000 side by side, and their sum 40404
    assert "│ 4  4 │ + │ 400  400 │ + │ 40000  40000 │ + │ 0  0 │ = │ 40404  40404 │" in out
    assert "4 + 400 + 40000 + 0 = 40404" in out
    # section 2: 13 parameters, not 5
    assert "2·2·3·1 + 1 = 13" in out
    assert "2·2·1 + 1 = 5" in out
    assert "40404" in out and "404 " in out  # the output before and after changing the channel weights
    # section 3: depthwise keeps 4 / 400 / 40000 apart; mean and max are shown as what Conv2D does not do
    assert "13468  13468" in out and "40000  40000" in out
    # section 4: Conv2D 2×2×1 against Conv3D 2×2×2×1 (depth 0: 4 + 400, depth 1: 400 + 40000)
    assert "2×2×2×1" in out and "404  404" in out and "40400  40400" in out
    # section 7: a transposed layer's scatter at output (2, 2): four copies per channel, the same channel sum
    assert "10000 · 1 = 10000" in out
    assert len(re.findall(r"^ \(0, 0\) +\(2, 2\) +1 · 1 = 1 +100 · 1 = 100 +10000 · 1 = 10000 *$", out, re.M)) == 1
    lines = out.splitlines()
    assert 60 <= len(lines) <= 150
    assert max(len(line) for line in lines) <= 100


def test_numbers_identical_across_languages():
    outputs = {lang: invoke("--lang", lang).stdout for lang in explain_texts.LANGS}
    counted = {lang: numbers(text) for lang, text in outputs.items()}
    assert all(counted[lang] == counted["en"] for lang in explain_texts.LANGS)
    assert len(set(outputs.values())) == len(explain_texts.LANGS)  # but the words differ
    assert "агрегация" in outputs["ru"] and "합성곱" in outputs["ko"] and "聚合" in outputs["zh"]


def test_texts_table_is_complete():
    """Every text exists in every language, with the same placeholders and no typed-in digits."""
    for key, texts in explain_texts.TEXTS.items():
        assert len(texts) == len(explain_texts.LANGS), key
        fields = [sorted(f for _, f, _, _ in string.Formatter().parse(t) if f) for t in texts]
        assert all(t.strip() for t in texts), key
        assert all(f == fields[0] for f in fields), key
        digits = [Counter(re.findall(r"\d+", re.sub(r"\{\w+\}", "", t))) for t in texts]
        assert all(d == digits[0] for d in digits), key


def test_numbers_are_computed_not_typed():
    """A different example changes every result on the screen."""
    example = explain.compute((2.0, 3.0, 5.0))
    out = draw(explain.lesson("en", None, example))
    assert "8 + 12 + 20 + 0 = 40" in out  # 2·4, 3·4, 5·4
    assert "40404" not in out and "13468" not in out
    assert "from 40 to 20" in out  # B's slice set to 0: 8 + 12
    mean = float(example.depthwise.output[..., :].mean(axis=-1)[0, 0])
    assert mean == pytest.approx(40 / 3)
    np.testing.assert_allclose(example.depthwise.output.sum(axis=-1), example.result.preactivation[..., 0])


@pytest.mark.parametrize("step, heading, present, absent", [
    (1, "1 · What is the aggregation", "40404", "2 · Is one"),
    (2, "2 · Is one 2-D kernel shared", "= 13", "1 · What"),
    (3, "3 · Can I control the aggregation", "13468", "4 · Why"),
    (4, "4 · Why is it called 2-D", "40400", "3 · Can"),
    (5, "5 · How can I know for sure", "convcli params -c 3 -f 1 -k 2", "4 · Why"),
    (6, "6 · Why does my GPU give other numbers", "39936", "5 · How"),
    (7, "7 · How does a transposed convolution add up the channels", "4 + 400 + 40000 + 0 = 40404", "6 · Why"),
])
def test_step_shows_one_section(step: int, heading: str, present: str, absent: str):
    r = invoke("--step", str(step))
    assert r.exit_code == 0, r.output
    assert heading in r.stdout and present in r.stdout and absent not in r.stdout
    assert "convcli explain ·" not in r.stdout  # the title belongs to the whole lesson


def test_step_in_russian_and_korean():
    ru = invoke("--lang", "ru", "--step", "2").stdout
    ko = invoke("--lang", "ko", "--step", "2").stdout
    assert "2 · Одно ли 2-D ядро на все каналы?" in ru and "= 13" in ru and "= 5" in ru
    assert "2 · 2-D 커널 하나를" in ko and "= 13" in ko and "= 5" in ko


@pytest.mark.parametrize("args", [["--step", "0"], ["--step", str(explain_texts.SECTIONS + 1)], ["--lang", "de"]])
def test_bad_options(args: list[str]):
    r = invoke(*args)
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_fits_80_columns(lang: str):
    r = invoke("--lang", lang, width=80)
    assert r.exit_code == 0
    from rich.cells import cell_len

    lines = r.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert "…" not in r.stdout
    assert 60 <= len(lines) <= 175  # seven sections (the seventh, the transposed conv's sum, about 25 lines)


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_the_proof_step_names_verify(lang: str):
    """Step 5 ("How can I know for sure?") offers convcli's strongest answer: the frameworks themselves."""
    out = invoke("--lang", lang, "--step", "5", width=120).stdout
    assert "convcli verify samples/textbook.npy -k 2 --init ones --activation relu" in out
    assert "PyTorch" in out and "Keras" in out


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_the_control_step_says_groups_is_conv2ds_own_argument(lang: str):
    """Step 3 must not say "not in Conv2D" and then use groups: groups= is an argument of Conv2D itself."""
    out = invoke("--lang", lang, "--step", "3", width=120).stdout
    assert "Conv2D" in out and "groups=" in out and "groups = C = 3" in out
    assert "Not in Conv2D" not in out


@pytest.mark.parametrize("lang", explain_texts.LANGS)
def test_the_gpu_step_shows_bfloat16_and_tf32_from_the_engine(lang: str):
    """Step 6: 10000 stored as 9984 in bfloat16, its partial 40000 as 39936, the total 40404 as 40448;
    TF32 keeps the textbook's numbers and moves one with more digits."""
    out = invoke("--lang", lang, "--step", "6", width=120).stdout
    assert "10000 → 9984" in out and "40000" in out and "39936" in out
    assert "4 + 400 + 39936 + 0 = 40340" in re.sub(r"\s+", " ", out)  # the sum may wrap
    assert re.search(r"40404 +40448 +\+44", out)  # float64 beside bfloat16, and their difference
    assert "+108" in out and "-64" in out  # the store and channel B's rounding
    assert "10003" in out and "TF32" in out and "allow_tf32 = False" in out
    assert "bfloat16" in out and "float16" in out


def test_the_gpu_step_numbers_are_computed():
    example = explain.compute((2.0, 3.0, 5.0))  # every value fits bfloat16: the step says they agree
    out = draw(explain.lesson("en", 6, example))
    assert "5 is stored as 5" in out and "gives 40, where float64 gives 40" in out
    assert "bfloat16 gives the float64 result here." in out
    assert "5.001 becomes 5" in out  # 3/8 of a TF32 place (2⁻⁸) above 5


def test_the_step_bound_is_the_number_of_sections():
    assert explain_texts.SECTIONS == len(explain.SECTION_BUILDERS)
    assert invoke("--step", str(explain_texts.SECTIONS)).exit_code == 0
