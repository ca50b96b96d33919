"""Reading untrusted Parquet footers in a way that survives a native crash of the Parquet reader.

A corrupt footer can make pyarrow's C++ reader abort the whole process (an exception thrown where C++ cannot
propagate it: ``terminate called after throwing an instance of 'parquet::ParquetException'``, exit 134), which
no ``try`` can catch. So footers are read in a child process (forked from a forkserver that has already imported
pyarrow, and reused batch after batch). If the child dies, a new one is started and the batch is split in halves
and read again until the table that kills the reader is alone; it is reported in the scan's ``skipped``, and
every other table of the batch is read normally. A lake without corrupt files pays the pickling of the footers.

Why not a pure-Python Thrift check of the footer bytes first: the crashes come from semantic checks inside the
reader (a histogram of the wrong size, say), which a structural Thrift parser would not repeat without
re-implementing the reader; isolation covers every such path, present and future.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lakeshrink.containment.scan.footers import FooterTask, TableFooter, read_footer
from lakeshrink.engine import Engine

_log = logging.getLogger(__name__)
#: Tables per child process: small enough that the progress bar moves, large enough to amortise the fork.
BATCH = 64
CRASH_REASON = "the Parquet reader crashed on this table's footer (a corrupt or hostile file); not read"


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["lakeshrink.containment.scan.footers"])
        return ctx
    return multiprocessing.get_context("spawn")


def _quiet() -> None:
    """In the child: the reader's dying words go nowhere (the table is reported in ``skipped`` instead)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _read_all(tasks: Sequence[FooterTask]) -> list[TableFooter]:
    return [read_footer(t) for t in tasks]


_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    """One child process per lakeshrink process, reused by every batch (a new one after a crash)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=_context(), initializer=_quiet)
        return _POOL


def _start() -> None:
    try:
        _pool().submit(int).result()
    except Exception:  # noqa: BLE001 - read_footer_batch meets the same problem again and handles it
        pass


def prestart() -> None:
    """Start the child process in the background (a new interpreter importing pyarrow takes seconds on a
    loaded machine), so that it is ready when the first footers are read; discovery runs meanwhile."""
    threading.Thread(target=_start, name="lakeshrink-footer-guard-start", daemon=True).start()


def _drop_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None


def read_footer_batch(tasks: Sequence[FooterTask]) -> list[TableFooter]:
    """:func:`~lakeshrink.containment.scan.footers.read_footer` of every task, in a child process; a table whose
    footer crashes the reader gets an ``error`` instead of taking the caller down."""
    tasks = list(tasks)
    if not tasks:
        return []
    try:
        return _pool().submit(_read_all, tasks).result()
    except BrokenProcessPool:
        _drop_pool()
        if len(tasks) == 1:
            return [TableFooter(tasks[0].ref.id, error=CRASH_REASON)]
        mid = len(tasks) // 2
        return read_footer_batch(tasks[:mid]) + read_footer_batch(tasks[mid:])
    except (OSError, EOFError) as exc:  # no child process can be started here (sandbox, no /dev/shm...)
        _drop_pool()
        _log.warning("footers read in this process, without crash isolation: cannot start a child (%s)", exc)
        return _read_all(tasks)


def read_footers(engine: Engine, tasks: Sequence[FooterTask], *, description: str) -> list[TableFooter]:
    """Every table's footer, in task order, each batch isolated (see the module docstring), on ``engine``."""
    batches = [list(tasks[i : i + BATCH]) for i in range(0, len(tasks), BATCH)]
    return [f for batch in engine.map(read_footer_batch, batches, description=description) for f in batch]
