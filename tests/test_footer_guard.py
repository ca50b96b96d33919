"""The footer reader's child process (issue 14: the local engine's fixed costs) and the Spark engine's direct
footer reads with their guarded fallback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.lake import discover
from lakeshrink.containment.scan import footer_guard
from lakeshrink.containment.scan.footers import FooterTask, read_footer
from lakeshrink.engine import get_engine

ROOT = Path(__file__).resolve().parents[1]


def _corrupt_lake(demo_data: Path, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake", lake)
    planes = lake / "planes.parquet"
    data = bytearray(planes.read_bytes())
    data[33_799] ^= 0x4E  # a definition-level histogram of the wrong size: pyarrow aborts (see test_footer_crash)
    planes.write_bytes(bytes(data))
    return lake


def test_the_footer_reader_imports_no_pandas_polars_or_whole_scan():
    """What the child process imports: the footer reader and pyarrow.parquet, not pandas (through
    pyarrow.dataset), polars or the rest of the scan (through the package's __init__)."""
    code = ("import sys, json, lakeshrink.containment.scan.footer_guard; "
            "print(json.dumps([m for m in ('pandas', 'polars', 'pyarrow.dataset', 'lakeshrink.containment.scan.run',"
            " 'lakeshrink.containment.scan.fused') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert json.loads(out.stdout) == []


def test_the_scan_package_still_exports_its_names():
    import lakeshrink.containment.scan as scan

    assert scan.scan_lake is scan.run.scan_lake
    with pytest.raises(AttributeError):
        scan.no_such_name  # noqa: B018


def _small_lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    lake.mkdir()
    base = pa.table({"k": list(range(30)), "g": [i % 3 for i in range(30)], "s": [f"v{i}" for i in range(30)]})
    pq.write_table(base, lake / "one.parquet")
    pq.write_table(base.slice(0, 10), lake / "two.parquet")
    pq.write_to_dataset(base, lake / "by_g", partition_cols=["g"])
    from deltalake import write_deltalake

    write_deltalake(str(lake / "delta_t"), base.slice(5, 10))
    return lake


def test_guarded_footers_equal_direct_reads_in_task_order(tmp_path):
    lake = discover(_small_lake(tmp_path))
    tasks = [FooterTask(lake.root, ref) for ref in lake.tables]
    assert {r.format for r in lake.tables} == {"parquet", "directory", "delta"}
    guarded = footer_guard.read_footers(get_engine("local"), tasks, description="footers")
    direct = [read_footer(t) for t in tasks]
    assert [f.table for f in guarded] == [t.ref.id for t in tasks]
    assert [(f.table, f.schema, f.rows, f.stats, f.error) for f in guarded] == [
        (f.table, f.schema, f.rows, f.stats, f.error) for f in direct]


def test_the_child_is_reused_and_replaced_when_it_dies(tmp_path):
    lake = discover(_small_lake(tmp_path))
    tasks = [FooterTask(lake.root, ref) for ref in lake.tables if not ref.is_format_table]
    first = footer_guard.read_footer_batch(tasks)
    pid = footer_guard._child().proc.pid
    assert footer_guard.read_footer_batch(tasks) == first
    assert footer_guard._child().proc.pid == pid  # one child, batch after batch
    footer_guard._child().proc.kill()
    footer_guard._child().proc.wait()
    assert footer_guard.read_footer_batch(tasks) == first  # a new one
    assert footer_guard._child().proc.pid != pid


def test_a_crashing_footer_is_isolated_in_process_too(demo_data, tmp_path):
    """The crash bisection without the CLI: only the table that kills the reader is lost."""
    lake = discover(_corrupt_lake(demo_data, tmp_path))
    tasks = [FooterTask(lake.root, ref) for ref in lake.tables]
    footers = footer_guard.read_footers(get_engine("local"), tasks, description="footers")
    errors = {f.table: f.error for f in footers if f.error}
    assert errors == {"planes.parquet": footer_guard.CRASH_REASON}
    assert len(footers) == len(tasks)


@pytest.mark.spark
def test_spark_reads_footers_in_its_tasks_and_falls_back_after_a_crash(demo_data, tmp_path, spark, caplog):
    from lakeshrink.containment.scan import scan_lake

    engine = get_engine("spark", spark=spark)
    lake = _corrupt_lake(demo_data, tmp_path)
    with caplog.at_level("WARNING", logger=footer_guard.__name__):
        result = scan_lake(lake, engine=engine)
    assert {s.table: s.reason for s in result.skipped} == {"planes.parquet": footer_guard.CRASH_REASON}
    assert any("again" in r.getMessage() for r in caplog.records)  # the direct read failed, the guarded one ran
    assert result.edges == scan_lake(lake).edges


def test_a_rescan_starts_the_child_only_for_a_changed_parquet_table(tmp_path):
    from lakeshrink.containment.scan import scan_lake

    root = _small_lake(tmp_path)
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    footer_guard._drop_child()
    assert scan_lake(root, cache=cache).edges == first.edges  # nothing changed: no footer to read
    assert footer_guard._CHILD is None
    from deltalake import write_deltalake

    write_deltalake(str(root / "delta_t"), pa.table({"k": [99], "g": [0], "s": ["new"]}), mode="append")
    again = scan_lake(root, cache=cache)  # a Delta table changed: its log is read in this process
    assert footer_guard._CHILD is None
    assert again.edges == scan_lake(root).edges
    footer_guard._drop_child()
    pq.write_table(pq.read_table(root / "two.parquet").slice(0, 5), root / "two.parquet")
    again = scan_lake(root, cache=cache)  # a Parquet file changed: its footer is read in the child
    assert footer_guard._CHILD is not None
    assert again.edges == scan_lake(root).edges


def test_a_script_folder_shadowing_the_standard_library_does_not_reach_the_child(demo_data, tmp_path):
    """The caller's script folder is on its sys.path, not on the child's (a benchmarks/encodings.py once made every
    child die at start, and every table was reported as crashing the reader)."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "encodings.py").write_text("raise SystemExit('shadowed')\n")
    (scripts / "run.py").write_text(
        "import sys\nfrom lakeshrink.containment.lake import discover\n"
        "from lakeshrink.containment.scan import footer_guard\nfrom lakeshrink.containment.scan.footers import FooterTask\n"
        "from lakeshrink.engine import get_engine\n"
        "lake = discover(sys.argv[1])\n"
        "out = footer_guard.read_footers(get_engine('local'), [FooterTask(lake.root, r) for r in lake.tables], description='x')\n"
        "print(sum(1 for f in out if f.error), len(out))\n")
    proc = subprocess.run([sys.executable, str(scripts / "run.py"), str(demo_data / "lake")], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    errors, tables = proc.stdout.split()
    assert (int(errors), int(tables) > 5) == (0, True), proc.stderr[-2000:]


def test_a_child_that_cannot_start_is_no_crash_of_the_reader(tmp_path, monkeypatch, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "encodings.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.setattr(footer_guard, "_child_env", lambda: {**os.environ, "PYTHONPATH": f"{broken}{os.pathsep}{ROOT}"})
    footer_guard._drop_child()
    lake = discover(_small_lake(tmp_path))
    tasks = [FooterTask(lake.root, ref) for ref in lake.tables if not ref.is_format_table]
    with caplog.at_level("WARNING", logger=footer_guard.__name__):
        footers = footer_guard.read_footer_batch(tasks)
    assert [f.error for f in footers] == [None] * len(tasks)  # read in this process, not reported as crashes
    assert "did not start" in caplog.text
    monkeypatch.undo()
    footer_guard._drop_child()
