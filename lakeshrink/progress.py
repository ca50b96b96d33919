"""Progress on stderr for long work: a bar on a terminal, plain periodic lines in logs, nothing when switched off.

Library code wraps long loops in :func:`progress` and advances it as work is done, in items or in bytes
(``unit="bytes"``: the bar shows bytes done of the total, the throughput and the time left). Where progress goes:

* stderr is a terminal: a rich bar (transient);
* stderr is not a terminal (Airflow and Databricks job logs, ``2> file``): one plain line every
  :data:`LINE_INTERVAL` seconds, e.g. ``compressing logs: 23.5 MiB of 50.0 MiB (47%), 3.1 MiB/s, 9 s left``, also
  while one long step runs without advancing (a heartbeat thread: ``rewriting: writing big.parquet: 0 B of
  32.0 MiB (0%), 20 s elapsed``); work that ends sooner prints nothing;
* ``$LAKESHRINK_PROGRESS_INTERVAL`` sets the seconds between plain lines (e.g. 60 for a quieter job log);
* ``set_enabled(False)`` (``--no-progress``; the tests): nothing. ``set_enabled(True)`` forces the bar.

Nothing is ever written to stdout.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from lakeshrink.units import human_bytes

Unit = Literal["items", "bytes"]
LINE_INTERVAL = 10.0  # seconds between plain progress lines
INTERVAL_ENV = "LAKESHRINK_PROGRESS_INTERVAL"
_enabled: bool | None = None  # None: a bar on a terminal, plain lines otherwise


def set_enabled(enabled: bool | None) -> None:
    """Force progress bars on or off; ``None`` restores the default (a bar on a terminal, plain lines otherwise)."""
    global _enabled
    _enabled = enabled


def is_enabled() -> bool:
    """Whether a progress bar is drawn (plain lines are the other way progress shows)."""
    if _enabled is not None:
        return _enabled
    return sys.stderr.isatty()


def line_interval() -> float:
    """Seconds between plain lines: ``$LAKESHRINK_PROGRESS_INTERVAL`` if set to a number >= 0, else
    :data:`LINE_INTERVAL` (0 prints a line at every step, for tests and very chatty logs)."""
    try:
        value = float(os.environ.get(INTERVAL_ENV, ""))
    except ValueError:
        return LINE_INTERVAL
    return value if value >= 0 else LINE_INTERVAL


def _amount(value: float, unit: Unit) -> str:
    return human_bytes(value) if unit == "bytes" else f"{value:,.0f}"


def describe(description: str, done: float, total: float | None, seconds: float, unit: Unit) -> str:
    """One plain progress line: done of total (share), rate and time left when they are known."""
    parts = [f"{description}: {_amount(done, unit)}"]
    if total:
        parts[0] += f" of {_amount(total, unit)} ({min(done / total, 1):.0%})"
    if seconds > 0 and done > 0:
        rate = done / seconds
        parts.append(f"{human_bytes(rate)}/s" if unit == "bytes" else f"{rate:,.1f}/s")
        if total and total > done:
            parts.append(f"{(total - done) / rate:,.0f} s left")
    elif seconds >= 1:
        parts.append(f"{seconds:,.0f} s elapsed")
    return ", ".join(parts)


class Tracker:
    """Handle given to the body of :func:`progress`; a no-op when progress is off."""

    def __init__(self, bar=None, task=None, *, lines: bool = False, description: str = "", total: float | None = None,
                 unit: Unit = "items", interval: float | None = None):
        self._bar = bar
        self._task = task
        self._lines = lines
        self._description = self._base = description
        self._total = total
        self._unit = unit
        self._interval = LINE_INTERVAL if interval is None else interval
        self._done = 0.0
        self._start = self._last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if lines and self._interval > 0:  # lines also while a long step runs without advancing
            self._beat = threading.Thread(target=self._heartbeat, name="lakeshrink-progress", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self._interval / 4):
            self._maybe_line()

    def close(self) -> None:
        """Stop the heartbeat (called when the :func:`progress` block ends)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join()

    def _maybe_line(self) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._lines or now - self._last < self._interval:
                return
            self._last = now
            line = describe(self._description, self._done, self._total, now - self._start, self._unit)
        print(line, file=sys.stderr, flush=True)

    def advance(self, amount: float = 1) -> None:
        self._done += amount
        if self._bar is not None:
            self._bar.advance(self._task, amount)
        self._maybe_line()

    def step(self, what: str) -> None:
        """Name the step under way (shown after the description: ``rewriting: writing part-3.parquet``)."""
        text = f"{self._base}: {what}"
        self._description = text
        if self._bar is not None:
            from rich.markup import escape  # a file name is data: "[x]" is not a style

            self._bar.update(self._task, description=escape(text))
        self._maybe_line()

    def update(self, *, total: float | None = None, completed: float | None = None, description: str | None = None) -> None:
        if total is not None:
            self._total = total
        if completed is not None:
            self._done = completed
        if description is not None:
            self._description = self._base = description
        if self._bar is not None:
            self._bar.update(self._task, total=total, completed=completed, description=description)
        self._maybe_line()


@contextmanager
def progress(description: str, total: float | None = None, *, unit: Unit = "items") -> Iterator[Tracker]:
    """Show progress for a unit of work.

    Args:
        description: what is being done ("stage 2: min-max pruning").
        total: number of steps (or bytes, with ``unit="bytes"``), or None when unknown (a spinner is shown).
        unit: ``"items"`` or ``"bytes"`` (bytes done of the total, throughput and time left).
    """
    if _enabled is False:
        yield Tracker()
        return
    if not is_enabled():
        tracker = Tracker(lines=True, description=description, total=total, unit=unit, interval=line_interval())
        try:
            yield tracker
        finally:
            tracker.close()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    counts = (DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeElapsedColumn(), TimeRemainingColumn()) if unit == "bytes" else (
        MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(), *counts,
                  console=Console(stderr=True), transient=True) as bar:
        yield Tracker(bar, bar.add_task(description, total=total), description=description)
