"""``convcli layers``' table picks its level by measuring only the rows that hold each column's
widest cell and longest word: the same choice, byte for byte, as measuring every row (which took
minutes for a listing of thousands of layers)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from models import layer_block
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement

from convcli.layer.listing import Listing, ModelLayer
from convcli.layer.model import Analysis, analyse
from convcli.render import layers as render_layers


class _EveryRow(render_layers.LayersTable):
    """The table chosen as before: every candidate measured whole."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.update_width(10_000)
        a = self.analysis
        full = Measurement.get(console, wide, render_layers.layers_table(a, 0)).maximum
        for level in range(render_layers.LEVELS):
            table = render_layers.layers_table(a, level)
            if Measurement.get(console, wide, table).maximum <= options.max_width:
                break
        else:
            for name_width in (24, 16, 10):
                table = render_layers.layers_table(a, render_layers.LEVELS - 1, name_width)
                if Measurement.get(console, wide, table).maximum <= options.max_width:
                    break
        yield table
        left_out = render_layers.dropped_columns(a, level)
        if left_out:
            yield f"left out at {options.max_width} columns: {', '.join(left_out)} (COLUMNS={full} shows them)"


def _drawn(table: Any, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _listings() -> Iterator[Analysis]:
    yield analyse(layer_block(), (32, 30, 3))
    yield analyse(layer_block())
    # names of every length, the longest in the middle, words of every length
    names = [f"{'block_' * (i % 7)}{i}" + (" a very long name with words" if i == 13 else "") for i in range(40)]
    layers = [ModelLayer("x", "input", "InputLayer", input_shape=(64, 64, 3), inbound=())]
    prev = "x"
    for i, name in enumerate(names):
        kind = ("conv", "depthwise", "maxpool", "batchnorm")[i % 4]
        settings: dict[str, Any] = {"kernel": (1 + i % 3, 1), "strides": (1, 1), "padding": "same"}
        if kind == "conv":
            settings |= {"filters": 3 + i, "groups": 1, "use_bias": bool(i % 2), "activation": "relu" * (i % 3)}
        if kind == "batchnorm":
            settings = {}
        layers.append(ModelLayer(name, kind, f"Class{'X' * i}", inbound=(prev,), **settings))
        prev = name
    yield analyse(Listing("wide.keras", "keras", tuple(layers)), (64, 64, 3))


@pytest.mark.parametrize("width", [30, 50, 64, 80, 100, 120, 160, 240])
def test_the_same_table_as_measuring_every_row(width: int) -> None:
    for a in _listings():
        assert _drawn(render_layers.LayersTable(a), width) == _drawn(_EveryRow(a), width)
