"""Chunks encoded and decoded on several cores, handed back in input order, with few in flight.

Chunks are self-contained, so each can be encoded or decoded on its own. The work runs in worker
*processes*: the column encoders hold the GIL in places and share a per-process zstd probe, so threads
would not scale. Job ``i`` always runs on worker ``i % workers`` (one single-process executor each), so
with the same number of workers every worker sees the same chunks in the same order and the archive is the
same bytes run after run (each worker's template miner learns from the chunks it encodes).

Decoding runs on worker processes too (since round 4: decoding no longer imports polars, so a worker starts
in about 0.3 s of CPU, and it is Python that holds the GIL); ``threads=True`` runs jobs on threads instead.
Since round 5 a large file (:data:`ARROW_FILE_BYTES`) is decoded on threads: its chunks are rebuilt by Arrow's
kernels (:mod:`.arrow_decode`), and their sections decompressed by LZMA2 or zstd and hashed by zlib and
hashlib, all of which release the GIL; a thread costs no process start and hands its chunk back unpickled.

Memory stays bounded: at most ``workers + 1`` jobs are pending (one running on each worker, the next
one ready; fewer with ``ahead``); the caller blocks on the oldest before submitting more (measured: 969 MiB for the whole process
tree with two workers and 32 MiB chunks of a PostgreSQL jsonlog). Workers are started with ``spawn``
(polars' thread pool does not survive ``fork``), and only when there are at least two chunks to share.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lakeshrink.memory import libc as c_library

#: More workers than this bring little on logs (the parent's reading and writing become the limit) and each
#: holds a chunk's working set (about 12x the chunk while it is encoded).
MAX_WORKERS = 4
_ENV = "LAKESHRINK_WORKERS"


def default_workers() -> int:
    """The cores this process may run on (at most :data:`MAX_WORKERS`), or ``$LAKESHRINK_WORKERS``."""
    env = os.environ.get(_ENV, "").strip()
    if env.isdigit():
        return max(1, int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


#: Files of at least this many chunks are decoded on worker processes by default (each costs a process start
#: and an import of numpy, about 0.3 s of CPU; a chunk takes about 0.4-1 s to decode).
PARALLEL_DECODE_CHUNKS = 4


#: Files of two chunks or more with at least this many bytes in chunks the Arrow decoder takes (and at least
#: half their bytes there) are decoded on threads (:func:`decode_plan`); others as before. Four 8 MB chunks of
#: the PostgreSQL text log decoded in 1.3-2.0 s wall and 0.8-1.0 s of CPU on threads with Arrow, in 2.3-3.3 s
#: and 1.3-1.8 s on two worker processes with lists (load 8).
ARROW_FILE_BYTES = 16 << 20


@dataclass(frozen=True)
class DecodePlan:
    """How the chunks of one file are decoded: on ``workers`` threads or processes (1: in the caller)."""

    workers: int
    threads: bool


def decode_plan(chunk_bytes: list[int]) -> DecodePlan:
    """The plan for a file whose chunks hold ``chunk_bytes``: with two chunks or more, most of its bytes in
    chunks the Arrow decoder takes and :data:`ARROW_FILE_BYTES` or more there, on a thread per core
    (:func:`default_workers`; ``$LAKESHRINK_WORKERS`` sets the number); else as in round 4
    (:func:`decode_workers`)."""
    from lakeshrink.codecs.logs.chunk import ARROW_MAX_BYTES, ARROW_MIN_BYTES

    arrow_bytes = sum(b for b in chunk_bytes if ARROW_MIN_BYTES <= b <= ARROW_MAX_BYTES)
    if len(chunk_bytes) >= 2 and arrow_bytes >= ARROW_FILE_BYTES and 2 * arrow_bytes >= sum(chunk_bytes):
        return DecodePlan(default_workers(), threads=True)
    return DecodePlan(decode_workers(len(chunk_bytes)), threads=False)


def decode_workers(chunks: int) -> int:
    """Worker processes decoding the ``chunks`` chunks of a file: ``$LAKESHRINK_WORKERS`` when set, else one
    per core (:func:`default_workers`) for files of :data:`PARALLEL_DECODE_CHUNKS` chunks or more, else 1
    (decoded in this process). Processes, not threads: decoding is Python and numpy on lists of strings (no
    polars since round 4), which holds the GIL; round 3 measured threads slower than one thread."""
    env = os.environ.get(_ENV, "").strip()
    if env.isdigit():
        return max(1, int(env))
    return default_workers() if chunks >= PARALLEL_DECODE_CHUNKS else 1


class Ordered:
    """Runs jobs on worker processes (or inline with one worker) and hands each result to its callback in
    the order the jobs were given; plain callbacks (:meth:`then`) keep their place in that order too.

    The workers start with the second job: a lone job (a one-chunk input read from a pipe) runs inline.
    """

    def __init__(self, workers: int, threads: bool = False, initializer: Callable[[], None] | None = None,
                 ahead: int = 1):
        self.workers = max(1, workers)
        self.threads = threads
        # jobs given beyond one per worker before :meth:`submit` waits for the oldest: 1 keeps a job ready for
        # each worker to take; 0 none; -1 waits until a worker is free before returning, so the caller holds
        # at most ``workers - 1`` jobs' arguments while it prepares the next (the parent of a compression
        # then holds fewer chunks; the free worker waits only while the next chunk is read and sent)
        self.ahead = max(-1, ahead)
        # run once when a worker process starts: a module-level function of the caller's module, so unpickling
        # it imports that module (the codec) before the first job waits for it
        self.initializer = initializer
        self._executors: list[Executor] = []
        # entries [future, fn, args, callback]: a job not yet submitted has no future; a plain callback no fn
        self._pending: deque[list] = deque()
        self._jobs = 0

    def _start(self) -> None:
        if not self._executors:
            if self.threads:
                self._executors = [ThreadPoolExecutor(1) for _ in range(self.workers)]
            else:  # imported here: a file decoded in this process needs neither (about 20 ms of start-up)
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                ctx = multiprocessing.get_context("spawn")
                self._executors = [ProcessPoolExecutor(1, mp_context=ctx, initializer=self.initializer) for _ in range(self.workers)]

    def _run(self, entry: list) -> None:
        self._start()
        entry[0] = self._executors[self._jobs % self.workers].submit(entry[1], *entry[2])
        entry[2] = None  # the arguments are the executor's now (a chunk is not kept here for nothing)
        self._jobs += 1

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` run on the first worker now (inline with one worker), its result returned; the jobs
        given so far keep their order and their workers. Starts the workers (so a later lone job is not run
        inline): the parent of a parallel compression uses it to detect a log's format without importing
        polars itself."""
        if self.workers == 1:
            return fn(*args)
        for job in [e for e in self._pending if e[1] is not None and e[0] is None]:
            self._run(job)  # a job held back for a partner goes first, to its own worker
        self._start()
        return self._executors[0].submit(fn, *args).result()

    def submit(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None]) -> None:
        """Run ``fn(*args)`` (a module-level function: it is pickled) and later call ``then(result)``."""
        if self.workers == 1:
            self.flush()
            then(fn(*args))
            return
        entry = [None, fn, args, then]
        self._pending.append(entry)
        held = [e for e in self._pending if e[1] is not None and e[0] is None]
        if len(held) < 2 and not self._executors:
            return  # the first job waits for a second before any worker is started
        for job in held:
            self._run(job)
        while sum(e[1] is not None for e in self._pending) > max(0, self.workers + self.ahead):
            self._pop()
        while self._pending and (self._pending[0][1] is None or self._pending[0][0].done()):
            self._pop()

    def then(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after the callbacks of every job submitted so far."""
        if self._pending:
            self._pending.append([None, None, None, fn])
        else:
            fn()

    def _pop(self) -> None:
        future, fn, args, callback = self._pending.popleft()
        if fn is None:
            callback()
        elif future is None:  # the lone job nobody else came for: inline
            callback(fn(*args))
        else:
            callback(future.result())

    def flush(self) -> None:
        """Wait for every pending job and run the callbacks, in order."""
        while self._pending:
            self._pop()

    def close(self) -> None:
        """Stop the workers (pending jobs are cancelled: call :meth:`flush` first to keep their results)."""
        self._pending.clear()
        for executor in self._executors:
            executor.shutdown(wait=True, cancel_futures=True)
        self._executors = []

    def __enter__(self) -> Ordered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------ worker memory
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt parameters (glibc malloc.h)


#: Blocks of at least this many bytes are mapped on their own by a worker's malloc (:func:`tune_allocator`),
#: and the top of its heap is given back when this much is free there (glibc's default stays at 128 KiB once
#: the mmap threshold is set, so a freed array at the top was given back and faulted in again for the next).
MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 2 << 20


def tune_allocator() -> None:
    """In a worker process, before any chunk: blocks of :data:`MMAP_THRESHOLD` or more are mapped on their own
    (given back to the system when freed, instead of glibc raising its threshold up to 32 MiB and keeping
    them in the heap), and at most two malloc arenas for the encoder's threads. Measured on one 14 MB chunk of
    the full Loghub Linux log encoded twice in one process, with a threshold of 128 KiB: peak RSS 282/332 MiB
    before, 242/278 MiB after; between chunks 249/273 before, 142/147 MiB after.

    The threshold was 128 KiB until round 6; then every column array of a 17 MiB chunk (a 54,000-row int64
    column is 432 KiB) was mapped, faulted in page by page and unmapped again, a dozen times per integer
    column: 230,000-300,000 page faults and 0.50-0.74 s of system CPU per 17.8 MB chunk of the PostgreSQL
    text log, about a fifth of a worker's CPU. With 1 MiB (and 2 MiB kept at the heap top), on the 1 GB
    input of ``benchmarks/logs_memory.py``: 130 s of CPU instead of 167, tree peak 881 MiB (workers 394 and
    386 MiB). 4 MiB and 8 MiB saved 2% more CPU but peaked at 950 MiB (workers 404 and 395), too close to
    the 1 GB bound (``docs/logs.md``).
    """
    libc = c_library()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, 2)


# ---------------------------------------------------------------------------------------------- worker jobs
def warm_decoder() -> None:
    """A decoding worker's initializer: imports the chunk decoder before the first chunk waits for it."""
    import lakeshrink.codecs.logs.chunk  # noqa: F401


def decode_job(payload: bytes, raw_bytes: int, raw_crc: bytes, arrow: bool = True,
               copy: bool = True) -> tuple[bytes | memoryview, bool, str] | Exception:
    """In a worker: a chunk's bytes (bounded by its declared size; ``arrow``: see
    :func:`~lakeshrink.codecs.logs.chunk.decode_chunk`; ``copy=False`` on a thread: they may be a view of
    Arrow's buffer, see there), whether they match the little-endian CRC-32
    ``raw_crc``, and their SHA-256 (hex); a decoding failure is returned, not raised (the reader reports it as a
    corrupt chunk, with its offset)."""
    from lakeshrink.codecs.logs.chunk import decode_chunk

    try:
        raw = decode_chunk(payload, raw_bytes=raw_bytes, arrow=arrow, copy=copy)
    except Exception as exc:  # noqa: BLE001 - any failure of checksummed data is corruption (or a bug)
        return ValueError(f"{type(exc).__name__}: {exc}")
    return raw, zlib.crc32(raw) == int.from_bytes(raw_crc, "little"), hashlib.sha256(raw).hexdigest()
