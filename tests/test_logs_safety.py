"""Issue 9, cases 3 and 9 for logs: outputs never replace inputs or existing files silently; grep cannot hang."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.logs.files import compress_files
from lakeshrink.codecs.logs.grep import grep
from lakeshrink.errors import InputError


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_compress_refuses_an_existing_output(tmp_path):
    src = tmp_path / "a.log"
    src.write_bytes(b"one\ntwo\n")
    other = tmp_path / "other.log"
    other.write_bytes(b"precious\n")
    result = run("logs", "compress", src, "-o", other)
    assert result.exit_code == 1 and "already exists" in result.output
    assert other.read_bytes() == b"precious\n"
    assert run("logs", "compress", src, "-o", other, "--force").exit_code == 0


def test_compress_never_replaces_its_own_input_even_with_force(tmp_path):
    src = tmp_path / "a.log"
    src.write_bytes(b"one\ntwo\n")
    for extra in ([], ["--force"]):
        result = run("logs", "compress", src, "-o", src, *extra)
        assert result.exit_code == 1 and "own inputs" in result.output
        assert src.read_bytes() == b"one\ntwo\n"


@pytest.fixture
def binary_archive(tmp_path):
    src = tmp_path / "b.log"
    src.write_bytes(b"ok line\n" + b"a" * 50 + b"\xff\xfe\n" + b"caf\xc3\xa9 \xff\n")
    archive = tmp_path / "b.lslog"
    compress_files([str(src)], archive)
    return archive


@pytest.mark.timeout(30)
def test_grep_backtracking_pattern_on_non_utf8_lines_is_linear(binary_archive):
    start = time.perf_counter()
    assert list(grep(binary_archive, "(a|aa)+$")) == []
    assert time.perf_counter() - start < 5


def test_grep_matches_non_utf8_lines_bytewise(binary_archive):
    hits = [m.line for m in grep(binary_archive, "caf.* .")]
    assert hits == [b"caf\xc3\xa9 \xff"]
    assert [m.line_number for m in grep(binary_archive, "a{50}")] == [2]


@pytest.mark.parametrize("pattern", [r"\p{L}+x", r"(?P<x>a)(?P=x)", r"(?<=a)b", "[[:alpha:]]+q", "a{99999}"])
def test_grep_patterns_give_results_or_one_line_errors(binary_archive, pattern):
    result = run("logs", "grep", binary_archive, pattern)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 1:
        assert "invalid pattern" in result.output


def test_grep_invalid_pattern_raises_input_error(binary_archive):
    with pytest.raises(InputError, match="invalid pattern"):
        list(grep(binary_archive, "(unclosed"))


def test_salvage_recovers_the_intact_chunks_of_a_truncated_archive(tmp_path, demo_data):
    from lakeshrink.codecs.logs.codec import CodecConfig

    src = demo_data / "logs" / "HDFS_1k.log"
    archive = tmp_path / "a.lslog"
    compress_files([str(src)], archive, CodecConfig(chunk_bytes=16 << 10, level=3))
    data = archive.read_bytes()
    (tmp_path / "cut.lslog").write_bytes(data[: len(data) * 2 // 3])
    result = run("logs", "salvage", tmp_path / "cut.lslog", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    pieces = sorted((tmp_path / "out").iterdir())
    recovered = b"".join(p.read_bytes() for p in pieces)
    assert len(pieces) >= 3 and src.read_bytes().startswith(recovered)
