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
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from lakeshrink import serde
from lakeshrink.units import human_bytes  # noqa: F401  (re-exported for the command modules)
from lakeshrink.engine import ENGINE_NAMES, SPARK_MASTER_ENV, Engine, get_engine


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

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160, markup=False, emoji=False,
                   highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text with styled pieces (``("skipped", "yellow")``); data in it is shown exactly."""
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
    """Add ``--engine local|spark`` and ``--spark-master`` to a command."""

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
        help=f"Master for a new SparkSession with --engine spark (default ${SPARK_MASTER_ENV}, else local[*]).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def open_engine(engine: str, spark_master: str | None) -> Engine:
    """The engine chosen on the command line; use it as a context manager."""
    return get_engine(engine, spark_master=spark_master)
