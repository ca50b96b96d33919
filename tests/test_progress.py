"""Progress: bytes with throughput and time left; plain periodic lines when stderr is not a terminal."""

from __future__ import annotations

import pytest

from lakeshrink import progress


def test_plain_line_says_bytes_share_rate_and_time_left():
    line = progress.describe("compressing logs", 25 * 2**20, 50 * 2**20, 5.0, "bytes")
    assert line == "compressing logs: 25.0 MiB of 50.0 MiB (50%), 5.0 MiB/s, 5 s left"
    assert progress.describe("verify", 3, None, 0.0, "items") == "verify: 3"


@pytest.fixture
def plain_lines(monkeypatch):
    """The default mode (not a terminal), with a line at every advance."""
    progress.set_enabled(None)
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)
    yield
    progress.set_enabled(False)


def test_lines_when_stderr_is_not_a_terminal(plain_lines, capsys):
    with progress.progress("rewriting", total=4 * 2**20, unit="bytes") as bar:
        bar.advance(2**20)
        bar.advance(3 * 2**20)
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("rewriting: 1.0 MiB of 4.0 MiB (25%)")
    assert lines[1].startswith("rewriting: 4.0 MiB of 4.0 MiB (100%)")


def test_short_work_prints_nothing_and_off_means_off(capsys, monkeypatch):
    progress.set_enabled(None)
    try:
        with progress.progress("quick", total=1) as bar:  # less than LINE_INTERVAL: no line
            bar.advance()
    finally:
        progress.set_enabled(False)
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)
    with progress.progress("off", total=1) as bar:
        bar.advance()
    assert capsys.readouterr().err == ""


def test_logs_compress_reports_bytes(plain_lines, capsys, tmp_path, demo_data):
    from lakeshrink.codecs.logs.files import compress_files

    log = demo_data / "logs" / "HDFS_1k.log"
    compress_files([str(log)], tmp_path / "a.lslog")
    err = capsys.readouterr().err
    size = log.stat().st_size
    from lakeshrink.units import human_bytes

    assert f"compressing logs: {human_bytes(size)} of {human_bytes(size)} (100%)" in err
