"""The words of `convcli explain`: a key, then the English, Russian and Korean text.

Every number in a text is a ``{placeholder}`` filled from the same computed values in each language,
so the three lessons differ only in words. Plain strings: no rich, no numpy.
"""

from __future__ import annotations

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


#: The words of the run panels the lesson shows (convcli.render.run.PanelLabels' fields), per
#: language; English is PanelLabels' own default. "param_words": weights, biases, no bias.
PANEL_LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "фильтр {f} · смещение {bias} · {activation}",
        "group": " · группа {g} (каналы {first}–{last})",
        "weights": "веса: срез {kh}×{kw} для каждого входного канала",
        "partial_sums": "частичные суммы, строки выхода {rows} × столбцы {cols}{of}: по одной на канал, затем сумма",
        "of_cols": " (из {cols})",
        "bias": "смещение",
        "preactivation": "до активации",
        "output": "выход",
        "others": "Σ ещё {n}",
        "more_channels": "… и ещё {n} каналов",
        "whole_output": "весь выход",
        "stats": "мин {min} · среднее {mean} · макс {max}",
        "channel_shares": "доли каналов",
        "shares_of": "  (от Σ средних |частичных сумм|)",
    },
    "ko": {
        "title": "필터 {f} · 편향 {bias} · {activation}",
        "group": " · 그룹 {g} (채널 {first}–{last})",
        "weights": "가중치: 입력 채널마다 {kh}×{kw} 조각",
        "partial_sums": "부분합, 출력 행 {rows} × 열 {cols}{of}: 채널마다 하나, 그다음 합산",
        "of_cols": " ({cols} 중)",
        "bias": "편향",
        "preactivation": "활성화 전",
        "output": "출력",
        "others": "Σ 나머지 {n}개",
        "more_channels": "… 외 {n}개 채널",
        "whole_output": "전체 출력",
        "stats": "최솟값 {min} · 평균 {mean} · 최댓값 {max}",
        "channel_shares": "채널 비중",
        "shares_of": "  (Σ 평균 |부분합| 대비)",
    },
}
PARAM_WORDS: dict[str, tuple[str, str, str]] = {
    "ru": ("весов", "смещений", "без смещения"),
    "ko": ("가중치", "편향", "편향 없음"),
}
