"""The words of `convcli explain`: a key, then its English, Russian, Korean and Simplified Chinese text.

Every number in a text is a ``{placeholder}`` filled from the same computed values in each language,
so the four lessons differ only in words. Plain strings: no rich, no numpy.
"""

from __future__ import annotations

LANGS = ("en", "ru", "ko", "zh")
SECTIONS = 7

#: key -> (English, Russian, Korean, Simplified Chinese). Numbers only through {placeholders}, never typed in.
TEXTS: dict[str, tuple[str, ...]] = {
    "title": (
        "convcli explain · how Conv2D combines the channels of its input · every number computed now",
        "convcli explain · как Conv2D объединяет каналы входа · все числа вычислены сейчас",
        "convcli explain · Conv2D가 입력 채널을 합치는 방법 · 모든 숫자는 지금 계산됨",
        "convcli explain · Conv2D 如何合并输入的各个通道 · 所有数字均为现场计算",
    ),
    "q1": (
        "What is the aggregation across channels?",
        "Что такое агрегация по каналам?",
        "채널 간 집계(aggregation)란 무엇인가?",
        "跨通道的聚合是什么？",
    ),
    "setup": (
        "The textbook example: a {h}×{w} RGB image whose channels hold {v0}, {v1} and {v2}; one filter with "
        "a {kh}×{kw} kernel whose weights are all {one}, no padding, stride {s}, {act}, bias {b}.",
        "Пример из учебника: RGB-изображение {h}×{w}, каналы которого содержат {v0}, {v1} и {v2}; один "
        "фильтр с ядром {kh}×{kw}, все веса которого равны {one}, без паддинга, шаг {s}, {act}, смещение "
        "{b}.",
        "교과서 예제: 채널 값이 {v0}, {v1}, {v2}인 {h}×{w} RGB 이미지; 가중치가 모두 {one}인 {kh}×{kw} 커널을 가진 필터 하나, 패딩 없음, "
        "스트라이드 {s}, {act}, 편향 {b}.",
        "教科书示例：一张 {h}×{w} 的 RGB 图像，三个通道的值分别为 {v0}、{v1} 和 {v2}；一个滤波器，其 {kh}×{kw} 卷积核的权重全为 {one}，无填充，步幅 "
        "{s}，{act}，偏置 {b}。",
    ),
    "input": (
        "the input, one {h}×{w} grid per channel",
        "вход: по сетке {h}×{w} на канал",
        "입력: 채널마다 {h}×{w} 격자 하나",
        "输入：每个通道一个 {h}×{w} 网格",
    ),
    "sum": (
        "Each channel is cross-correlated with its own {kh}×{kw} slice of the {kh}×{kw}×{c} kernel, giving "
        "{p0}, {p1} and {p2}. Conv2D then adds them and the bias: {p0} + {p1} + {p2} + {b} = {out} at every "
        "position, and {act} keeps {y}.",
        "Каждый канал проходит взаимную корреляцию со своим срезом {kh}×{kw} ядра {kh}×{kw}×{c}: получаем "
        "{p0}, {p1} и {p2}. Затем Conv2D складывает их и смещение: {p0} + {p1} + {p2} + {b} = {out} в "
        "каждой позиции, и {act} оставляет {y}.",
        "각 채널은 {kh}×{kw}×{c} 커널 중 자기 몫의 {kh}×{kw} 슬라이스와 교차상관됩니다 (결과 {p0}, {p1}, {p2}). 그다음 Conv2D가 이 값들과 "
        "편향을 더합니다: 모든 위치에서 {p0} + {p1} + {p2} + {b} = {out}, {act} 적용 후 {y}.",
        "每个通道与 {kh}×{kw}×{c} 卷积核中属于它自己的 {kh}×{kw} 切片做互相关，得到 {p0}、{p1} 和 {p2}。然后 Conv2D 把它们与偏置相加：每个位置都是 {p0} "
        "+ {p1} + {p2} + {b} = {out}，{act} 之后为 {y}。",
    ),
    "formula": (
        "In general, for output position (i, j) and filter f (s stride, d dilation, x zero-padded):",
        "В общем виде, для позиции выхода (i, j) и фильтра f (s шаг, d дилатация, x дополнен нулями):",
        "일반식, 출력 위치 (i, j)와 필터 f에 대해 (s 스트라이드, d 팽창, x는 제로 패딩됨):",
        "一般地，对输出位置 (i, j) 和滤波器 f（s 为步幅，d 为膨胀率，x 已补零）：",
    ),
    "q2": (
        "Is one 2-D kernel shared by all channels?",
        "Одно ли 2-D ядро на все каналы?",
        "2-D 커널 하나를 모든 채널이 공유하는가?",
        "所有通道共用一个 2-D 卷积核吗？",
    ),
    "no_shared": (
        "No: every filter has a separate {kh}×{kw} slice for each of the {c} input channels.",
        "Нет: у каждого фильтра свой срез {kh}×{kw} для каждого из {c} входных каналов.",
        "아닙니다. 각 필터는 {c}개 입력 채널마다 별도의 {kh}×{kw} 슬라이스를 가집니다.",
        "不是：每个滤波器为 {c} 个输入通道中的每一个都准备了单独的 {kh}×{kw} 切片。",
    ),
    "params_real": ("parameters of this layer", "параметры этого слоя", "이 층의 파라미터", "这一层的参数"),
    "params_shared": (
        "if one 2-D kernel were shared",
        "если бы 2-D ядро было общим",
        "2-D 커널 하나를 공유한다면",
        "如果共用一个 2-D 卷积核",
    ),
    "demo": (
        "Fill the R, G and B slices with {wr}, {wg} and {wb} instead, and the output changes from {out} to "
        "{out2}. One shared 2-D kernel could not weigh the channels differently:",
        "Заполним срезы R, G и B числами {wr}, {wg} и {wb}, и выход изменится с {out} на {out2}. Одно общее "
        "2-D ядро не смогло бы взвесить каналы по-разному:",
        "R, G, B 슬라이스 값을 각각 {wr}, {wg}, {wb}(으)로 바꾸면 출력이 {out}에서 {out2}(으)로 바뀝니다. 공유된 2-D 커널 하나로는 채널마다 다른 "
        "가중치를 줄 수 없습니다:",
        "把 R、G、B 切片分别改成 {wr}、{wg} 和 {wb}，输出就从 {out} 变为 {out2}。共用的一个 2-D 卷积核无法给各通道不同的权重：",
    ),
    "q3": (
        "Can I control the aggregation?",
        "Можно ли управлять агрегацией?",
        "집계 방식을 바꿀 수 있는가?",
        "我能控制这种聚合吗？",
    ),
    "always_sums": (
        "Not by another operation: Conv2D always sums the channels a filter reads, with learned weights. "
        "What you choose is which channels each filter reads: Conv2D's own groups= argument splits them "
        "into groups. With groups = C = {c} (a depthwise convolution, {dw_params} parameters) each channel "
        "gets its own filter and the results stay apart:",
        "Не другой операцией: Conv2D всегда суммирует каналы, которые читает фильтр, с обучаемыми весами. "
        "Выбрать можно, какие каналы читает каждый фильтр: собственный аргумент Conv2D groups= делит их на "
        "группы. При groups = C = {c} (depthwise-свёртка, параметров: {dw_params}) у каждого канала свой "
        "фильтр, и результаты не смешиваются:",
        "다른 연산으로 바꿀 수는 없습니다. Conv2D는 필터가 읽는 채널을 항상 학습된 가중치로 더합니다. 고를 수 있는 것은 각 필터가 읽는 채널입니다: Conv2D 자체의 "
        "groups= 인자가 채널을 그룹으로 나눕니다. groups = C = {c}이면 (depthwise 합성곱, 파라미터 {dw_params}개) 채널마다 자기 필터를 갖고 "
        "결과가 따로 남습니다:",
        "不能换成别的运算：Conv2D 总是用学到的权重把一个滤波器读取的通道相加。能选择的是每个滤波器读取哪些通道：Conv2D 自己的 groups= 参数把通道分成若干组。当 groups = C "
        "= {c}（即深度卷积 depthwise，共 {dw_params} 个参数）时，每个通道有自己的滤波器，结果彼此分开：",
    ),
    "alone": ("{name} alone", "только {name}", "{name}만", "仅 {name}"),
    "other": (
        "What other aggregations of these {c} results would give, computed here:",
        "Что дали бы другие агрегации этих {c} результатов (вычислено здесь):",
        "이 {c}개 결과를 다르게 집계하면 (여기서 계산):",
        "这 {c} 个结果若用其他方式聚合会得到（此处计算）：",
    ),
    "agg_sum": ("sum = Conv2D ✓", "сумма = Conv2D ✓", "합 = Conv2D ✓", "求和 = Conv2D ✓"),
    "agg_mean": ("mean: NOT Conv2D", "среднее: НЕ Conv2D", "평균: Conv2D 아님", "平均：不是 Conv2D"),
    "agg_max": ("max: NOT Conv2D", "максимум: НЕ Conv2D", "최댓값: Conv2D 아님", "最大值：不是 Conv2D"),
    "howto": (
        "Other weights per channel: a 1×1 conv after the depthwise one (that is SeparableConv2D), still a "
        "weighted sum. A mean is a sum with weights 1/C; a max is a reduction across channels "
        "(keras.ops.max(x, axis=-1)), not a conv layer.",
        "Другие веса каналов: свёртка 1×1 после depthwise (это SeparableConv2D), всё равно взвешенная "
        "сумма. Среднее — сумма с весами 1/C; максимум — редукция по каналам (keras.ops.max(x, axis=-1)), а "
        "не свёрточный слой.",
        "채널별 다른 가중치: depthwise 뒤에 1×1 합성곱 (그것이 SeparableConv2D), 여전히 가중합입니다. 평균은 가중치 1/C인 합이고, 최댓값은 합성곱 층이 "
        "아니라 채널 축 축소 (keras.ops.max(x, axis=-1))입니다.",
        "想给每个通道别的权重：在 depthwise 之后接一个 1×1 卷积（即 SeparableConv2D），仍然是加权和。平均就是权重为 1/C "
        "的和；最大值是沿通道轴的归约（keras.ops.max(x, axis=-1)），不是卷积层。",
    ),
    "q4": (
        "Why is it called 2-D when the kernel is 3-D?",
        "Почему свёртка 2-D, если ядро 3-D?",
        "커널이 3-D인데 왜 2-D 합성곱인가?",
        "卷积核是 3-D 的，为什么叫 2-D 卷积？",
    ),
    "two_axes": (
        "The Conv2D kernel is {kh}×{kw}×{c}, but its depth always equals the number of channels, so it "
        "slides along two axes only. A Conv3D sees the channels as the depth of a one-channel volume; its "
        "{kh}×{kw}×{kd} kernel slides along depth too, giving one result per depth position:",
        "Ядро Conv2D имеет размер {kh}×{kw}×{c}, но его глубина всегда равна числу каналов, поэтому оно "
        "сдвигается только по двум осям. Conv3D видит в каналах глубину одноканального объёма; его ядро "
        "{kh}×{kw}×{kd} сдвигается и по глубине и даёт по результату на каждую позицию глубины:",
        "Conv2D 커널은 {kh}×{kw}×{c}이지만 깊이가 항상 채널 수와 같아서 두 축으로만 움직입니다. Conv3D는 채널을 단일 채널 볼륨의 깊이로 보고, "
        "{kh}×{kw}×{kd} 커널이 깊이 방향으로도 움직여 깊이 위치마다 결과를 하나씩 냅니다:",
        "Conv2D 的卷积核是 {kh}×{kw}×{c}，但它的深度总等于通道数，所以只沿两个轴滑动。Conv3D 把通道看作单通道体数据的深度；它的 {kh}×{kw}×{kd} "
        "卷积核也沿深度滑动，每个深度位置得到一个结果：",
    ),
    "col_layer": ("layer", "слой", "층", "层"),
    "col_input": ("input", "вход", "입력", "输入"),
    "col_kernel": ("kernel", "ядро", "커널", "卷积核"),
    "col_slides": ("slides along", "сдвигается по", "이동 축", "滑动方向"),
    "col_output": ("output", "выход", "출력", "输出"),
    "axes2": ("height, width", "высота, ширина", "높이, 너비", "高、宽"),
    "axes3": ("height, width, depth", "высота, ширина, глубина", "높이, 너비, 깊이", "高、宽、深"),
    "depth": ("Conv3D, depth {z}", "Conv3D, глубина {z}", "Conv3D, 깊이 {z}", "Conv3D，深度 {z}"),
    "q5": ("How can I know for sure?", "Как убедиться самому?", "확실히 알려면?", "我怎样才能确定？"),
    "prove": (
        "Compute the same on your own data; every command shows what it computed:",
        "Посчитайте то же на своих данных; каждая команда показывает, что вычислила:",
        "같은 계산을 자기 데이터로 해 보세요. 각 명령은 계산한 것을 보여 줍니다:",
        "在你自己的数据上做同样的计算；每条命令都会显示它算了什么：",
    ),
    "cmd_run": (
        "this example, with the partial sums of section {n}",
        "этот пример с частичными суммами из раздела {n}",
        "이 예제, 부분합은 {n}절과 같음",
        "这个示例，部分和与第 {n} 节相同",
    ),
    "cmd_verify": (
        "the same layer through every installed framework (PyTorch, Keras, TensorFlow, JAX, SciPy), "
        "compared value by value",
        "тот же слой в каждом установленном фреймворке (PyTorch, Keras, TensorFlow, JAX, SciPy), сравнение "
        "значение за значением",
        "같은 층을 설치된 모든 프레임워크(PyTorch, Keras, TensorFlow, JAX, SciPy)로 계산해 값마다 비교",
        "同一层交给每个已安装的框架（PyTorch、Keras、TensorFlow、JAX、SciPy）计算，逐值比较",
    ),
    "cmd_trace": (
        "your image: every product behind one output position",
        "ваше изображение: все произведения для одной позиции выхода",
        "내 이미지: 출력 위치 하나를 만드는 모든 곱",
        "你的图像：构成一个输出位置的每一个乘积",
    ),
    "cmd_save": (
        "every array, to compare with Keras or PyTorch",
        "все массивы, чтобы сравнить с Keras или PyTorch",
        "모든 배열: Keras나 PyTorch와 비교용",
        "所有数组，用来与 Keras 或 PyTorch 比较",
    ),
    "cmd_params": (
        "the {total} parameters of section {n}, as Keras' count_params()",
        "{total} параметров из раздела {n}, как count_params() в Keras",
        "{n}절의 파라미터 {total}개, Keras count_params()와 같음",
        "第 {n} 节的 {total} 个参数，与 Keras 的 count_params() 相同",
    ),
    "cmd_tests": (
        "convcli against stored Keras and PyTorch results",
        "convcli против сохранённых результатов Keras и PyTorch",
        "convcli와 저장된 Keras·PyTorch 결과 비교",
        "convcli 与保存的 Keras 和 PyTorch 结果对比",
    ),
    "q6": (
        "Why does my GPU give other numbers?",
        "Почему на GPU получаются другие числа?",
        "왜 GPU에서는 다른 숫자가 나오는가?",
        "为什么我的 GPU 算出的数字不一样？",
    ),
    "gpu_intro": (
        "A GPU often computes Conv2D in fewer bits. PyTorch's cuDNN convolutions and TensorFlow round {fp32} "
        "inputs to {tf32} ({tf32_bits} mantissa bits) by default; mixed precision computes in {bf16} "
        "({bf16_bits} bits) or {fp16} ({fp16_bits} bits). The GPU rounds the inputs and weights, adds the exact "
        "products in {fp32} and stores the output in the format; convcli does the same on the CPU.",
        "GPU часто считает Conv2D в меньшем числе битов. Свёртки PyTorch на cuDNN и TensorFlow по умолчанию "
        "округляют входы {fp32} до {tf32} ({tf32_bits} бит мантиссы); смешанная точность считает в {bf16} "
        "({bf16_bits} бит) или {fp16} ({fp16_bits} бит). GPU округляет входы и веса, складывает точные "
        "произведения в {fp32} и сохраняет выход в этом формате; convcli делает то же на CPU.",
        "GPU는 Conv2D를 더 적은 비트로 계산하는 경우가 많습니다. PyTorch의 cuDNN 합성곱과 TensorFlow는 기본값으로 {fp32} 입력을 "
        "{tf32}({tf32_bits}비트 가수)로 반올림하고, 혼합 정밀도는 {bf16}({bf16_bits}비트)나 {fp16}({fp16_bits}비트)로 계산합니다. "
        "GPU는 입력과 가중치를 반올림하고 정확한 곱을 {fp32}로 더한 뒤 출력을 그 형식으로 저장합니다. convcli는 CPU에서 똑같이 합니다.",
        "GPU 常用更少的位数计算 Conv2D。PyTorch 的 cuDNN 卷积和 TensorFlow 默认把 {fp32} 输入舍入为 {tf32}（{tf32_bits} 位尾数）；"
        "混合精度用 {bf16}（{bf16_bits} 位）或 {fp16}（{fp16_bits} 位）计算。GPU 先舍入输入和权重，用 {fp32} 累加精确的乘积，"
        "再以该格式存储输出；convcli 在 CPU 上做同样的事。",
    ),
    "gpu_bf16": (
        "In {bf16}, {v2} is stored as {v2r}, so its partial sum {p2} becomes {p2r}. {fp32} adds {p0} + {p1} + "
        "{p2r} + {b} = {acc} exactly, and storing that in {bf16} gives {y}, where {fp64} gives {out}:",
        "В {bf16} число {v2} хранится как {v2r}, и его частичная сумма {p2} становится {p2r}. {fp32} точно "
        "складывает {p0} + {p1} + {p2r} + {b} = {acc}, а сохранение в {bf16} даёт {y}, тогда как {fp64} даёт {out}:",
        "{bf16}에서 {v2}는 {v2r}로 저장되므로 부분합 {p2}는 {p2r}가 됩니다. {fp32}는 {p0} + {p1} + {p2r} + {b} = {acc}를 "
        "정확히 더하고, 이를 {bf16}로 저장하면 {y}가 됩니다. {fp64}에서는 {out}입니다:",
        "在 {bf16} 中，{v2} 被存为 {v2r}，所以它的部分和 {p2} 变成 {p2r}。{fp32} 精确地算出 {p0} + {p1} + {p2r} + {b} = "
        "{acc}，再存成 {bf16} 得到 {y}，而 {fp64} 得到 {out}：",
    ),
    "gpu_tf32": (
        "In {tf32}, {v2} is stored as {v2t} and the sum is stored in {fp32}: the result is {yt} ({fp64}: {out}). "
        "A value with more digits moves: {probe} becomes {prober}.",
        "В {tf32} число {v2} хранится как {v2t}, а сумма сохраняется в {fp32}: результат {yt} ({fp64}: {out}). "
        "Число с большим количеством цифр сдвигается: {probe} становится {prober}.",
        "{tf32}에서 {v2}는 {v2t}로 저장되고 합은 {fp32}로 저장되므로 결과는 {yt}입니다({fp64}: {out}). "
        "자릿수가 더 많은 값은 달라집니다: {probe}는 {prober}가 됩니다.",
        "在 {tf32} 中，{v2} 存为 {v2t}，和以 {fp32} 存储：结果为 {yt}（{fp64}：{out}）。位数更多的值会变：{probe} 变成 {prober}。",
    ),
    "gpu_switches": (
        "To get {fp32} on a GPU, switch {tf32} off: torch.backends.cudnn.allow_tf32 = False in PyTorch, "
        "tf.config.experimental.enable_tensor_float_32_execution(False) in TensorFlow.",
        "Чтобы получить на GPU {fp32}, выключите {tf32}: torch.backends.cudnn.allow_tf32 = False в PyTorch, "
        "tf.config.experimental.enable_tensor_float_32_execution(False) в TensorFlow.",
        "GPU에서 {fp32}를 얻으려면 {tf32}를 끄세요: PyTorch에서는 torch.backends.cudnn.allow_tf32 = False, "
        "TensorFlow에서는 tf.config.experimental.enable_tensor_float_32_execution(False).",
        "要在 GPU 上得到 {fp32}，请关闭 {tf32}：PyTorch 中 torch.backends.cudnn.allow_tf32 = False，"
        "TensorFlow 中 tf.config.experimental.enable_tensor_float_32_execution(False)。",
    ),
    "q7": (
        "How does a transposed convolution add up the channels?",
        "Как транспонированная свёртка складывает каналы?",
        "전치 합성곱은 채널을 어떻게 합치는가?",
        "转置卷积如何把各通道相加？",
    ),
    "tconv_intro": (
        "A transposed convolution (Conv2DTranspose, PyTorch's ConvTranspose2d) spreads instead of gathering: every "
        "input value puts a copy of its channel's {kh}×{kw} kernel slice, scaled by the value, onto the output, {s} "
        "positions apart, and overlapping copies add. The textbook image with a {kh}×{kw} kernel whose weights are "
        "all {one} and stride {s} becomes {ho}×{wo}; output ({i}, {j}) receives these copies:",
        "Транспонированная свёртка (Conv2DTranspose, в PyTorch ConvTranspose2d) не собирает, а раздаёт: каждое "
        "входное значение кладёт на выход копию среза ядра {kh}×{kw} своего канала, умноженную на это значение, с "
        "шагом {s}, и перекрывающиеся копии складываются. Учебное изображение с ядром {kh}×{kw}, все веса которого "
        "равны {one}, и шагом {s} даёт выход {ho}×{wo}; в позицию ({i}, {j}) попадают такие копии:",
        "전치 합성곱(Conv2DTranspose, PyTorch의 ConvTranspose2d)은 모으지 않고 퍼뜨립니다: 각 입력 값은 자기 채널의 "
        "{kh}×{kw} 커널 슬라이스에 그 값을 곱한 복사본을 {s} 간격으로 출력에 놓고, 겹치는 복사본은 더해집니다. 교과서 "
        "이미지에 가중치가 모두 {one}인 {kh}×{kw} 커널과 스트라이드 {s}를 쓰면 출력은 {ho}×{wo}이고, 출력 ({i}, {j})에는 "
        "다음 복사본이 도착합니다:",
        "转置卷积（Conv2DTranspose，PyTorch 中为 ConvTranspose2d）不是收集而是散布：每个输入值把所在通道的 "
        "{kh}×{kw} 卷积核切片乘以该值，以 {s} 的间隔放到输出上，重叠的副本相加。教科书图像配上权重全为 {one} 的 "
        "{kh}×{kw} 卷积核、步幅 {s}，输出为 {ho}×{wo}；输出 ({i}, {j}) 收到这些副本：",
    ),
    "tconv_sum": (
        "Each channel's partial sum is the sum of its own {n} copies that land here; the channels are then added "
        "exactly as in Conv2D: {p0} + {p1} + {p2} + {b} = {out}. The kernel slices never mix channels: only this "
        "last sum does.",
        "Частичная сумма каждого канала — сумма его собственных {n} копий, попавших сюда; затем каналы складываются "
        "точно как в Conv2D: {p0} + {p1} + {p2} + {b} = {out}. Срезы ядра никогда не смешивают каналы: это делает "
        "только итоговая сумма.",
        "각 채널의 부분합은 여기에 도착한 그 채널 자신의 복사본 {n}개의 합이고, 그다음 채널들은 Conv2D와 똑같이 "
        "더해집니다: {p0} + {p1} + {p2} + {b} = {out}. 커널 슬라이스는 채널을 섞지 않으며, 섞는 것은 이 마지막 합뿐입니다.",
        "每个通道的部分和是落在这里的它自己的 {n} 个副本之和；然后各通道与 Conv2D 完全一样相加：{p0} + {p1} + {p2} + "
        "{b} = {out}。卷积核切片从不混合通道：只有这最后的求和才会。",
    ),
    "tc_at": ("input at", "вход в", "입력 위치", "输入位置"),
    "tc_tap": ("kernel tap", "точка ядра", "커널 위치", "卷积核位置"),
    "tconv_try": (
        "The same view for any layer and position (--trace adds it to the gathering trace):",
        "Тот же вид для любого слоя и позиции (--trace добавляет его к трассировке сбора):",
        "어떤 층과 위치에서도 같은 보기를 얻습니다 (--trace가 모으는 추적 옆에 추가합니다):",
        "任何层和位置都能得到同样的视图（--trace 会把它加在收集式追踪旁）：",
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
        "group_of_one": " · группа {g} (канал {first})",
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
        "group_of_one": " · 그룹 {g} (채널 {first})",
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
    "zh": {
        "title": "滤波器 {f} · 偏置 {bias} · {activation}",
        "group": " · 第 {g} 组（通道 {first}–{last}）",
        "group_of_one": " · 第 {g} 组（通道 {first}）",
        "weights": "权重：每个输入通道一个 {kh}×{kw} 切片",
        "partial_sums": "部分和，输出行 {rows} × 列 {cols}{of}：每个通道一个，然后相加",
        "of_cols": "（共 {cols}）",
        "bias": "偏置",
        "preactivation": "激活前",
        "output": "输出",
        "others": "Σ 其余 {n} 个",
        "more_channels": "… 另有 {n} 个通道",
        "whole_output": "整个输出",
        "stats": "最小 {min} · 平均 {mean} · 最大 {max}",
        "channel_shares": "通道占比",
        "shares_of": "  （占 Σ 平均 |部分和| 之比）",
    },
}
PARAM_WORDS: dict[str, tuple[str, str, str]] = {
    "ru": ("весов", "смещений", "без смещения"),
    "ko": ("가중치", "편향", "편향 없음"),
    "zh": ("权重", "偏置", "无偏置"),
}
#: The words of the precision panel (convcli.render.precision.PrecisionLabels' fields), per language.
PRECISION_LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "heading": "{precision} на выходе ({row}, {col}) · фильтр {f} · произведения складываются в {adder}",
        "channel": "канал {name}", "input": "вход", "weight": "вес", "bias": "смещение",
        "sum_in": "сумма в {adder}", "stored_in": "сохранено в {storage}", "output": "выход", "error": "ошибка",
        "exact": "{precision} даёт здесь результат float64.",
        "verdict": "разница {diff} ({eps} eps от результата); наибольшая часть: {part}",
    },
    "ko": {
        "heading": "출력 ({row}, {col})의 {precision} · 필터 {f} · 곱을 {adder}로 더함",
        "channel": "채널 {name}", "input": "입력", "weight": "가중치", "bias": "편향",
        "sum_in": "{adder} 합", "stored_in": "{storage}로 저장", "output": "출력", "error": "오차",
        "exact": "여기서는 {precision}가 float64 결과와 같습니다.",
        "verdict": "차이 {diff} (결과의 {eps} eps); 가장 큰 부분: {part}",
    },
    "zh": {
        "heading": "{precision}，输出 ({row}, {col}) · 滤波器 {f} · 乘积以 {adder} 累加",
        "channel": "通道 {name}", "input": "输入", "weight": "权重", "bias": "偏置",
        "sum_in": "{adder} 求和", "stored_in": "以 {storage} 存储", "output": "输出", "error": "误差",
        "exact": "此处 {precision} 与 float64 结果相同。",
        "verdict": "差 {diff}（结果的 {eps} eps）；最大的部分：{part}",
    },
}
