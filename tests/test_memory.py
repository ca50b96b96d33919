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
