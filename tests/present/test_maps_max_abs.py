"""``max-abs`` heatmap cells from block extremes: the same cells as reducing the maps themselves."""

from __future__ import annotations

import numpy as np
import pytest

from convcli import engine
from convcli.present.maps import ArrayMap, BlockMap, ResultMaps, block_max_abs


def edge_result(ranges: bool = True) -> engine.LayerResult:
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 255, size=(90, 130, 3)).astype(np.float32)
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    kernel = np.stack([sobel, sobel.T, -sobel, 2 * sobel.T], axis=-1)[:, :, None, :].repeat(3, axis=2)
    layer = engine.prepare(x, kernel, padding="same")
    return engine.run_layer(layer, None, "relu", ranges=ranges)


@pytest.mark.parametrize("k", [1, 4, 9])
def test_partials_and_stacks_give_the_cells_of_the_maps_themselves(k):
    result = edge_result()
    seen = []
    sources = ResultMaps(result, "max-abs", filters=[1, 3], progress=seen.append)
    for f in (1, 3, 0):  # 0 is not among the filters shown: its own pass
        parts, _ = sources.partials(f)
        maps = engine.filter_partials(result.layer, f)
        for c, part in enumerate(parts):
            assert isinstance(part, BlockMap)
            np.testing.assert_array_equal(part.cells(k, "max-abs"), block_max_abs(maps[:, :, c], k, k) if k > 1
                                          else maps[:, :, c])
            assert part.value_range() == (float(result.partial_low[c, f]), float(result.partial_high[c, f]))
        for source, values in ((sources.preactivation(f), result.preactivation), (sources.output(f), result.output)):
            want = block_max_abs(values[..., f], k, k) if k > 1 else values[..., f]
            np.testing.assert_array_equal(source.cells(k, "max-abs"), want)
    if k > 1:
        assert seen and seen[-1] == 1.0


def test_without_measured_ranges_the_maps_are_made_whole():
    sources = ResultMaps(edge_result(ranges=False), "max-abs")
    parts, _ = sources.partials(0)
    assert all(isinstance(p, ArrayMap) for p in parts)


def test_block_max_abs_of_oblong_blocks_keeps_the_sign_of_the_largest():
    a = np.array([[1.0, -3.0, 2.0], [np.nan, 0.5, -2.0]])
    np.testing.assert_array_equal(block_max_abs(a, 2, 1), [[1.0, -3.0, 2.0]])
    np.testing.assert_array_equal(block_max_abs(a, 1, 2), [[-3.0, 2.0], [0.5, -2.0]])
