"""``convcli explain``: the lesson on multi-channel convolution, with numbers computed live."""

from __future__ import annotations

from typing import Annotated

import typer

from convcli.cli import output
from convcli.cli.app import app
from convcli.cli.options import ExportOpt, ForceOpt, Lang
from convcli.cli.picture_options import NO_PICTURES, Pictures, takes_screen_options


@app.command()
@takes_screen_options
def explain(
    lang: Annotated[Lang, typer.Option(help="Language of the texts: en, ru, ko, zh (the numbers are the same).")] = Lang.en,
    # max is explain_texts.SECTIONS, written out so that start-up imports nothing of render/;
    # tests/render/test_explain.py holds them equal (--step SECTIONS works, SECTIONS + 1 does not)
    step: Annotated[int | None, typer.Option(min=1, max=7, help="Show only section N (1-7).",
                                             show_default=False)] = None,
    export: ExportOpt = None,
    force: ForceOpt = False,
    pictures: Pictures = NO_PICTURES,
) -> None:
    """Walk through multi-channel convolution with numbers computed live: why Conv2D sums the channels."""
    from convcli.render import explain

    export_target = output.export_target(export, force=force)
    output.show(explain.lesson(lang.value, step), export_target, "convcli explain", force=force,
                width=pictures.width, theme=pictures.theme)
