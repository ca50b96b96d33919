"""Progress: bytes with throughput and time left; plain periodic lines when stderr is not a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lakeshrink import progress

ROOT = Path(__file__).resolve().parent.parent


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


def test_a_long_step_still_prints_lines_with_the_time_elapsed(monkeypatch, capsys):
    progress.set_enabled(None)
    monkeypatch.setenv(progress.INTERVAL_ENV, "0.2")
    try:
        with progress.progress("rewriting", total=2**20, unit="bytes") as bar:
            bar.step("writing big.parquet")
            time.sleep(1.5)  # no advance: the heartbeat thread speaks
    finally:
        progress.set_enabled(False)
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("rewriting: writing big.parquet: 0 B of 1.0 MiB (0%), 1 s elapsed") for line in lines)
    assert not any(t.name == "lakeshrink-progress" for t in threading.enumerate())  # stopped with the block


def _parquet_dir(root, files: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir()
    for i in range(files):
        n = 20_000
        pq.write_table(pa.table({"id": pa.array(range(i * n, (i + 1) * n)), "city": ["Oslo", "Lima"] * (n // 2)}),
                       root / f"part-{i}.parquet")
    return sum(p.stat().st_size for p in root.iterdir())


@pytest.mark.parametrize("files", [1, 3])
def test_encode_rewrite_prints_byte_progress_lines_when_stderr_is_not_a_terminal(tmp_path, files):
    from lakeshrink.units import human_bytes

    total = _parquet_dir(tmp_path / "in", files)
    src = tmp_path / "in" / "part-0.parquet" if files == 1 else tmp_path / "in"
    total = src.stat().st_size if files == 1 else total
    env = {**os.environ, progress.INTERVAL_ENV: "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "lakeshrink", "--output", "json", "encode", "rewrite", str(src),
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == files  # stdout holds the result only
    lines = proc.stderr.splitlines()
    for i in range(files):
        for step in ("reading", "writing", "verifying"):
            assert any(line.startswith(f"rewriting: {step} part-{i}.parquet: ") for line in lines), lines
    assert f"{human_bytes(total)} of {human_bytes(total)} (100%)" in lines[-1]
    assert all(" of " in line and "%)" in line for line in lines)
