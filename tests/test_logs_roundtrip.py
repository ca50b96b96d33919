"""Byte-exact round trips through the archive: all 16 Loghub-2k files, odd inputs, chunking, index, grep."""

from __future__ import annotations

import lzma
import struct

import pytest

from lakeshrink.codecs.logs.archive import MAGIC, ArchiveReader, bloom_may_contain, make_bloom
from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.grep import GrepStats, grep, list_templates
from lakeshrink.codecs.logs.header import known_formats


@pytest.mark.slow
@pytest.mark.parametrize("system", [k.name for k in known_formats()])
def test_loghub_round_trip_beats_xz(loghub, tmp_path, system):
    src = loghub / system / f"{system}_2k.log"
    archive = tmp_path / "a.lslog"
    report = compress_files([str(src)], archive, CodecConfig(format=system))
    out = tmp_path / "out.log"
    decompress_archive(archive, out)
    data = src.read_bytes()
    assert out.read_bytes() == data
    xz = len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    assert report.archive_bytes < xz, f"{system}: {report.archive_bytes} bytes vs xz -9e {xz}"


def test_detected_format_round_trip_of_a_directory(demo_data, tmp_path):
    archive = tmp_path / "logs.lslog"
    report = compress_files([str(demo_data / "logs")], archive)
    assert report.files == 3 and report.columnar_chunks >= 2
    out = tmp_path / "restored"
    decompress_archive(archive, out)
    for src in (demo_data / "logs").iterdir():
        assert (out / src.name).read_bytes() == src.read_bytes()


@pytest.mark.parametrize(
    "data",
    [b"", b"\n", b"no newline at end", b"a\r\nb\nc\r\n", b"\r\r\n\n", "ünïcode ✓\n".encode() * 50, b"\xff\x00\x01 bin\n" * 3],
)
def test_odd_inputs_round_trip(tmp_path, data):
    src = tmp_path / "in.log"
    src.write_bytes(data)
    archive = tmp_path / "a.lslog"
    compress_files([str(src)], archive, CodecConfig(allow_binary=True))
    decompress_archive(archive, tmp_path / "out.log")
    assert (tmp_path / "out.log").read_bytes() == data


def test_small_chunks_share_templates_and_keep_lines_whole(loghub, tmp_path):
    src = loghub / "HDFS" / "HDFS_2k.log"
    archive = tmp_path / "a.lslog"
    report = compress_files([str(src)], archive, CodecConfig(format="HDFS", chunk_bytes=32 << 10))
    assert report.chunks >= 8
    with ArchiveReader(archive) as reader:
        pieces = [reader.read_chunk(i) for i in range(len(reader.index.chunks))]
        assert all(p.endswith(b"\n") for p in pieces)
        assert sum(c.lines for c in reader.index.chunks) == 2000
    assert b"".join(pieces) == src.read_bytes()
    top = list_templates(archive)[0]
    assert top.lines > 100 and top.chunks == report.chunks


def test_archive_header_and_trailer(tmp_path, demo_data):
    archive = tmp_path / "a.lslog"
    compress_files([str(demo_data / "logs" / "HDFS_1k.log")], archive)
    raw = archive.read_bytes()
    assert raw[:8] == MAGIC and struct.unpack_from("<H", raw, 8)[0] == 2
    assert raw[-8:] == b"LSKLOGIX"


def test_grep_matches_and_template_filter(tmp_path, demo_data):
    src = demo_data / "logs" / "HDFS_1k.log"
    archive = tmp_path / "a.lslog"
    compress_files([str(src)], archive, CodecConfig(format="HDFS"))
    lines = src.read_bytes().split(b"\n")
    expected = [i + 1 for i, line in enumerate(lines) if b"PacketResponder 1 " in line]
    got = list(grep(archive, "PacketResponder 1 ", fixed=True))
    assert [m.line_number for m in got] == expected
    assert all(lines[m.line_number - 1].rstrip(b"\r") == m.line for m in got)
    template = list_templates(archive)[0].template
    stats = GrepStats()
    only = list(grep(archive, ".", template=template, stats=stats))
    assert len(only) == list_templates(archive)[0].lines
    stats = GrepStats()
    assert list(grep(archive, "x", template="no such template <*>", stats=stats)) == []
    assert stats.skipped_by["template"] == 1 and stats.chunks_read == 0


def test_bloom_skips_large_chunks():
    data = b"".join(b"2024-01-01 INFO request %d served\n" % i for i in range(200_000))
    bloom = make_bloom(data)
    assert bloom
    assert bloom_may_contain(bloom, b"request 12345 served")
    assert not bloom_may_contain(bloom, b"ZZZQQQXXX")


def test_time_range_reads_only_overlapping_chunks(loghub, tmp_path):
    src = loghub / "HDFS" / "HDFS_2k.log"
    archive = tmp_path / "a.lslog"
    compress_files([str(src)], archive, CodecConfig(format="HDFS", chunk_bytes=32 << 10))
    lo, hi = "081109 210000", "081109 213000"
    expected = [line.rstrip(b"\r") for line in src.read_bytes().split(b"\n") if lo.encode() <= b" ".join(line.split()[:2]) <= hi.encode()]
    stats = GrepStats()
    got = [m.line for m in grep(archive, ".", time_from=lo, time_to=hi, stats=stats)]
    assert got == expected and len(got) > 10
    assert stats.skipped_by["time"] > 0 and stats.chunks_read < stats.chunks
