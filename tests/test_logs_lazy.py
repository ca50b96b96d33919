"""Which paths import polars: reading an archive back never does, and the parent of a parallel compression
(which only reads input and writes chunks) does not either; the workers do the encoding. Each check runs in a
fresh interpreter, where ``sys.modules`` tells."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lakeshrink.codecs.logs.lazy import LazyModule


def _run(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()


def test_the_lazy_module_imports_on_first_attribute():
    assert _run("""
        import sys
        from lakeshrink.codecs.logs.lazy import LazyModule
        m = LazyModule("fractions")
        before = "fractions" in sys.modules
        m.Fraction(1, 2)
        print(before, "fractions" in sys.modules, "Fraction" in vars(m))
    """)[-1] == "False True True"
    assert repr(LazyModule("json")) == "<lazy module 'json'>"


@pytest.fixture(scope="module")
def big_log(tmp_path_factory, loghub):
    """Several chunks of whole lines (HDFS, 96 KiB chunks) and an archive of them made in this process."""
    root = tmp_path_factory.mktemp("lazy")
    log = root / "big.log"
    log.write_bytes((loghub / "HDFS" / "HDFS_2k.log").read_bytes() * 3)
    return log


def test_the_parent_of_a_parallel_compression_never_imports_polars(big_log, tmp_path):
    archive = tmp_path / "a.lslog"
    out = _run(f"""
        import sys
        from lakeshrink.codecs.logs.codec import CodecConfig
        from lakeshrink.codecs.logs.files import compress_files
        report = compress_files([{str(big_log)!r}], {str(archive)!r}, CodecConfig(chunk_bytes=96 << 10, workers=2))
        print(report.chunks, report.columnar_chunks, report.format)
        print("polars" in sys.modules)
    """)
    chunks, columnar, *_ = out[-2].split()
    assert int(chunks) >= 4 and int(columnar) == int(chunks)
    assert out[-1] == "False"
    # the same archive as the one made with polars in the parent (one worker per chunk the same way)
    local = tmp_path / "b.lslog"
    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import compress_files

    compress_files([str(big_log)], local, CodecConfig(chunk_bytes=96 << 10, workers=2))
    assert local.read_bytes() == archive.read_bytes()


def test_reading_an_archive_back_never_imports_polars(big_log, tmp_path):
    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import compress_files

    archive, back = tmp_path / "a.lslog", tmp_path / "back.log"
    compress_files([str(big_log)], archive, CodecConfig(chunk_bytes=1 << 20, workers=1))  # one chunk of 6,000 lines
    out = _run(f"""
        import sys
        from lakeshrink.codecs.logs.files import decompress_archive
        decompress_archive({str(archive)!r}, {str(back)!r})
        print("polars" in sys.modules)
    """)
    assert out[-1] == "False"
    assert back.read_bytes() == big_log.read_bytes()


def test_grep_for_an_absent_literal_never_imports_polars(big_log, tmp_path):
    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import compress_files

    archive = tmp_path / "a.lslog"
    compress_files([str(big_log)], archive, CodecConfig(chunk_bytes=1 << 20, workers=1))
    out = _run(f"""
        import sys
        from lakeshrink.codecs.logs.grep import grep, GrepStats
        stats = GrepStats()
        found = list(grep({str(archive)!r}, "no such text in HDFS", fixed=True, stats=stats))
        print(len(found), stats.chunks_read, "polars" in sys.modules)
        found = list(grep({str(archive)!r}, "blk_-6670958622368987959"))  # a literal without metacharacters
        print(len(found), "polars" in sys.modules)
    """)
    assert out[-2] == "0 1 False"
    expected = sum(b"blk_-6670958622368987959" in line for line in big_log.read_bytes().split(b"\n"))
    assert expected > 0 and out[-1] == f"{expected} True"


def test_compress_and_decompress_on_the_command_line_never_import_rich(big_log, tmp_path):
    """Their result lines are printed by ``cli.logs.say``: importing ``rich.console`` was 5-9% of a
    ``logs decompress`` of 2-16 MB (round 10)."""
    archive, back = tmp_path / "a.lslog", tmp_path / "back.log"
    out = _run(f"""
        import sys
        from lakeshrink.cli.main import main
        for argv in (["compress", {str(big_log)!r}, "-o", {str(archive)!r}],
                     ["decompress", {str(archive)!r}, "-o", {str(back)!r}]):
            sys.argv = ["lakeshrink", "logs", *argv]
            try:
                main()
            except SystemExit as exc:
                assert not exc.code, exc.code
        print(sorted(m for m in sys.modules if m == "rich" or m.startswith("rich.")))
    """)
    assert out[-1] == "[]"
    assert out[0].startswith("1 file(s), 6,000 lines, ") and out[1].startswith("format: <Date> <Time> <Pid>")
    assert out[2] == f"wrote {archive}" and out[3].startswith(f"wrote {back}: 1 file(s), ")
    assert back.read_bytes() == big_log.read_bytes()


@pytest.mark.parametrize("text", [
    "wrote /tmp/a b.log: 1 file(s), 16.0 MiB in 0.13s",
    "[bold]x[/bold] :smile: [red]",  # no markup, no emoji
    "bell\x07 backspace\x08 vt\x0b ff\x0c cr\r end",  # what rich takes out
    "a\tbb\tccc\t\tx",  # tabs to columns of 8
    "é ü 日本 " * 40,  # wider than any terminal: not wrapped
])
def test_say_prints_what_richs_console_printed(text, capsys):
    import io

    from rich.console import Console

    from lakeshrink.cli._common import CliState
    from lakeshrink.cli.logs import say

    rich_out = io.StringIO()
    Console(file=rich_out, soft_wrap=True, width=160, markup=False, emoji=False, highlight=False).print(text)
    say(CliState(), {"x": 1}, text, text)
    assert capsys.readouterr().out == rich_out.getvalue() * 2
    say(CliState(output="json"), {"x": 1}, text)
    assert capsys.readouterr().out.split() == ["{", '"x":', "1", "}"]
