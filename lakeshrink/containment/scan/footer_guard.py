"""Reading untrusted Parquet footers in a way that survives a native crash of the Parquet reader.

A corrupt footer can make pyarrow's C++ reader abort the whole process (an exception thrown where C++ cannot
propagate it: ``terminate called after throwing an instance of 'parquet::ParquetException'``, exit 134), which
no ``try`` can catch. So the local engine reads footers in a child process: one plain interpreter
(``python -m lakeshrink.containment.scan.footer_guard``) that imports only the footer reader (pyarrow.parquet:
no pandas, no polars, not the rest of the scan), started while the lake is being discovered (:func:`prestart`)
and reused batch after batch, scan after scan. Batches go in and footers come back as length-prefixed pickles
over its stdin and stdout. If the child dies, a new one is started and the batch is split in halves and read
again until the table that kills the reader is alone; it is reported in the scan's ``skipped``, and every other
table of the batch is read normally. A lake without corrupt files pays the pickling of the footers.

A plain child rather than :mod:`multiprocessing`: a forkserver child re-imports the parent's ``__main__`` script
and takes two interpreter starts; this one takes one start and a third of a second of imports.

An engine whose tasks run in processes of their own (:attr:`~lakeshrink.engine.Engine.isolates_tasks`: Spark's
Python workers) reads the footers in its tasks directly, a few tasks per core; a crash there fails that job, not
the caller, and the footers are then read again the guarded way, each task with its own child.

Why not a pure-Python Thrift check of the footer bytes first: the crashes come from semantic checks inside the
reader (a histogram of the wrong size, say), which a structural Thrift parser would not repeat without
re-implementing the reader; isolation covers every such path, present and future.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from lakeshrink.containment.scan.footers import FooterTask, TableFooter, failure_reason, read_footer
from lakeshrink.engine import Engine

_log = logging.getLogger(__name__)
#: Tables per request to the child process: small enough that the progress bar moves, large enough to amortise a
#: round trip.
BATCH = 64
CRASH_REASON = "the Parquet reader crashed on this table's footer (a corrupt or hostile file); not read"
_LENGTH = struct.Struct("<Q")
_READY = "lakeshrink footer reader ready"


class _ChildDied(Exception):
    """The child process ended while reading a batch (the reader crashed)."""


def _send(stream: IO[bytes], obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or raises EOFError when the other side is gone."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the other side closed the pipe")
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(body)


def _read_all(tasks: Sequence[FooterTask]) -> list[TableFooter]:
    return [read_footer(t) for t in tasks]


def _child_env() -> dict[str, str]:
    """The child's environment: the caller's, with the folder this lakeshrink was imported from first on
    ``PYTHONPATH`` (so the child imports the same code), and nothing else of the caller's ``sys.path``: a
    script's folder there may hold modules shadowing the standard library (``benchmarks/encodings.py``), which
    is also why the child runs with ``-P`` (no current directory on its path)."""
    import lakeshrink

    home = os.path.dirname(os.path.dirname(os.path.abspath(lakeshrink.__file__)))
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != home]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([home, *rest])}


class _Child:
    """The child process reading footers; started once, reused until it dies."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=_child_env(),  # the reader's dying words go nowhere: the table is reported
        )

        self.ready = False

    def read(self, tasks: list[FooterTask]) -> list[TableFooter]:
        if not self.ready:  # the child says READY once its imports are done: dying before that is no crash
            try:
                if _receive(self.proc.stdout) != _READY:
                    raise EOFError("unexpected greeting")
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                raise OSError(f"the footer reader's child process did not start ({exc})") from exc
            self.ready = True
        try:
            _send(self.proc.stdin, tasks)
            return _receive(self.proc.stdout)
        except (EOFError, BrokenPipeError, OSError) as exc:
            raise _ChildDied(str(exc)) from exc

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_CHILD: _Child | None = None
_LOCK = threading.RLock()  # one batch at a time goes through the child


def _child() -> _Child:
    global _CHILD
    with _LOCK:
        if _CHILD is None or _CHILD.proc.poll() is not None:
            _CHILD = _Child()
        return _CHILD


def _drop_child() -> None:
    global _CHILD
    with _LOCK:
        if _CHILD is not None:
            _CHILD.close()
            _CHILD = None


def prestart() -> None:
    """Start the child process now (it imports pyarrow while the caller discovers the lake), so that it is ready
    when the first footers are read. Never raises: :func:`read_footer_batch` meets any problem again."""
    try:
        _child()
    except OSError:
        pass


def read_footer_batch(tasks: Sequence[FooterTask]) -> list[TableFooter]:
    """:func:`~lakeshrink.containment.scan.footers.read_footer` of every task, in a child process; a table whose
    footer crashes the reader gets an ``error`` instead of taking the caller down."""
    tasks = list(tasks)
    if not tasks:
        return []
    with _LOCK:
        try:
            return _child().read(tasks)
        except _ChildDied:
            _drop_child()
        except OSError as exc:  # no child process can be started here (a sandbox without fork/exec, a broken path...)
            _drop_child()
            _log.warning("footers read in this process, without crash isolation: cannot start a child (%s)", exc)
            return _read_all(tasks)
    if len(tasks) == 1:
        return [TableFooter(tasks[0].ref.id, error=CRASH_REASON)]
    mid = len(tasks) // 2
    return read_footer_batch(tasks[:mid]) + read_footer_batch(tasks[mid:])


def read_footers(engine: Engine, tasks: Sequence[FooterTask], *, description: str) -> list[TableFooter]:
    """Every table's footer, in task order, on ``engine`` (see the module docstring): Parquet footers in batches
    through the child process, or, on an engine whose tasks are isolated processes, read directly by its tasks.

    Delta and Iceberg tables are read directly on every engine: their statistics come from the transaction log
    or the manifests (delta-rs, pyiceberg), and the libraries are already loaded by discovery; the only Parquet
    they may touch (an Iceberg table's position deletes) stage 3 reads in the same process anyway.
    """
    tasks = list(tasks)
    if not tasks:
        return []
    if engine.isolates_tasks:
        try:
            return engine.map(read_footer, tasks, description=description)
        except Exception as exc:  # noqa: BLE001 - a task's process died (or the job failed): read them guarded
            _log.warning("reading footers again, each batch in a child process: %s", failure_reason(exc))
        direct: list[FooterTask] = []
    else:
        direct = [t for t in tasks if t.ref.is_format_table]
    guarded = [t for t in tasks if not (t.ref.is_format_table and not engine.isolates_tasks)]
    batches = [guarded[i : i + BATCH] for i in range(0, len(guarded), BATCH)]
    found = {f.table: f for f in engine.map(read_footer, direct, description=description)} if direct else {}
    for batch in engine.map(read_footer_batch, batches, description=description):
        found.update((f.table, f) for f in batch)
    return [found[t.ref.id] for t in tasks]


def _warm() -> None:
    """In the child, at start: import the directory-table reader (pyarrow.dataset, which imports pandas) while
    the parent is still discovering the lake, so that the first batch does not wait for it."""
    try:
        import pyarrow.dataset  # noqa: F401
    except Exception:  # noqa: BLE001 - the batch that needs it reports the problem
        pass


def _serve() -> None:
    """The child's loop: a batch of tasks in, their footers out, until the parent closes the pipe."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the reply stream
    threading.Thread(target=_warm, name="lakeshrink-footer-warm", daemon=True).start()
    _send(stdout, _READY)
    while True:
        try:
            tasks = _receive(stdin)
        except EOFError:
            return
        _send(stdout, _read_all(tasks))


if __name__ == "__main__":
    _serve()
