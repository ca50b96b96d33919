"""Entry point of the ``lakeshrink`` command."""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from lakeshrink import __version__
from lakeshrink.cli._common import AliasOption, CliState
from lakeshrink.cli.config import CONFIG_ENV, default_map, find_config
from lakeshrink.cli.lazy import LazyGroup
from lakeshrink.errors import LakeshrinkError

COMMANDS = {  # imported when run (lakeshrink --help imports none of them)
    "logs": ("lakeshrink.cli.logs:logs", "Lossless log template compression (compress, decompress, templates, grep)."),
    "encode": ("lakeshrink.cli.encode:encode", "Per-column Parquet encodings chosen from samples (advise, rewrite)."),
    "containment": ("lakeshrink.cli.containment:containment",
                    "Redundant tables: scan a lake for contained tables; plan, mark, verify and rebuild."),
    "demo": ("lakeshrink.cli.demo:demo", "Run every capability on bundled real sample data and print what each would save."),
}

_RAISE_ERRORS = contextvars.ContextVar("lakeshrink_cli_raise_errors", default=False)


@contextlib.contextmanager
def raising_errors() -> Iterator[None]:
    """Within this block, commands raise library errors instead of printing them (for :mod:`lakeshrink.api`)."""
    token = _RAISE_ERRORS.set(True)
    try:
        yield
    finally:
        _RAISE_ERRORS.reset(token)


class LakeshrinkGroup(LazyGroup):
    """Maps library errors to exit code 1 with a one-line message (a traceback too with ``-v``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (LakeshrinkError, OSError) as exc:
            if _RAISE_ERRORS.get():
                raise
            state = ctx.find_object(CliState)
            if state is not None and state.verbose:
                import traceback

                traceback.print_exc()
            click.echo(f"lakeshrink: error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=LakeshrinkGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--output-format",
    "--output",
    "output",
    cls=AliasOption,
    hidden_aliases=("--output",),
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json prints exactly one JSON document on stdout (also: --json).",
)
@click.option("--json", "json_flag", is_flag=True, help="Same as --output-format json.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr; tracebacks on errors.")
@click.option("--progress/--no-progress", "show_progress", default=None, help="Progress bars on stderr (default: when it is a terminal).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), envvar=CONFIG_ENV,
              help="Option defaults per command (TOML; default ./lakeshrink.toml or [tool.lakeshrink] in ./pyproject.toml).")
@click.version_option(__version__, prog_name="lakeshrink")
@click.pass_context
def cli(ctx: click.Context, output: str, json_flag: bool, verbose: int, show_progress: bool | None, config_file: Path | None) -> None:
    """lakeshrink: cut what a data lake costs to keep, never losing a byte.

    \b
    logs         lossless log template compression
    encode       per-column Parquet encoding choices
    containment  redundant tables: find, plan, mark, rebuild
    demo         run every capability on bundled sample data
    """
    from lakeshrink import progress

    ctx.obj = CliState(output="json" if json_flag else output, verbose=verbose)
    found = find_config(config_file)
    if found is not None:
        path, table = found
        ctx.default_map = default_map(cli, table, path.parent)
    progress.set_enabled(show_progress)
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, stream=sys.stderr)




def main() -> None:
    # lakeshrink makes no BLAS calls, and numpy's OpenBLAS starts a thread per core when it is imported: about
    # 40 ms of wall time in every command that imports numpy (a ``logs decompress`` of 16 MiB takes 0.4 s)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cli(prog_name="lakeshrink")


if __name__ == "__main__":
    main()
