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
