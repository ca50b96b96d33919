"""The chunk size of parallel compression keeps the process tree within its memory bound."""

from __future__ import annotations


def test_parallel_chunks_are_sized_to_the_memory_bound():
    from lakeshrink.codecs.logs.files import PARALLEL_MEMORY, WORKING_SET, parallel_chunk_bytes

    assert parallel_chunk_bytes(32 << 20, 1) == 32 << 20  # one worker: the chunk asked for
    for workers in (2, 3, 4):
        size = parallel_chunk_bytes(32 << 20, workers)
        assert size % (1 << 20) == 0 and 4 << 20 <= size < 32 << 20
        assert (WORKING_SET * workers + workers + 3) * size <= PARALLEL_MEMORY
    assert parallel_chunk_bytes(2 << 20, 2) == 2 << 20  # never larger than asked
