"""The C library's allocator, where the process is the one to tune it (glibc only; elsewhere nothing is done).

glibc keeps the pages of freed small blocks in its heaps (one per thread arena) until it is asked to give them
back, so a long process that freed millions of small objects and buffers still holds them: the containment scan
of the 10,000-table lake held about a gigabyte after stage 3 that nothing used.
"""

from __future__ import annotations

import ctypes
import functools
import sys


@functools.cache
def libc() -> ctypes.CDLL | None:
    """glibc, when the process runs on it (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        lib = ctypes.CDLL("libc.so.6")
        return lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return None


def release_memory() -> None:
    """Give the memory freed so far back to the system: pyarrow's pool's unused pages, then glibc's heap pages
    (``malloc_trim``; every arena). pyarrow is not imported for it: a process that has not imported pyarrow has
    nothing in its pool (and the logs CLI decompresses small archives without it)."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    lib = libc()
    if lib is not None:
        lib.malloc_trim(0)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt parameters (glibc malloc.h)

#: :func:`keep_freed_blocks`: blocks up to this size come from the heap and are reused once freed.
KEEP_BLOCKS_BELOW = 256 << 20


def keep_freed_blocks() -> None:
    """For a short process that allocates and frees the same large buffers over and over (``logs decompress``:
    per chunk its sections, columns and a copy of its bytes, 17 MiB each): blocks under
    :data:`KEEP_BLOCKS_BELOW` come from one heap (one arena for every thread) and freed ones are kept for the
    next, instead of being mapped, faulted in page by page and unmapped again for each chunk. Measured in
    round 7 on the 96 MB PostgreSQL text log: 115,000 -> 60,000-80,000 page faults, 0.46 -> 0.18-0.30 s of
    system CPU. Only for processes that end soon after (the command line); the heap is not given back until
    :func:`release_memory`."""
    lib = libc()
    if lib is not None:
        lib.mallopt(_M_MMAP_THRESHOLD, KEEP_BLOCKS_BELOW)
        lib.mallopt(_M_TRIM_THRESHOLD, 2 * KEEP_BLOCKS_BELOW)
        lib.mallopt(_M_ARENA_MAX, 1)
