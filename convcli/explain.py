"""`convcli explain`: the questions people ask about multi-channel convolution, answered with numbers
the engine computes while the lesson is built (nothing on the screen is a typed-in result).

The texts live in one table, :data:`TEXTS`: a key, then the English, Russian and Korean text. Every
number in a text is a ``{placeholder}`` filled from the same computed values in each language, so
the three lessons differ only in words. The layouts come from :mod:`convcli.render`, the same
renderers ``convcli run`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from convcli import engine, render
from convcli.errors import ConfigError

LANGS = ("en", "ru", "ko")
SECTIONS = 5

#: key -> (English, Russian, Korean). Numbers only through {placeholders}, never typed in.
TEXTS: dict[str, tuple[str, str, str]] = {
    "title": (
        "convcli explain · how Conv2D combines the channels of its input · every number computed now",
        "convcli explain · как Conv2D объединяет каналы входа · все числа вычислены сейчас",
        "convcli explain · Conv2D가 입력 채널을 합치는 방법 · 모든 숫자는 지금 계산됨",
    ),
    "q1": (
        "What is the aggregation across channels?",
        "Что такое агрегация по каналам?",
        "채널 간 집계(aggregation)란 무엇인가?",
    ),
    "setup": (
        "The textbook example: a {h}×{w} RGB image whose channels hold {v0}, {v1} and {v2}; one filter "
        "with a {kh}×{kw} kernel whose weights are all {one}, no padding, stride {s}, {act}, bias {b}.",
        "Пример из учебника: RGB-изображение {h}×{w}, каналы которого содержат {v0}, {v1} и {v2}; один "
        "фильтр с ядром {kh}×{kw}, все веса которого равны {one}, без паддинга, шаг {s}, {act}, смещение {b}.",
        "교과서 예제: 채널 값이 {v0}, {v1}, {v2}인 {h}×{w} RGB 이미지; 가중치가 모두 {one}인 {kh}×{kw} "
        "커널을 가진 필터 하나, 패딩 없음, 스트라이드 {s}, {act}, 편향 {b}.",
    ),
    "input": (
        "the input, one {h}×{w} grid per channel",
        "вход: по сетке {h}×{w} на канал",
        "입력: 채널마다 {h}×{w} 격자 하나",
    ),
    "sum": (
        "Each channel is cross-correlated with its own {kh}×{kw} slice of the {kh}×{kw}×{c} kernel, giving "
        "{p0}, {p1} and {p2}. Conv2D then adds them and the bias: {p0} + {p1} + {p2} + {b} = {out} at every "
        "position, and {act} keeps {y}.",
        "Каждый канал проходит взаимную корреляцию со своим срезом {kh}×{kw} ядра {kh}×{kw}×{c}: получаем "
        "{p0}, {p1} и {p2}. Затем Conv2D складывает их и смещение: {p0} + {p1} + {p2} + {b} = {out} в каждой "
        "позиции, и {act} оставляет {y}.",
        "각 채널은 {kh}×{kw}×{c} 커널 중 자기 몫의 {kh}×{kw} 슬라이스와 교차상관됩니다 (결과 {p0}, {p1}, "
        "{p2}). 그다음 Conv2D가 이 값들과 편향을 더합니다: 모든 위치에서 {p0} + {p1} + {p2} + {b} = {out}, "
        "{act} 적용 후 {y}.",
    ),
    "formula": (
        "In general, for output position (i, j) and filter f (s stride, d dilation, x zero-padded):",
        "В общем виде, для позиции выхода (i, j) и фильтра f (s шаг, d дилатация, x дополнен нулями):",
        "일반식, 출력 위치 (i, j)와 필터 f에 대해 (s 스트라이드, d 팽창, x는 제로 패딩됨):",
    ),
    "q2": (
        "Is one 2-D kernel shared by all channels?",
        "Одно ли 2-D ядро на все каналы?",
        "2-D 커널 하나를 모든 채널이 공유하는가?",
    ),
    "no_shared": (
        "No: every filter has a separate {kh}×{kw} slice for each of the {c} input channels.",
        "Нет: у каждого фильтра свой срез {kh}×{kw} для каждого из {c} входных каналов.",
        "아닙니다. 각 필터는 {c}개 입력 채널마다 별도의 {kh}×{kw} 슬라이스를 가집니다.",
    ),
    "params_real": ("parameters of this layer", "параметры этого слоя", "이 층의 파라미터"),
    "params_shared": (
        "if one 2-D kernel were shared",
        "если бы 2-D ядро было общим",
        "2-D 커널 하나를 공유한다면",
    ),
    "demo": (
        "Fill the R, G and B slices with {wr}, {wg} and {wb} instead, and the output changes from {out} to "
        "{out2}. One shared 2-D kernel could not weigh the channels differently:",
        "Заполним срезы R, G и B числами {wr}, {wg} и {wb}, и выход изменится с {out} на {out2}. Одно "
        "общее 2-D ядро не смогло бы взвесить каналы по-разному:",
        "R, G, B 슬라이스 값을 각각 {wr}, {wg}, {wb}(으)로 바꾸면 출력이 {out}에서 {out2}(으)로 바뀝니다. "
        "공유된 2-D 커널 하나로는 채널마다 다른 가중치를 줄 수 없습니다:",
    ),
    "q3": (
        "Can I control the aggregation?",
        "Можно ли управлять агрегацией?",
        "집계 방식을 바꿀 수 있는가?",
    ),
    "always_sums": (
        "Not in Conv2D: it always sums the channels, with learned weights. A depthwise convolution "
        "(groups = C = {c}, {dw_params} parameters) gives each channel its own filter and keeps the "
        "results apart:",
        "Не в Conv2D: он всегда суммирует каналы, с обучаемыми весами. Depthwise-свёртка (groups = C = {c}, "
        "параметров: {dw_params}) даёт каждому каналу свой фильтр и не смешивает результаты:",
        "Conv2D 안에서는 안 됩니다. 항상 학습된 가중치로 채널을 더하기 때문입니다. depthwise 합성곱 "
        "(groups = C = {c}, 파라미터 {dw_params}개)은 채널마다 자기 필터를 주고 결과를 따로 둡니다:",
    ),
    "alone": ("{name} alone", "только {name}", "{name}만"),
    "other": (
        "What other aggregations of these {c} results would give, computed here:",
        "Что дали бы другие агрегации этих {c} результатов (вычислено здесь):",
        "이 {c}개 결과를 다르게 집계하면 (여기서 계산):",
    ),
    "agg_sum": ("sum = Conv2D ✓", "сумма = Conv2D ✓", "합 = Conv2D ✓"),
    "agg_mean": ("mean: NOT Conv2D", "среднее: НЕ Conv2D", "평균: Conv2D 아님"),
    "agg_max": ("max: NOT Conv2D", "максимум: НЕ Conv2D", "최댓값: Conv2D 아님"),
    "howto": (
        "Other weights per channel: a 1×1 conv after the depthwise one (that is SeparableConv2D), still a "
        "weighted sum. A mean is a sum with weights 1/C; a max is a reduction across channels "
        "(keras.ops.max(x, axis=-1)), not a conv layer.",
        "Другие веса каналов: свёртка 1×1 после depthwise (это SeparableConv2D), всё равно взвешенная "
        "сумма. Среднее — сумма с весами 1/C; максимум — редукция по каналам (keras.ops.max(x, axis=-1)), "
        "а не свёрточный слой.",
        "채널별 다른 가중치: depthwise 뒤에 1×1 합성곱 (그것이 SeparableConv2D), 여전히 가중합입니다. "
        "평균은 가중치 1/C인 합이고, 최댓값은 합성곱 층이 아니라 채널 축 축소 "
        "(keras.ops.max(x, axis=-1))입니다.",
    ),
    "q4": (
        "Why is it called 2-D when the kernel is 3-D?",
        "Почему свёртка 2-D, если ядро 3-D?",
        "커널이 3-D인데 왜 2-D 합성곱인가?",
    ),
    "two_axes": (
        "The Conv2D kernel is {kh}×{kw}×{c}, but its depth always equals the number of channels, so it "
        "slides along two axes only. A Conv3D sees the channels as the depth of a one-channel volume; "
        "its {kh}×{kw}×{kd} kernel slides along depth too, giving one result per depth position:",
        "Ядро Conv2D имеет размер {kh}×{kw}×{c}, но его глубина всегда равна числу каналов, поэтому оно "
        "сдвигается только по двум осям. Conv3D видит в каналах глубину одноканального объёма; его ядро "
        "{kh}×{kw}×{kd} сдвигается и по глубине и даёт по результату на каждую позицию глубины:",
        "Conv2D 커널은 {kh}×{kw}×{c}이지만 깊이가 항상 채널 수와 같아서 두 축으로만 움직입니다. Conv3D는 "
        "채널을 단일 채널 볼륨의 깊이로 보고, {kh}×{kw}×{kd} 커널이 깊이 방향으로도 움직여 깊이 위치마다 "
        "결과를 하나씩 냅니다:",
    ),
    "col_layer": ("layer", "слой", "층"),
    "col_input": ("input", "вход", "입력"),
    "col_kernel": ("kernel", "ядро", "커널"),
    "col_slides": ("slides along", "сдвигается по", "이동 축"),
    "col_output": ("output", "выход", "출력"),
    "axes2": ("height, width", "высота, ширина", "높이, 너비"),
    "axes3": ("height, width, depth", "высота, ширина, глубина", "높이, 너비, 깊이"),
    "depth": ("Conv3D, depth {z}", "Conv3D, глубина {z}", "Conv3D, 깊이 {z}"),
    "q5": ("How can I know for sure?", "Как убедиться самому?", "확실히 알려면?"),
    "prove": (
        "Compute the same on your own data; every command shows what it computed:",
        "Посчитайте то же на своих данных; каждая команда показывает, что вычислила:",
        "같은 계산을 자기 데이터로 해 보세요. 각 명령은 계산한 것을 보여 줍니다:",
    ),
    "cmd_run": (
        "this example, with the partial sums of section {n}",
        "этот пример с частичными суммами из раздела {n}",
        "이 예제, 부분합은 {n}절과 같음",
    ),
    "cmd_trace": (
        "your image: every product behind one output position",
        "ваше изображение: все произведения для одной позиции выхода",
        "내 이미지: 출력 위치 하나를 만드는 모든 곱",
    ),
    "cmd_save": (
        "every array, to compare with Keras or PyTorch",
        "все массивы, чтобы сравнить с Keras или PyTorch",
        "모든 배열: Keras나 PyTorch와 비교용",
    ),
    "cmd_params": (
        "the {total} parameters of section {n}, as Keras' count_params()",
        "{total} параметров из раздела {n}, как count_params() в Keras",
        "{n}절의 파라미터 {total}개, Keras count_params()와 같음",
    ),
    "cmd_tests": (
        "convcli against stored Keras and PyTorch results",
        "convcli против сохранённых результатов Keras и PyTorch",
        "convcli와 저장된 Keras·PyTorch 결과 비교",
    ),
}


def text(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang`` with its placeholders filled."""
    return TEXTS[key][LANGS.index(lang)].format(**values)


# ------------------------------------------------------------------------------------------------
# The computed example


@dataclass(frozen=True)
class Example:
    """Everything the lesson shows, computed once by the engine."""

    x: np.ndarray  # (H, W, C) the textbook image
    names: tuple[str, ...]
    values: tuple[float, ...]  # what each channel holds
    activation: str
    result: engine.LayerResult  # the textbook Conv2D
    changed: engine.LayerResult  # the same with different weights per channel
    channel_weights: tuple[float, ...]
    depthwise: engine.LayerResult  # groups = C
    kd: int  # depth of the Conv3D kernel
    conv3d: np.ndarray  # (H', W', D') a Conv3D over the channels as depth


def compute(values: tuple[float, float, float] = (1.0, 100.0, 10000.0)) -> Example:
    """The textbook example (channels holding ``values``) and its variations, through the engine."""
    names = ("R", "G", "B")
    h = w = 3
    kh = kw = 2
    activation = "relu"
    x = np.stack([np.full((h, w), v, dtype=np.float32) for v in values], axis=-1)
    c = x.shape[2]

    def run(kernel: np.ndarray, groups: int = 1, act: str = activation) -> engine.LayerResult:
        layer = engine.prepare(x, kernel, groups=groups)
        rows, cols = engine.choose_window(layer.geometry.out_hw, None, None)
        return engine.run_layer(layer, 0.0, act, rows, cols)

    ones = np.ones((kh, kw, c, 1))
    channel_weights = (1.0, 1.0, 0.0)
    changed = ones * np.array(channel_weights).reshape(1, 1, c, 1)
    kd = 2
    depth_out = engine.output_shape((c, 1), (kd, 1))[0]
    conv3d = np.stack(
        [engine.conv2d(x[:, :, z : z + kd], np.ones((kh, kw, kd, 1)))[:, :, 0] for z in range(depth_out)], axis=-1
    )
    return Example(
        x=x,
        names=names,
        values=values,
        activation=activation,
        result=run(ones),
        changed=run(changed),
        channel_weights=channel_weights,
        depthwise=run(np.ones((kh, kw, 1, c)), groups=c, act="linear"),
        kd=kd,
        conv3d=conv3d,
    )


# ------------------------------------------------------------------------------------------------
# The sections

FORMULA = "out[i, j, f] = b[f] + Σ_c Σ_u Σ_v x[i·s + u·d, j·s + v·d, c] · w[u, v, c, f]"


def _heading(n: int, key: str, lang: str) -> Rule:
    return Rule(Text(f"{n} · {text(key, lang)}", style="bold"), align="left", style="cyan")


def _para(s: str) -> Text:
    return Text(s)


def _act(ex: Example) -> str:
    return {"relu": "ReLU"}.get(ex.activation, ex.activation)


def _fmt(v: float) -> str:
    return render.fmt(float(v))


def section_aggregation(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    g = r.layer.geometry
    (h, w), (kh, kw), c = g.in_hw, g.kernel_hw, r.layer.cg
    partials = r.window_partials[0, 0, :, 0]
    grids = [render.number_grid(ex.x[:, :, i], ex.names[i]) for i in range(c)]
    values = dict(h=h, w=w, kh=kh, kw=kw, c=c, s=g.stride[0], act=_act(ex), b=_fmt(r.bias[0]),
                  one=_fmt(r.layer.kernel.max()),
                  v0=_fmt(ex.values[0]), v1=_fmt(ex.values[1]), v2=_fmt(ex.values[2]),
                  p0=_fmt(partials[0]), p1=_fmt(partials[1]), p2=_fmt(partials[2]),
                  out=_fmt(r.preactivation[0, 0, 0]), y=_fmt(r.output[0, 0, 0]))
    return [
        _heading(1, "q1", lang),
        _para(text("setup", lang, **values)),
        Text(text("input", lang, **values), style=render.LABEL),
        render.Flow(grids, gap=2),
        render.filter_panel(r, 0, ex.names),
        _para(text("sum", lang, **values)),
        Text(text("formula", lang), style="dim"),
        Text("  " + FORMULA, style="bold"),
    ]


def section_separate_slices(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    kh, kw, c, f = r.layer.kernel.shape
    shared_w, shared_b = engine.param_count((kh, kw, 1, f))
    shared = Text(f"{kh}·{kw}·{f} + {f} = ")
    shared.append(f"{shared_w + shared_b:,}", style="bold")
    shared.append("   (kh·kw·F + F)", style="dim")
    counts = render.key_values(
        [
            (text("params_real", lang), render.param_formula(r.layer.kernel.shape, r.layer.groups, r.use_bias)),
            (text("params_shared", lang), shared),
        ]
    )
    values = dict(kh=kh, kw=kw, c=c, wr=_fmt(ex.channel_weights[0]), wg=_fmt(ex.channel_weights[1]),
                  wb=_fmt(ex.channel_weights[2]), out=_fmt(r.output[0, 0, 0]),
                  out2=_fmt(ex.changed.output[0, 0, 0]))
    return [
        _heading(2, "q2", lang),
        _para(text("no_shared", lang, **values)),
        counts,
        _para(text("demo", lang, **values)),
        render.filter_panel(ex.changed, 0, ex.names),
    ]


def section_control(ex: Example, lang: str) -> list[RenderableType]:
    dw = ex.depthwise
    c = dw.layer.filters
    weights, biases = engine.param_count(dw.layer.kernel.shape, dw.use_bias)
    per_channel = [render.number_grid(dw.output[:, :, i], text("alone", lang, name=ex.names[i])) for i in range(c)]
    # what Conv2D would have to compute instead: reductions of the kept-apart channels
    stacked = dw.output.astype(np.float64)
    aggregations = [
        ("agg_sum", stacked.sum(axis=-1), "green"),
        ("agg_mean", stacked.mean(axis=-1), "red"),
        ("agg_max", stacked.max(axis=-1), "red"),
    ]
    agg_items: list[RenderableType] = [
        Group(Text(text(key, lang), style=style), render.number_grid(values)) for key, values, style in aggregations
    ]
    return [
        _heading(3, "q3", lang),
        _para(text("always_sums", lang, c=c, dw_params=weights + biases)),
        render.Flow(per_channel, gap=2),
        Text(text("other", lang, c=c), style=render.LABEL),
        render.Flow(agg_items, gap=3),
        _para(text("howto", lang)),
    ]


def section_why_2d(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    (h, w), (kh, kw) = r.layer.geometry.in_hw, r.layer.geometry.kernel_hw
    c, f = r.layer.x.shape[2], r.layer.filters
    ho, wo = r.layer.geometry.out_hw
    depth_out = ex.conv3d.shape[2]
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for key in ("col_layer", "col_input", "col_kernel", "col_slides", "col_output"):
        table.add_column(text(key, lang), no_wrap=key != "col_slides")
    table.add_row("Conv2D", render.shape_text((h, w, c)), render.shape_text((kh, kw, c)), text("axes2", lang),
                  render.shape_text((ho, wo, f)))
    table.add_row("Conv3D", render.shape_text((h, w, c, 1)), render.shape_text((kh, kw, ex.kd)),
                  text("axes3", lang), render.shape_text((*ex.conv3d.shape[:2], depth_out, 1)))
    grids = [render.number_grid(ex.conv3d[:, :, z], text("depth", lang, z=z)) for z in range(depth_out)]
    conv2d_grid = render.number_grid(r.preactivation[:, :, 0], "Conv2D")
    return [
        _heading(4, "q4", lang),
        _para(text("two_axes", lang, kh=kh, kw=kw, c=c, kd=ex.kd)),
        table,
        render.Flow([conv2d_grid, *grids], gap=3),
    ]


def section_prove(ex: Example, lang: str) -> list[RenderableType]:
    r = ex.result
    kh = r.layer.geometry.kernel_hw[0]
    weights, biases = engine.param_count(r.layer.kernel.shape, r.use_bias)
    c, f = r.layer.x.shape[2], r.layer.filters
    commands = [
        (f"convcli run samples/textbook.npy -k {kh} --init ones --activation {ex.activation}",
         text("cmd_run", lang, n=1)),
        ("convcli run photo.png --trace 40,60", text("cmd_trace", lang)),
        ("convcli run photo.png -f 4 --save out.npz", text("cmd_save", lang)),
        (f"convcli params -c {c} -f {f} -k {kh}", text("cmd_params", lang, total=weights + biases, n=2)),
        ("pytest tests/test_golden.py tests/test_params.py", text("cmd_tests", lang)),
    ]
    lines: list[RenderableType] = [_heading(5, "q5", lang), _para(text("prove", lang))]
    for cmd, what in commands:
        lines.append(Text.assemble("  $ ", (cmd, render.OPERATOR)))
        lines.append(Text("      " + what, style="dim"))
    return lines


SECTION_BUILDERS: tuple[Callable[[Example, str], list[RenderableType]], ...] = (
    section_aggregation,
    section_separate_slices,
    section_control,
    section_why_2d,
    section_prove,
)


def lesson(lang: str = "en", step: int | None = None, example: Example | None = None) -> list[RenderableType]:
    """The renderables of the lesson in ``lang``: all five sections, or only section ``step`` (1-based).

    ``example`` defaults to :func:`compute`'s textbook example.
    """
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}; choose from {', '.join(LANGS)}")
    if step is not None and not 1 <= step <= len(SECTION_BUILDERS):
        raise ConfigError(f"--step must be 1 to {len(SECTION_BUILDERS)}, got {step}")
    ex = example if example is not None else compute()
    if step is not None:
        return SECTION_BUILDERS[step - 1](ex, lang)
    parts: list[RenderableType] = [Text(text("title", lang), style="bold")]
    for build in SECTION_BUILDERS:
        parts.extend(build(ex, lang))
    return parts
