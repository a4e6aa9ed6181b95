"""TEMPORARY shim for the merge: the fast paths now live in :mod:`convcli.engine.fast`.

Assign tuning constants on :mod:`convcli.engine.fast.tuning` (these names are copies).
"""

# TEMPORARY shim for the merge
from convcli.engine.fast import conv_stride1, partial_stats, space_to_depth  # noqa: F401
from convcli.engine.fast.dense import _dense  # noqa: F401
from convcli.engine.fast.depthwise import _depthwise, _depthwise_planar, _depthwise_rows  # noqa: F401
from convcli.engine.fast.tuning import (  # noqa: F401
    IM2COL_MIN_CHANNELS,
    MIN_GEMM_ROWS,
    MIN_STATS_POSITIONS,
    PLANAR_MIN_MULTIPLIER,
    TILE_BYTES,
)
from convcli.engine.fast.tuning import tile_rows as _tile_rows  # noqa: F401
