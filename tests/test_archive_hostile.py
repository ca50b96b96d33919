"""Issue 9, case 5: crafted archives (valid checksums, hostile contents) are refused, cheaply and clearly.

Each test builds an archive whose frames all pass their CRC-32 but whose contents lie: sizes that would make
a reader allocate gigabytes, chunk lists that would hand one file another file's bytes, duplicated paths. The
reader must refuse them with ``CorruptArchive`` *before* allocating (the messages say which bound was hit).
"""

from __future__ import annotations

import json
import lzma
import os
import shutil

import pytest
import zstandard
from archive_craft import LZMA, ZSTD, section, whole_payload, write
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.chunk import decode_chunk, read_meta
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.packing import pack, PackOptions, put_varint
from lakeshrink.errors import CorruptArchive

A, B = b"alpha line 1\nalpha line 2\n", b"beta line\n"


def _two(tmp_path, files, **kw):
    return write(tmp_path / "x.lslog", [(whole_payload(A), A), (whole_payload(B), B)], files, **kw)


def test_chunk_listed_twice_is_refused(tmp_path):
    archive = _two(tmp_path, [{"path": "a", "chunks": [0]}, {"path": "b", "chunks": [0]}])
    with pytest.raises(CorruptArchive, match="chunk"):
        decompress_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_negative_chunk_index_is_refused(tmp_path):
    archive = _two(tmp_path, [{"path": "a", "chunks": [0]}, {"path": "b", "chunks": [-1]}])
    with pytest.raises(CorruptArchive, match="chunk"):
        decompress_archive(archive, tmp_path / "out")


def test_duplicated_path_is_refused(tmp_path):
    archive = _two(tmp_path, [{"path": "a", "chunks": [0]}, {"path": "a", "chunks": [1]}])
    with pytest.raises(CorruptArchive, match="listed twice"):
        decompress_archive(archive, tmp_path / "out")


@pytest.mark.parametrize("path", ["../evil", "/abs", "a/../../b", "a//b", "./a", ""])
def test_unsafe_paths_are_refused(tmp_path, path):
    archive = _two(tmp_path, [{"path": path, "chunks": [0]}, {"path": "b", "chunks": [1]}])
    with pytest.raises(CorruptArchive, match="unsafe"):
        ArchiveReader(archive).close()


def test_frames_the_index_does_not_list_are_refused(tmp_path):  # found by benchmarks/fuzz.py (case 51,247)
    archive = _two(tmp_path, [], list_chunks=False)  # an index emptied of its files: nothing would be restored
    with pytest.raises(CorruptArchive, match="not listed"):
        decompress_archive(archive, tmp_path / "out")


def test_file_inside_file_is_refused(tmp_path):
    archive = _two(tmp_path, [{"path": "a", "chunks": [0]}, {"path": "a/b", "chunks": [1]}])
    with pytest.raises(CorruptArchive, match="inside"):
        decompress_archive(archive, tmp_path / "out")


def test_file_digest_catches_a_wrong_chunk_digest(tmp_path):
    archive = _two(tmp_path, [{"path": "a", "chunks": [0]}, {"path": "b", "chunks": [1], "sha256": "0" * 64}])
    with pytest.raises(CorruptArchive, match="SHA-256"):
        decompress_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zstd_bomb_is_refused_before_decompressing(tmp_path):
    big = zstandard.ZstdCompressor().compress(b"\0" * (64 << 20))  # 64 MiB of zeros in a few KiB
    payload = bytes([1]) + section(ZSTD, 64 << 20, big)
    archive = write(tmp_path / "x.lslog", [(payload, A)], [{"path": "a", "chunks": [0]}])
    with pytest.raises(CorruptArchive, match="declares"):
        decompress_archive(archive, tmp_path / "out.log")


def test_lzma_bomb_is_refused_without_decompressing_it(tmp_path):
    big = lzma.compress(b"\0" * (16 << 20), format=lzma.FORMAT_RAW,
                        filters=[{"id": lzma.FILTER_LZMA2, "preset": 1, "dict_size": 1 << 20}])
    payload = bytes([2]) + section(LZMA, len(A), big, 1 << 20)  # claims the right size, holds 16 MiB
    archive = write(tmp_path / "x.lslog", [(payload, A)], [{"path": "a", "chunks": [0]}])
    with pytest.raises(CorruptArchive, match=f"decompressed to {len(A) + 1} bytes"):
        decompress_archive(archive, tmp_path / "out.log")


def test_huge_lzma_dictionary_is_refused(tmp_path):
    payload = bytes([2]) + section(LZMA, len(A), b"\0" * 8, 1 << 40)
    archive = write(tmp_path / "x.lslog", [(payload, A)], [{"path": "a", "chunks": [0]}])
    with pytest.raises(CorruptArchive, match="dictionary"):
        decompress_archive(archive, tmp_path / "out.log")


def _columnar_archive(tmp_path, demo_data, edit, **fields):
    """A real columnar chunk whose metadata JSON is edited by ``edit`` (then re-packed, checksums valid)."""
    data = (demo_data / "logs" / "HDFS_1k.log").read_bytes()
    src = tmp_path / "src.lslog"
    compress_files([str(demo_data / "logs" / "HDFS_1k.log")], src)
    with ArchiveReader(src) as reader:
        payload = reader.chunk_payload(0)
    assert payload[0] == 0
    meta, streams = read_meta(payload)
    edit(meta)
    meta.pop("loc")
    from lakeshrink.codecs.logs.chunk import _pack

    new = _pack(meta, streams, PackOptions(zstd_level=1, try_lzma=False))
    return write(tmp_path / "x.lslog", [(new, data)], [{"path": "a", "chunks": [0]}],
                 chunk_fields=[{"mode": "columnar", **fields}])


def _first_int_header(meta):
    for d in meta["h"]:
        if d is not None and d["t"] == "int":
            return d
    raise AssertionError("no int header column")


def test_oversized_number_width_is_refused(tmp_path, demo_data):
    archive = _columnar_archive(tmp_path, demo_data, lambda m: _first_int_header(m).update(z=10**9))
    with pytest.raises(CorruptArchive, match="descriptor"):
        decompress_archive(archive, tmp_path / "out.log")


def test_constant_repeated_past_the_declared_size_is_refused(tmp_path, demo_data):
    def edit(meta):
        i = meta["h"].index(_first_int_header(meta))
        meta["h"][i] = {"t": "skel", "s": ["x" * 100_000, ""], "c": [meta["h"][i]]}  # same streams

    archive = _columnar_archive(tmp_path, demo_data, edit)
    with pytest.raises(CorruptArchive, match="allows"):
        decompress_archive(archive, tmp_path / "out.log")


def test_line_count_past_the_declared_size_is_refused(tmp_path, demo_data):
    archive = _columnar_archive(tmp_path, demo_data, lambda m: m.update(n=10**12))
    with pytest.raises(CorruptArchive, match="lines cannot fit"):
        decompress_archive(archive, tmp_path / "out.log")


def test_templates_and_grep_on_hostile_metadata_are_one_line_errors(tmp_path, demo_data):
    archive = _columnar_archive(tmp_path, demo_data, lambda m: m.update(tpl=[[1, 5, []]]),
                                templates=[[12345, 10]])
    for args in (["logs", "templates", str(archive)], ["logs", "grep", str(archive), "x"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "template" in result.output


def test_version_1_archives_still_decode(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parent / "data" / "v1_two_files.lslog"
    decompress_archive(fixture, tmp_path / "out")
    hdfs = Path(__file__).parents[1] / "lakeshrink" / "data" / "logs" / "HDFS_1k.log"
    assert (tmp_path / "out" / "a.log").read_bytes() == hdfs.read_bytes()[:30000]
    assert (tmp_path / "out" / "sub" / "b.txt").read_bytes() == b"plain line\nline two\n"


def test_v2_restores_mode_and_mtime(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.log").write_bytes(A)
    (src / "b.log").write_bytes(B)
    os.chmod(src / "a.log", 0o640)
    os.utime(src / "a.log", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    compress_files([str(src)], tmp_path / "x.lslog")
    old = os.umask(0o022)
    try:
        decompress_archive(tmp_path / "x.lslog", tmp_path / "out")
    finally:
        os.umask(old)
    st = os.stat(tmp_path / "out" / "a.log")
    assert st.st_mode & 0o777 == 0o640 and st.st_mtime_ns == 1_600_000_000_123_456_789
