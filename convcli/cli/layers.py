"""``convcli layers MODEL``: every layer of a model file, its geometry and counts, read from the file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from convcli.cli import output
from convcli.cli.app import app
from convcli.cli.options import ExportOpt, ForceOpt
from convcli.cli.parsing import parse_input_size
from convcli.cli.picture_options import NO_PICTURES, Pictures, takes_screen_options

_FORMS = {1: "L,C", 2: "H,W,C", 3: "D,H,W,C"}


@app.command(no_args_is_help=True)
@takes_screen_options
def layers(
    model: Annotated[Path, typer.Argument(help="A model file: .keras, .h5, .onnx, .safetensors, .pt/.pth.",
                                          show_default=False)],
    input_size: Annotated[str | None, typer.Option(help="H,W,C (or H,W when the model fixes C; L,C or D,H,W,C on a "
                                                   "1-D or 3-D model): adds every layer's output shape, MACs, "
                                                   "receptive field and effective stride.",
                                                   show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    export: ExportOpt = None,
    force: ForceOpt = False,
    pictures: Pictures = NO_PICTURES,
) -> None:
    """List the layers of a model file (as Keras' summary(), with kernel, stride, padding, RF), without its framework."""

    from convcli import reads
    from convcli.errors import ShapeError
    from convcli.layer import model as layer_model
    from convcli.present import schema
    from convcli.sources import models

    reads.register(model)  # before any target is checked: the model file is never written
    export_target = output.export_target(export, force=force, json_=json_)
    listing = models.read_model(model)
    ndim = listing.spatial_axes()  # one size per axis of the model's input: L, H,W or D,H,W (then C)
    size = parse_input_size(input_size, ndim) if input_size else None
    if size is not None and len(size) == ndim and listing.graph:  # no C: the model's own, where it fixes one
        channels = listing.input_channels()
        if channels is None:
            example = {1: "100,3", 2: "224,224,3", 3: "16,112,112,3"}[ndim]
            raise typer.BadParameter(f"--input-size: {listing.model} does not fix its input channels; give "
                                     f"{_FORMS[ndim]} (e.g. {example})")
        size = (*size, channels)
    if size is not None and not listing.graph:
        raise ShapeError(f"{{field}}: a .{listing.format} file holds weights only, no strides, padding or "
                         "graph to follow; list it without --input-size", field="input_size")
    analysis = layer_model.analyse(listing, size)
    if json_:
        sys.stdout.write(schema.dumps(schema.model_json(analysis)))
        return
    from convcli.render import layers as render_layers

    output.show([render_layers.LayersTable(analysis), render_layers.layers_totals(analysis)], export_target,
                "convcli layers", force=force, width=pictures.width, theme=pictures.theme)
