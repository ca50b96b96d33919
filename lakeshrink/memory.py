"""The C library's allocator, where the process is the one to tune it (glibc only; elsewhere nothing is done).

glibc keeps the pages of freed small blocks in its heaps (one per thread arena) until it is asked to give them
back, so a long process that freed millions of small objects and buffers still holds them: the containment scan
of the 10,000-table lake held about a gigabyte after stage 3 that nothing used.
"""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def libc() -> ctypes.CDLL | None:
    """glibc, when the process runs on it (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        lib = ctypes.CDLL("libc.so.6")
        return lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return None


def release_memory() -> None:
    """Give the heap pages freed so far back to the system (``malloc_trim``; every arena)."""
    lib = libc()
    if lib is not None:
        lib.malloc_trim(0)
