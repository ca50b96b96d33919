"""lakeshrink.memory: freed heap pages go back to the system when asked (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakeshrink.memory import libc

SCRIPT = """
import re
import numpy as np
from lakeshrink.memory import release_memory

def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024

blocks = [np.ones(2048, np.uint8) for _ in range(150_000)]  # ~300 MiB of small heap blocks
keep = blocks[::50]  # a few stay alive, scattered through the heap (its top cannot simply shrink)
del blocks
before = rss()
release_memory()
print(before, rss())
"""


@pytest.mark.skipif(libc() is None, reason="not glibc: nothing to release")
def test_release_memory_gives_freed_heap_pages_back():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert before - after > 150, (before, after)  # MiB


def test_release_memory_does_not_import_pyarrow():
    """The logs CLI decompresses small archives without pyarrow; asking for memory back must not import it."""
    code = "import sys; from lakeshrink.memory import release_memory; release_memory(); print('pyarrow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_release_memory_empties_pyarrows_pool_once_it_is_loaded(monkeypatch):
    from lakeshrink.memory import release_memory

    calls = []

    class Pool:
        def release_unused(self):
            calls.append(True)

    class FakePyarrow:
        @staticmethod
        def default_memory_pool():
            return Pool()

    monkeypatch.setitem(sys.modules, "pyarrow", FakePyarrow)
    release_memory()
    assert calls == [True]
