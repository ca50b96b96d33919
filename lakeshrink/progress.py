"""Progress bars on stderr for long work, silent when stderr is not a terminal.

Library code wraps long loops in :func:`progress`; the bar is drawn by rich on stderr only when stderr is a
TTY and progress has not been switched off (``set_enabled(False)``, done by the CLI for ``--output json``
when asked, and by tests). Nothing is ever written to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_enabled: bool | None = None  # None: decide from whether stderr is a TTY


def set_enabled(enabled: bool | None) -> None:
    """Force progress bars on or off; ``None`` restores the default (on when stderr is a TTY)."""
    global _enabled
    _enabled = enabled


def is_enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return sys.stderr.isatty()


class Tracker:
    """Handle given to the body of :func:`progress`; a no-op when progress is off."""

    def __init__(self, bar=None, task=None):
        self._bar = bar
        self._task = task

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, amount)

    def update(self, *, total: float | None = None, completed: float | None = None, description: str | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=total, completed=completed, description=description)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Tracker]:
    """Show a progress bar for a unit of work.

    Args:
        description: what is being done ("stage 2: min-max pruning").
        total: number of steps, or None when unknown (a spinner is shown).
    """
    if not is_enabled():
        yield Tracker()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        yield Tracker(bar, bar.add_task(description, total=total))
