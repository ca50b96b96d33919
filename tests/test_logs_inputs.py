"""Logs input side: --exclude, compressed (rotated) inputs, modes and mtimes restored, salvage from the CLI."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import pytest
import zstandard
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.logs.files import collect_inputs, excluded
from lakeshrink.codecs.logs.rotated import archived_name, sniff
from lakeshrink.errors import InputError

WRITERS = {
    ".gz": gzip.compress,
    ".zst": lambda b: zstandard.ZstdCompressor().compress(b),
    ".xz": lzma.compress,
    ".bz2": bz2.compress,
}
MTIME = 1_600_000_000_123_456_789


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def hdfs(demo_data) -> bytes:
    return (demo_data / "logs" / "HDFS_1k.log").read_bytes()


def _lines(data: bytes, n: int) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:n])


@pytest.fixture
def rotated(tmp_path, hdfs):
    """app.log, app.log.1 plain; app.log.2.gz .. app.log.5.bz2 compressed; old/x.tmp to exclude."""
    src = tmp_path / "in"
    (src / "old").mkdir(parents=True)
    expected = {"app.log": hdfs, "app.log.1": _lines(hdfs, 300)}
    (src / "app.log").write_bytes(hdfs)
    (src / "app.log.1").write_bytes(expected["app.log.1"])
    for n, (suffix, write) in enumerate(WRITERS.items(), start=2):
        text = _lines(hdfs, 100 * n)
        (src / f"app.log.{n}{suffix}").write_bytes(write(text))
        expected[f"app.log.{n}"] = text
    (src / "old" / "x.tmp").write_bytes(b"\x00\x01 not a log\n")
    return src, expected


def test_compressed_inputs_are_archived_as_their_log_lines_without_the_suffix(tmp_path, rotated):
    src, expected = rotated
    gz = src / "app.log.2.gz"
    os.chmod(gz, 0o600)
    os.utime(gz, ns=(MTIME, MTIME))
    assert run("logs", "compress", src, "-o", tmp_path / "a.lslog", "--exclude", "old").exit_code == 0
    result = run("logs", "decompress", tmp_path / "a.lslog", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == expected
    st = os.stat(out / "app.log.2")
    assert st.st_mode & 0o777 == 0o600 and st.st_mtime_ns == MTIME
    grep = run("logs", "grep", "-F", "-H", tmp_path / "a.lslog", "is added to blk_2113880130496815041")
    assert "app.log.5:081109 211403" in grep.output  # the lines of a bzip2 input are searchable


def test_format_is_told_by_magic_bytes_not_by_the_name(tmp_path, hdfs):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "rotated.1").write_bytes(gzip.compress(hdfs))  # gzip without a .gz suffix: name kept
    (tmp_path / "in" / "notes.gz").write_bytes(b"plain text that only looks compressed by name\n")
    assert run("logs", "compress", tmp_path / "in", "-o", tmp_path / "a.lslog").exit_code == 0
    assert run("logs", "decompress", tmp_path / "a.lslog", "-o", tmp_path / "out").exit_code == 0
    assert (tmp_path / "out" / "rotated.1").read_bytes() == hdfs
    assert (tmp_path / "out" / "notes.gz").read_bytes() == b"plain text that only looks compressed by name\n"
    assert sniff(b"\x1f\x8b\x08") == "gzip" and sniff(b"\xfd7zXZ\x00") == "xz" and sniff(b"2026-11-30") is None
    assert archived_name("a/b.log.zst", "zstd") == "a/b.log" and archived_name("a/.gz", "gzip") == "a/.gz"


def test_stdin_may_be_compressed(tmp_path, hdfs):
    archive = tmp_path / "a.lslog"
    result = CliRunner().invoke(cli, ["logs", "compress", "-", "-o", str(archive)], input=zstandard.ZstdCompressor().compress(hdfs))
    assert result.exit_code == 0, result.output
    out = CliRunner().invoke(cli, ["logs", "decompress", str(archive), "-o", "-"])
    assert out.stdout_bytes == hdfs


@pytest.mark.parametrize("suffix,damage", [(".gz", "cut"), (".gz", "flip"), (".zst", "cut"), (".xz", "cut"),
                                           (".bz2", "flip")])
def test_a_corrupt_or_truncated_input_names_the_file_and_writes_nothing(tmp_path, hdfs, suffix, damage):
    data = bytearray(WRITERS[suffix](hdfs * 4))
    if damage == "cut":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x55
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.log").write_bytes(hdfs)
    bad = tmp_path / "in" / f"b.log{suffix}"
    bad.write_bytes(bytes(data))
    archive = tmp_path / "a.lslog"
    archive.write_bytes(b"the previous archive\n")
    result = run("logs", "compress", tmp_path / "in", "-o", archive, "--overwrite")
    assert result.exit_code == 1
    assert str(bad) in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert archive.read_bytes() == b"the previous archive\n"  # the old archive is untouched, no temporary is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lslog", "in"]


def test_exclude_globs_like_tar(tmp_path, rotated):
    src, expected = rotated
    names = [f.name for f in collect_inputs([str(src)], exclude=["old", "*.1"])]
    assert names == ["app.log", "app.log.2", "app.log.3", "app.log.4", "app.log.5"]
    assert [f.name for f in collect_inputs([str(src)], exclude=["old/*.tmp", "app.log.[2-5]*"])] == ["app.log", "app.log.1"]
    assert excluded("x/old/y.log", ["old"]) and not excluded("x/older/y.log", ["old"])
    with pytest.raises(InputError, match="every input"):
        collect_inputs([str(src)], exclude=["*"])
    result = run("logs", "compress", src, "-o", tmp_path / "a.lslog")  # old/x.tmp is binary: refused by name
    assert result.exit_code == 1 and "x.tmp" in result.output and "binary" in result.output


def test_exclude_from_the_config_file(tmp_path, rotated, monkeypatch):
    src, expected = rotated
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeshrink.toml").write_text('[logs.compress]\nexclude = ["old", "*.gz", "*.zst"]\n')
    result = CliRunner().invoke(cli, ["--output", "json", "logs", "compress", str(src), "-o", "a.lslog"])
    assert result.exit_code == 0, result.output
    assert '"files": 4' in result.output


def test_two_inputs_archived_under_one_name_are_refused(tmp_path, hdfs):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "app.log.2").write_bytes(hdfs)
    (tmp_path / "in" / "app.log.2.gz").write_bytes(gzip.compress(hdfs))
    result = run("logs", "compress", tmp_path / "in", "-o", tmp_path / "a.lslog")
    assert result.exit_code == 1 and "would both be archived as" in result.output and "--exclude" in result.output
    assert run("logs", "compress", tmp_path / "in", "-o", tmp_path / "a.lslog", "--exclude", "*.gz").exit_code == 0


def test_decompressing_one_file_restores_its_mode_and_mtime(tmp_path, hdfs):
    src = tmp_path / "a.log"
    src.write_bytes(hdfs)
    os.chmod(src, 0o640)
    os.utime(src, ns=(MTIME, MTIME))
    assert run("logs", "compress", src, "-o", tmp_path / "a.lslog").exit_code == 0
    old = os.umask(0o022)
    try:
        for target in (tmp_path / "new.log", tmp_path / "existing.log"):
            if target.name == "existing.log":
                target.write_bytes(b"x")
                os.chmod(target, 0o666)
            assert run("logs", "decompress", tmp_path / "a.lslog", "-o", target, "--overwrite").exit_code == 0
            st = os.stat(target)
            assert (st.st_mode & 0o777, st.st_mtime_ns, target.read_bytes()) == (0o640, MTIME, hdfs)
    finally:
        os.umask(old)


def test_salvage_from_the_cli_gives_the_intact_chunks_of_a_truncated_multi_file_archive(tmp_path, rotated):
    src, expected = rotated
    archive = tmp_path / "a.lslog"
    assert run("logs", "compress", src, "-o", archive, "--exclude", "old", "--chunk-mb", "1").exit_code == 0
    data = archive.read_bytes()
    cut = tmp_path / "cut.lslog"
    cut.write_bytes(data[: len(data) * 3 // 4])
    failed = run("logs", "decompress", cut, "-o", tmp_path / "nope")
    assert failed.exit_code == 1 and "truncated" in failed.output and not (tmp_path / "nope").exists()
    assert "logs salvage" in failed.output  # the error points at the way out
    result = run("logs", "salvage", cut, "-o", tmp_path / "salvaged")
    assert result.exit_code == 0, result.output
    assert "recovered" in result.output and "truncated" in result.output
    chunks = [p.read_bytes() for p in sorted((tmp_path / "salvaged").iterdir())]
    originals = [expected[name] for name in sorted(expected)]  # the archive holds the files in this order
    assert 2 <= len(chunks) < len(originals) and chunks == originals[: len(chunks)]
    again = run("logs", "salvage", cut, "-o", tmp_path / "salvaged")
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.spark
def test_spark_engine_reads_compressed_inputs_and_excludes_too(spark, tmp_path, rotated):
    from lakeshrink.codecs.logs.files import decompress_archive
    from lakeshrink.spark_ext.logs import compress_files_spark

    src, expected = rotated
    compress_files_spark(spark, [str(src)], tmp_path / "a.lslog", exclude=["old"])
    decompress_archive(tmp_path / "a.lslog", tmp_path / "out")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == expected


def test_salvage_skips_a_damaged_chunk_and_goes_on(tmp_path, rotated):
    """A flipped bit inside one chunk (the archive is whole): the chunks after it are recovered too."""
    from lakeshrink.codecs.logs.archive import ArchiveReader

    src, expected = rotated
    archive = tmp_path / "a.lslog"
    assert run("logs", "compress", src, "-o", archive, "--exclude", "old").exit_code == 0
    with ArchiveReader(archive) as reader:
        second = reader.index.chunks[1]
    data = bytearray(archive.read_bytes())
    data[second.offset + 40] ^= 0x10
    (tmp_path / "hit.lslog").write_bytes(bytes(data))
    result = run("logs", "salvage", tmp_path / "hit.lslog", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "1 damaged chunk(s) skipped" in result.output and str(second.offset) in result.output
    got = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    originals = [expected[name] for name in sorted(expected)]
    assert "chunk-000001.log" not in got and len(got) == len(originals) - 1
    assert all(got[f"chunk-{i:06d}.log"] == originals[i] for i in range(len(originals)) if i != 1)


def test_python_api_and_help_use_the_same_names(tmp_path, demo_data):
    from lakeshrink import api

    out = api.logs_compress([demo_data / "logs"], tmp_path / "a.lslog", exclude=["LICENSE*"])
    assert out["files"] == 2
    again = api.logs_compress([demo_data / "logs"], tmp_path / "a.lslog", exclude=["LICENSE*", "OpenSSH*"], overwrite=True)
    assert again["files"] == 1
    help_text = run("logs", "compress", "--help").output
    assert "--overwrite" in help_text and "--exclude" in help_text and "--force" not in help_text
