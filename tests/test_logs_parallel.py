"""Chunks encoded and decoded in worker processes: same bytes back, same archive run after run,
results in input order, failures reported as the chunk's corruption."""

from __future__ import annotations

import struct
import threading
import zlib

import pytest

from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.parallel import PARALLEL_DECODE_CHUNKS, Ordered, decode_job, decode_workers, default_workers
from lakeshrink.errors import CorruptArchive


def _slow_square(x: int) -> int:
    return x * x


def test_ordered_keeps_the_order_of_jobs_and_plain_callbacks():
    seen: list = []
    with Ordered(2, threads=True) as pool:
        for i in range(7):
            pool.submit(_slow_square, i, then=seen.append)
            if i == 3:
                pool.then(lambda: seen.append("mark"))
        pool.flush()
    assert seen == [0, 1, 4, 9, "mark", 16, 25, 36]


@pytest.mark.parametrize("ahead,most", [(1, 3), (0, 2), (-1, 1)])
def test_ordered_holds_at_most_workers_plus_ahead_jobs(ahead, most):
    seen: list = []
    with Ordered(2, threads=True, ahead=ahead) as pool:
        for i in range(6):
            pool.submit(_slow_square, i, then=seen.append)
            assert sum(e[1] is not None for e in pool._pending) <= most
        pool.flush()
    assert seen == [0, 1, 4, 9, 16, 25]


def test_call_runs_on_a_worker_and_keeps_the_order_of_jobs():
    seen: list = []
    with Ordered(2) as pool:  # processes
        pool.submit(_slow_square, 3, then=seen.append)  # held for a partner until call() starts the workers
        assert pool.call(_slow_square, 5) == 25
        pool.submit(_slow_square, 4, then=seen.append)
        pool.flush()
    assert seen == [9, 16]


def test_a_lone_job_runs_inline_without_starting_workers():
    seen: list = []
    pool = Ordered(2)
    pool.submit(threading.get_ident, then=seen.append)
    pool.flush()
    assert seen == [threading.get_ident()] and not pool._executors
    pool.close()


def test_default_workers_follows_the_environment(monkeypatch):
    monkeypatch.setenv("LAKESHRINK_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.delenv("LAKESHRINK_WORKERS")
    assert 1 <= default_workers() <= 4


def test_files_of_several_chunks_are_decoded_on_every_core(monkeypatch):
    monkeypatch.delenv("LAKESHRINK_WORKERS", raising=False)
    assert decode_workers(PARALLEL_DECODE_CHUNKS - 1) == 1
    assert decode_workers(PARALLEL_DECODE_CHUNKS) == default_workers()
    monkeypatch.setenv("LAKESHRINK_WORKERS", "1")
    assert decode_workers(100) == 1


def test_decode_job_returns_failures_instead_of_raising():
    assert isinstance(decode_job(b"\x07junk", 10, b"\0\0\0\0"), Exception)


@pytest.fixture(scope="module")
def two_files(tmp_path_factory, loghub):
    root = tmp_path_factory.mktemp("par")
    (root / "sub").mkdir()
    (root / "a.log").write_bytes((loghub / "HDFS" / "HDFS_2k.log").read_bytes() * 2)
    (root / "sub" / "b.log").write_bytes((loghub / "Linux" / "Linux_2k.log").read_bytes())
    return root


def test_parallel_archive_round_trips_and_is_the_same_every_run(two_files, tmp_path):
    config = CodecConfig(chunk_bytes=96 << 10, workers=2)
    first, second = tmp_path / "1.lslog", tmp_path / "2.lslog"
    report = compress_files([str(two_files)], first, config)
    compress_files([str(two_files)], second, config)
    assert report.chunks >= 8 and report.columnar_chunks >= report.chunks - 2
    assert first.read_bytes() == second.read_bytes()  # chunk i always goes to worker i % 2
    out = tmp_path / "out"
    decompress_archive(first, out)  # decoded on worker processes (several chunks per file)
    for src in two_files.rglob("*.log"):
        assert (out / src.relative_to(two_files)).read_bytes() == src.read_bytes()
    with ArchiveReader(first) as reader:
        files = [b"".join(reader.iter_file(i, workers=1)) for i in range(len(reader.index.files))]
        assert files == [b"".join(reader.iter_file(i, workers=2)) for i in range(len(reader.index.files))]


def test_a_damaged_chunk_is_reported_with_its_offset_when_decoded_on_workers(two_files, tmp_path):
    archive = tmp_path / "a.lslog"
    compress_files([str(two_files / "a.log")], archive, CodecConfig(chunk_bytes=96 << 10, workers=1))
    with ArchiveReader(archive) as reader:
        entry = reader.index.chunks[1]
    data = bytearray(archive.read_bytes())
    # break the payload behind an intact frame: flip a byte and fix the frame's CRC so only decoding can tell
    body_start = entry.offset + 12
    length = struct.unpack_from("<I", data, entry.offset + 4)[0]
    data[body_start + length // 2] ^= 0xFF
    struct.pack_into("<I", data, entry.offset + 8, zlib.crc32(bytes(data[body_start : body_start + length])))
    archive.write_bytes(bytes(data))
    with ArchiveReader(archive) as reader, pytest.raises(CorruptArchive) as err:
        for _ in reader.iter_file(0, workers=2):
            pass
    assert err.value.offset == entry.offset
