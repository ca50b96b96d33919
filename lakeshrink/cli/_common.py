"""What every lakeshrink command shares: global state, engine options, output, errors.

Conventions:
* ``--output json`` prints exactly one JSON document on stdout and nothing else there; text goes to stdout,
  diagnostics and progress bars to stderr.
* Exit codes: 0 success, 1 a :class:`~lakeshrink.errors.LakeshrinkError` (message on stderr, traceback only with
  ``-v``), 2 usage errors (click's own).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from lakeshrink import serde
from lakeshrink.engine import ENGINE_NAMES, SPARK_MASTER_ENV, SPARK_REMOTE_ENV, Engine, get_engine
from lakeshrink.units import human_bytes  # noqa: F401  (re-exported for the command modules)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


@dataclass
class CliState:
    output: str = "text"
    verbose: int = 0

    @property
    def json(self) -> bool:
        return self.output == "json"


pass_state = click.make_pass_decorator(CliState, ensure=True)


def stdout_console() -> Console:
    """Console for results on stdout; when piped, wide enough that tables do not wrap.

    Markup, emoji codes and highlighting are off: what is printed comes from data (templates such as
    ``sshd[preauth]``, formats with ``\\[``, table names), and rich would take ``[x]`` for a style tag and
    ``:x:`` for an emoji. Styles are given with :func:`styled` (``rich.text.Text``), never with markup.
    """
    import sys

    from rich.console import Console

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160, markup=False, emoji=False,
                   highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text with styled pieces (``("skipped", "yellow")``); data in it is shown exactly."""
    from rich.text import Text

    return Text.assemble(*parts)


def emit(state: CliState, payload: Any, render_text: Callable[[Console], None] | None = None) -> None:
    """Print a command's result: the whole ``payload`` as one JSON document, or ``render_text`` for people."""
    if state.json:
        click.echo(serde.dumps(payload))
    elif render_text is not None:
        render_text(stdout_console())
    else:
        click.echo(serde.dumps(payload))


def engine_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--engine local|spark``, ``--spark-master`` and ``--spark-remote`` to a command; the command gets
    one ``engine`` argument: an :class:`EngineChoice` to open with :func:`open_engine`."""

    @click.option(
        "--engine",
        type=click.Choice(ENGINE_NAMES),
        default="local",
        show_default=True,
        help="local: in-process pyarrow+polars (no JVM). spark: the active SparkSession, or a new one.",
    )
    @click.option(
        "--spark-master",
        envvar=SPARK_MASTER_ENV,
        default=None,
        metavar="URL",
        help=f"Master for a new classic SparkSession with --engine spark (default ${SPARK_MASTER_ENV}, else local[*]).",
    )
    @click.option(
        "--spark-remote",
        envvar=SPARK_REMOTE_ENV,
        default=None,
        metavar="URL",
        help=f"Spark Connect server for --engine spark, e.g. sc://host:15002 (default ${SPARK_REMOTE_ENV}); "
             "not with --spark-master.",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, engine: str, spark_master: str | None, spark_remote: str | None, **kwargs: Any) -> Any:
        if engine == "spark" and spark_master and spark_remote:
            raise click.UsageError(
                f"both a Spark master ({spark_master}) and a Spark Connect server ({spark_remote}) are set: give "
                f"--spark-master/${SPARK_MASTER_ENV} or --spark-remote/${SPARK_REMOTE_ENV}, not both")
        return fn(*args, engine=EngineChoice(engine, spark_master, spark_remote), **kwargs)

    return wrapper


@dataclass(frozen=True)
class EngineChoice:
    """The engine options of a command line (not opened yet: a Spark session starts only when needed)."""

    name: str
    spark_master: str | None = None
    spark_remote: str | None = None


def open_engine(choice: EngineChoice) -> Engine:
    """The engine chosen on the command line; use it as a context manager."""
    if choice.name != "spark":
        return get_engine(choice.name)
    return get_engine(choice.name, spark_master=choice.spark_master, spark_remote=choice.spark_remote)


class AliasOption(click.Option):
    """An option whose old spellings still work but are not shown in ``--help`` (renamed flags stay accepted).

    Every command writes to ``-o/--output PATH`` and replaces an existing output only with ``--overwrite``; the
    former ``--out``, ``--output-dir`` and ``--force`` are such hidden aliases.
    """

    def __init__(self, *args: Any, hidden_aliases: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_aliases = set(hidden_aliases)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown, self.opts = self.opts, [o for o in self.opts if o not in self.hidden_aliases]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown
