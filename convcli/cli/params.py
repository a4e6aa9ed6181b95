"""``convcli params``: count a layer's parameters, MACs and FLOPs, or a --stack of layers'."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from convcli.cli import output
from convcli.cli.app import app
from convcli.cli.options import ExportOpt, ForceOpt, parse_kind
from convcli.cli.parsing import check_count, parse_axes, parse_input_size, parse_padding
from convcli.cli.picture_options import NO_PICTURES, Pictures, takes_screen_options
from convcli.pipeline.binding import layer_spec

if TYPE_CHECKING:
    from convcli.layer.spec import ConvSpec


@app.command(no_args_is_help=True)
@takes_screen_options
def params(
    kind: Annotated[str | None, typer.Option(help="Layer kind: conv (Conv2D), depthwise, separable, transpose, or a "
                                             "Keras or PyTorch class name (Conv1D, Conv3DTranspose, ...), which sets "
                                             "--ndim too. \\[default: conv]", show_default=False)] = None,
    ndim: Annotated[int | None, typer.Option("--ndim", min=1, max=3, help="Spatial axes: 1, 2 or 3. \\[default: 2]",
                                             show_default=False)] = None,
    in_channels: Annotated[int | None, typer.Option("--in-channels", "-c", min=1, help="Input channels C "
                                                    "(or the C of --input-size H,W,C).", show_default=False)] = None,
    filters: Annotated[int | None, typer.Option("--filters", "-f", min=1, help="Filters F (not for depthwise). "
                                                "\\[default: 1]", show_default=False)] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", "-k", help="K or KH,KW. \\[default: 3]",
                                                    show_default=False)] = None,
    groups: Annotated[int | None, typer.Option(min=1, help="Channel groups (conv; transpose as in PyTorch); "
                                               "must divide C and F. \\[default: 1]", show_default=False)] = None,
    depth_multiplier: Annotated[int | None, typer.Option("--depth-multiplier", "-m", min=1, help="M: outputs per "
                                                         "input channel (depthwise, separable). \\[default: 1]",
                                                         show_default=False)] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="A layer without bias (use_bias=False).")] = False,
    input_size: Annotated[str | None, typer.Option(help="H,W or H,W,C (L or L,C in 1-D, D,H,W or D,H,W,C in "
                                                   "3-D): adds output shape, pads, MACs, FLOPs.",
                                                   show_default=False)] = None,
    stride: Annotated[str | None, typer.Option(help="S or SH,SW. \\[default: 1]", show_default=False)] = None,
    padding: Annotated[str | None, typer.Option(help="valid, same (Keras rule), P or PH,PW zeros. \\[default: valid]",
                                                show_default=False)] = None,
    dilation: Annotated[str | None, typer.Option(help="D or DH,DW. \\[default: 1]", show_default=False)] = None,
    stack: Annotated[str | None, typer.Option(help="Layers on --input-size H,W,C, e.g. 'conv 64 k7 s2 same, bn, "
                                              "maxpool 3 s2 same, gap, dense 10': conv, dw, sep, tconv; maxpool or "
                                              "avgpool K \\[sS] \\[same]; gap, gmp, bn, flatten; dense N \\[nobias]; pad P, "
                                              "PHxPW or T,B,L,R (see README).", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    export: ExportOpt = None,
    force: ForceOpt = False,
    pictures: Pictures = NO_PICTURES,
) -> None:
    """Count the parameters of a 2-D conv layer (as Keras' count_params()), its MACs, FLOPs and receptive field."""
    export_target = output.export_target(export, force=force, json_=json_)
    for value, option in ((in_channels, "--in-channels"), (filters, "--filters"), (groups, "--groups"),
                          (depth_multiplier, "--depth-multiplier")):
        check_count(value, option)
    layer_kind, axes = parse_kind(kind, ndim)
    size = parse_input_size(input_size, axes) if input_size else None
    if stack is not None:
        given = [name for name, v in (("--kind", kind), ("--ndim", ndim), ("--in-channels", in_channels), ("--filters", filters),
                                      ("--kernel-size", kernel_size), ("--groups", groups),
                                      ("--depth-multiplier", depth_multiplier), ("--stride", stride),
                                      ("--padding", padding), ("--dilation", dilation),
                                      ("--no-bias", no_bias or None)) if v is not None]
        if given:
            raise typer.BadParameter(f"--stack describes every layer itself; drop {', '.join(given)}")
        _show_stack(stack, size, json_, export_target, force, pictures)
        return
    spec = _spec(layer_kind, axes, size, input_size, in_channels=in_channels, filters=filters,
                 kernel_size=kernel_size, stride=stride, dilation=dilation, padding=padding, groups=groups,
                 depth_multiplier=depth_multiplier, no_bias=no_bias)
    _show_layer(spec, size[:axes] if size is not None else None, json_, export_target, force, pictures)


def _spec(kind: str, axes: int, size: tuple[int, ...] | None, input_size: str | None, *, in_channels: int | None,
          filters: int | None, kernel_size: str | None, stride: str | None, dilation: str | None,
          padding: str | None, groups: int | None, depth_multiplier: int | None, no_bias: bool) -> ConvSpec:
    """The options' layer of ``kind`` over ``axes`` axes (its C from ``--input-size`` when it gives one)."""
    if size is not None and len(size) == axes + 1:
        if in_channels is not None and in_channels != size[-1]:
            raise typer.BadParameter(f"--in-channels {in_channels} contradicts --input-size {input_size} (C = {size[-1]})")
        in_channels = size[-1]
    if in_channels is None:
        raise typer.BadParameter("give the input channels: --in-channels/-c C, or --input-size H,W,C")
    return layer_spec(kind, in_channels, filters if kind == "depthwise" else (filters or 1),
                      parse_axes(kernel_size or "3", "--kernel-size", axes),
                      stride=parse_axes(stride or "1", "--stride", axes),
                      dilation=parse_axes(dilation or "1", "--dilation", axes),
                      padding=parse_padding(padding or "valid", axes), groups=groups or 1,
                      depth_multiplier=depth_multiplier or 1, use_bias=not no_bias, ndim=axes)


def _show_stack(stack: str, size: tuple[int, ...] | None, json_: bool, export_target: Path | None,
                force: bool, pictures: Pictures = NO_PICTURES) -> None:
    """``--stack``: every layer's counts and shapes on ``--input-size H,W,C``, as JSON or a table."""
    from convcli.layer import stack as stack_syntax
    from convcli.present import schema

    if size is None or len(size) != 3:
        raise typer.BadParameter("--stack needs --input-size H,W,C (e.g. 224,224,3)")
    report = stack_syntax.build_stack(stack_syntax.parse_stack(stack), size)
    if json_:
        sys.stdout.write(schema.dumps(schema.stack_json(report)))
        return
    from convcli.render import stack as render_stack

    output.show([render_stack.StackTable(report), render_stack.stack_totals(report)], export_target,
                "convcli params --stack", force=force, width=pictures.width, theme=pictures.theme)


def _show_layer(spec: ConvSpec, hw: tuple[int, ...] | None, json_: bool, export_target: Path | None,
                force: bool, pictures: Pictures = NO_PICTURES) -> None:
    """One layer's counts (and with ``hw`` its shapes, MACs and receptive field), beside its equivalent twin."""
    from convcli.layer import counts
    from convcli.present import schema

    rep = counts.report(spec, hw)  # a LayerConfigError is worded with its flag by the app, as every error
    twin = counts.equivalent(spec)
    other = counts.report(twin, hw) if twin is not None else None
    if json_:
        doc = schema.params_json(rep, other)
        if rep.shape is not None:
            doc["flop_convention"] = counts.FLOP_CONVENTION
        sys.stdout.write(schema.dumps(doc))
        return
    from convcli.render import params as render_params

    output.show([render_params.params_panel(rep, other)], export_target, "convcli params", force=force,
                width=pictures.width, theme=pictures.theme)
