"""The Typer app and the one place that maps errors to exit codes.

0 success, 1 bad data (a file or a shape that does not fit), 2 bad usage (an option value), 130
interrupted. Every expected failure is one line on stderr; ``convcli --debug ...`` shows the
traceback instead. numpy, Pillow and rich's heavier modules are imported inside the commands so that
``convcli --help`` starts fast (see :mod:`convcli.cli.startup`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from convcli.cli.helptext import tidy_help, usage_message
from convcli.cli.signals import EXIT_TERMINATED, Terminated, begin_command
from convcli.cli.startup import (
    ClickException,
    NoArgsIsHelpError,
    UsageError,
    import_lean_rich_utils,
    lean_help_option,
    no_hugepage_advice,
)
from convcli.errors import ConvcliError
from convcli.settings import SETTINGS

#: The flag each library field is given by: an error that carries a field is worded with its flag.
FLAGS = {
    "kind": "--kind", "in_channels": "--in-channels", "filters": "--filters", "kernel": "--kernel-size",
    "kernel_size": "--kernel-size", "stride": "--stride", "dilation": "--dilation", "padding": "--padding",
    "groups": "--groups", "depth_multiplier": "--depth-multiplier", "input_size": "--input-size",
    "stack": "--stack", "activation": "--activation", "dtype": "--dtype", "semantics": "--semantics",
    "init": "--init", "seed": "--seed", "kernel_file": "--kernel", "kernel_layout": "--kernel-layout",
    "kernel_key": "--kernel-key", "bias": "--bias", "key": "--key", "layout": "--layout",
    "color_mode": "--color-mode",
    "max_pixels": "--max-pixels", "at": "--at", "window": "--window", "trace": "--trace", "filter": "--filter",
    "save": "--save", "figure": "--figure", "save_maps": "--save-maps", "export": "--export", "view": "--view",
    "force": "--force", "step": "--step", "model": "--model", "layer": "--layer", "resize": "--resize",
    "preprocess": "--preprocess", "bias_key": "--bias-key",
    "ndim": "--ndim", "padding_mode": "--padding-mode", "depth_at": "--depth-at",
}

_NAN_NOISE = "invalid value encountered|All-NaN slice|Mean of empty slice|overflow encountered"


def _fail(message: str, code: int) -> NoReturn:
    from convcli.text import shown  # a name from a file cannot forge a second line or send escapes

    sys.stderr.write(f"Error: {shown(message)}\n")
    sys.exit(code)


def warn(message: str) -> None:
    """One ``Warning: ...`` line on stderr, escaped like the errors (file names reach warnings too)."""
    from convcli.text import shown

    sys.stderr.write(f"Warning: {shown(message)}\n")


@contextmanager
def usage_errors() -> Iterator[None]:
    """Options the pipeline refuses together (``RequestError``) are usage errors: worded as Typer words them
    (``Invalid value: ...``, the command's ``--help`` named), exit 2."""
    from convcli.pipeline.request import RequestError

    try:
        yield
    except RequestError as exc:
        raise typer.BadParameter(exc.message) from None


class _OneLineErrors(TyperGroup):
    """Typer's group, but every expected failure ends as one ``Error: ...`` line and its code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        argv = sys.argv[1:] if args is None else list(args)
        no_hugepage_advice()
        lone = self.commands.get(argv[0]) if len(argv) == 1 else None
        if not argv or "--help" in argv or (lone is not None and lone.no_args_is_help):  # help will follow
            import_lean_rich_utils()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            with warnings.catch_warnings():
                # numpy's multi-line RuntimeWarnings about NaN/Inf (and values that overflow the compute
                # dtype, which become Inf): build_layer has said it in one line.
                warnings.filterwarnings("ignore", _NAN_NOISE, RuntimeWarning)
                rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # a bare `convcli run`: its help is the message, already printed
            text = exc.format_message()
            if text.strip():
                sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.exit(exc.exit_code)
        except ClickException as exc:
            hint = ""
            if isinstance(exc, UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(usage_message(exc.format_message()) + hint, exc.exit_code)
        except ConvcliError as exc:
            if SETTINGS.debug:
                raise
            _fail(exc.worded(FLAGS), exc.exit_code)
        except typer.Abort:
            _fail("interrupted", 130)
        except Terminated:
            _fail("terminated", EXIT_TERMINATED)
        except MemoryError:
            if SETTINGS.debug:
                raise
            from convcli.pipeline import memory

            _fail(f"out of memory; use {', '.join(memory.advice())} or raise the limit", 1)
        except OSError as exc:  # the writers name their file (SaveError); this is what slipped past them
            if SETTINGS.debug:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}", 1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Typer turns Ctrl-C into a silent exit 130 (click into Abort after a blank line); the
            # writers have removed their temporary files by now (files.atomic.atomic_write)
            _fail("interrupted", 130)

    def get_help_option(self, ctx: Any) -> Any:
        return lean_help_option(super().get_help_option(ctx))


tidy_help()
app = typer.Typer(
    cls=_OneLineErrors,
    name="convcli",
    help="See what a convolution layer does to the channels of an image: per-channel partial sums, "
    "their sum, the bias and the activation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from convcli import __version__  # importlib.metadata: only --version pays for it

        typer.echo(f"convcli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    """See what a convolution layer does to the channels of an image."""
    SETTINGS.debug = debug
    begin_command()  # SIGTERM cleans up like Ctrl-C; a fresh register of the files read
