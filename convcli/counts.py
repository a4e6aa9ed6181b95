"""TEMPORARY shim for the merge: the counts now live in :mod:`convcli.layer`.

``convcli.layer.spec`` (ConvSpec, check_spec), ``.geometry`` (span, same_pads_1d,
transpose_out_1d), ``.counts`` (params, MACs, reports), ``.receptive`` and ``.stack``.
"""

# TEMPORARY shim for the merge
from convcli.layer.counts import (  # noqa: F401
    FLOP_CONVENTION,
    KERNEL_NAMES,
    SIZE_NAMES,
    LayerReport,
    LayerShape,
    ParamCount,
    StackReport,
    Term,
    equivalent,
    layer_shape,
    param_count,
    report,
    term_value,
)
from convcli.layer.geometry import Pads, same_pads_1d, span, transpose_out_1d  # noqa: F401
from convcli.layer.receptive import (  # noqa: F401
    _inputs_of,
    _span_conv_only,
    effective_stride,
    receptive_field,
)
from convcli.layer.spec import (  # noqa: F401
    KERAS_NAMES,
    KINDS,
    ConvSpec,
    LayerConfigError,
    Padding,
    _positive,
    check_spec,
    group_of,
)
from convcli.layer.stack import (  # noqa: F401
    _FIELD_NAMES,
    _INT_WORD,
    _PAIR_WORD,
    STACK_KINDS,
    STACK_WORDS,
    StackLayer,
    _stack_error,
    build_stack,
    parse_stack,
)

Pair = tuple[int, int]
