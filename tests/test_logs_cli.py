"""The ``lakeshrink logs`` commands, and bad input: clear errors, exit code 1, no partial archive left behind."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.errors import CorruptArchive, InputError


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result


@pytest.fixture
def hdfs(demo_data):
    return demo_data / "logs" / "HDFS_1k.log"


def test_compress_decompress_single_file(tmp_path, hdfs):
    archive = tmp_path / "h.lslog"
    result = run("--output", "json", "logs", "compress", str(hdfs), "-o", str(archive), "--format", "HDFS", "--level", "9")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["lines"] == 1000 and doc["input_bytes"] == hdfs.stat().st_size and doc["ratio"] > 5
    out = tmp_path / "h.log"
    result = run("logs", "decompress", str(archive), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == hdfs.read_bytes()
    assert run("logs", "decompress", str(archive), "-o", str(out)).exit_code == 1  # exists: refused
    assert run("logs", "decompress", str(archive), "-o", str(out), "--force").exit_code == 0


def test_compress_directory_and_stdin(tmp_path, demo_data, hdfs):
    archive = tmp_path / "d.lslog"
    assert run("logs", "compress", str(demo_data / "logs"), "-o", str(archive)).exit_code == 0
    out = tmp_path / "restored"
    assert run("logs", "decompress", str(archive), "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (demo_data / "logs").iterdir())
    archive2 = tmp_path / "s.lslog"
    result = CliRunner().invoke(cli, ["logs", "compress", "-", "-o", str(archive2)], input=hdfs.read_bytes())
    assert result.exit_code == 0, result.output
    decompress_archive(archive2, tmp_path / "s.log")
    assert (tmp_path / "s.log").read_bytes() == hdfs.read_bytes()


def test_templates_and_grep_commands(tmp_path, hdfs):
    archive = tmp_path / "h.lslog"
    compress_files([str(hdfs)], archive)
    result = run("--output", "json", "logs", "templates", str(archive), "--limit", "3")
    doc = json.loads(result.output)
    assert len(doc["templates"]) == 3 and doc["templates"][0]["lines"] >= doc["templates"][1]["lines"]
    assert "<*>" in doc["templates"][0]["template"]
    text = run("logs", "templates", str(archive)).output
    assert doc["templates"][0]["template"][:20] in text
    result = run("logs", "grep", str(archive), r"blk_-?\d+ terminating", "-n")
    expected = [line for line in hdfs.read_bytes().split(b"\n") if b"terminating" in line]
    assert result.exit_code == 0 and len(result.stdout_bytes.splitlines()) == len(expected)
    result = run("--output", "json", "logs", "grep", str(archive), "NameSystem.allocateBlock", "-F")
    doc = json.loads(result.output)
    assert doc["matches"] and all("NameSystem.allocateBlock" in m["line"] for m in doc["matches"])
    assert run("logs", "grep", str(archive), "([unclosed").exit_code == 1
    result = run("logs", "grep", str(archive), "INFO", "--from", "081109 204000", "--to", "081109 204100")
    keys = [b" ".join(line.split()[:2]) for line in result.stdout_bytes.splitlines()]
    assert keys and all(b"081109 204000" <= k <= b"081109 204100" for k in keys)


# ---------------------------------------------------------------------------------------------- bad input
def test_missing_input_is_a_clear_error(tmp_path):
    archive = tmp_path / "x.lslog"
    result = run("logs", "compress", str(tmp_path / "nope.log"), "-o", str(archive))
    assert result.exit_code == 1 and "no such file" in result.stderr and "nope.log" in result.stderr
    assert not archive.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_input(tmp_path):
    src = tmp_path / "secret.log"
    src.write_text("a\n")
    src.chmod(0)
    with pytest.raises(InputError, match="not readable"):
        compress_files([str(src)], tmp_path / "x.lslog")


def test_format_that_matches_nothing(tmp_path, hdfs):
    archive = tmp_path / "x.lslog"
    result = run("logs", "compress", str(hdfs), "-o", str(archive), "--format", r"\[<Time>\] <Program> - <Content>")
    assert result.exit_code == 1 and "matches none" in result.stderr and "HDFS_1k.log" in result.stderr
    assert not archive.exists() and not list(tmp_path.glob(".x.lslog*"))


def test_huge_single_line_and_binary_junk(tmp_path, rng):
    long_line = tmp_path / "long.log"
    long_line.write_bytes(b"x" * (10 << 20))
    with pytest.raises(InputError, match="longer than"):
        compress_files([str(long_line)], tmp_path / "a.lslog")
    assert not (tmp_path / "a.lslog").exists()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(rng.integers(0, 256, size=100_000, dtype="uint8").tobytes())
    result = run("logs", "compress", str(junk), "-o", str(tmp_path / "b.lslog"))
    assert result.exit_code == 1 and "binary" in result.stderr and "junk.bin" in result.stderr
    assert not (tmp_path / "b.lslog").exists()
    # both are stored exactly when the user asks for it
    from lakeshrink.codecs.logs.codec import CodecConfig

    compress_files([str(long_line), str(junk)], tmp_path / "c.lslog", CodecConfig(max_line_bytes=0, allow_binary=True))
    decompress_archive(tmp_path / "c.lslog", tmp_path / "c")
    assert (tmp_path / "c" / "long.log").read_bytes() == long_line.read_bytes()
    assert (tmp_path / "c" / "junk.bin").read_bytes() == junk.read_bytes()


def test_existing_archive_survives_a_failed_compress(tmp_path, hdfs):
    archive = tmp_path / "keep.lslog"
    compress_files([str(hdfs)], archive)
    before = archive.read_bytes()
    with pytest.raises(InputError):
        compress_files([str(hdfs), str(tmp_path / "missing.log")], archive)
    assert archive.read_bytes() == before


@pytest.fixture
def archive_bytes(tmp_path, hdfs):
    archive = tmp_path / "h.lslog"
    compress_files([str(hdfs)], archive)
    return archive, archive.read_bytes()


def test_corrupt_chunk_is_detected(tmp_path, archive_bytes):
    archive, raw = archive_bytes
    damaged = bytearray(raw)
    damaged[len(raw) // 3] ^= 0x40
    archive.write_bytes(bytes(damaged))
    with pytest.raises(CorruptArchive, match="checksum"):
        decompress_archive(archive, tmp_path / "out.log")
    assert not (tmp_path / "out.log").exists()
    result = run("logs", "decompress", str(archive), "-o", str(tmp_path / "out.log"))
    assert result.exit_code == 1 and "h.lslog" in result.stderr


@pytest.mark.parametrize("cut", [5, 100, -1, -20])
def test_truncated_archive_is_detected(tmp_path, archive_bytes, cut):
    archive, raw = archive_bytes
    archive.write_bytes(raw[:cut])
    with pytest.raises(CorruptArchive):
        ArchiveReader(archive)


def test_not_an_archive(tmp_path, hdfs):
    with pytest.raises(CorruptArchive, match="magic"):
        ArchiveReader(hdfs)
