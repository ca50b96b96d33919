"""Issue 9, case 2: a table is an identity of storage; an alias (symlink, hard link) is never its own parent."""

from __future__ import annotations

import os
import shutil

import pytest

from lakeshrink.containment.planner.marks import PlanStale, mark, verify
from lakeshrink.containment.planner.plan import PlanOptions, make_plan
from lakeshrink.containment.scan import scan_lake


def _lake(tmp_path, demo_data):
    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake", lake)
    return lake


def _plan(tmp_path, lake):
    scan = scan_lake(lake)
    scan.save(tmp_path / "scan")
    access = tmp_path / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t.table},0,\n" for t in scan.table_details))
    return scan, make_plan(tmp_path / "scan", tmp_path / "plan", access=access, options=PlanOptions(gx=False))


def test_symlinked_aliases_are_skipped_and_never_parents(tmp_path, demo_data):
    lake = _lake(tmp_path, demo_data)
    (lake / "copies" / "planes_link.parquet").symlink_to("../planes.parquet")
    (lake / "copies" / "flights_alias").symlink_to("../flights_jan", target_is_directory=True)
    scan, plan = _plan(tmp_path, lake)
    skipped = {s.table: s.reason for s in scan.skipped}
    assert "same storage as planes.parquet" in skipped["copies/planes_link.parquet"]
    assert "same storage as flights_jan" in skipped["copies/flights_alias"]
    pairs = {(m.table, m.parent) for m in plan.marked}
    assert not any({c, p} & {"copies/planes_link.parquet", "copies/flights_alias"} for c, p in pairs)
    from lakeshrink.containment.planner.marks import same_storage

    assert pairs and not any(same_storage(str(lake), c, p) for c, p in pairs)


def test_mark_and_verify_refuse_a_parent_that_became_the_same_storage(tmp_path, demo_data):
    lake = _lake(tmp_path, demo_data)
    _, plan = _plan(tmp_path, lake)
    pair = {"airlines.parquet", "copies/airlines_backup.parquet"}
    entry = next(m for m in plan.marked if {m.table, m.parent} == pair)  # the same rows in two files
    child = lake / entry.table
    child.unlink()
    child.symlink_to(os.path.relpath(lake / entry.parent, child.parent))  # now literally the parent
    with pytest.raises(PlanStale, match="same storage"):
        mark(tmp_path / "plan", execute=True)
    result = verify(tmp_path / "plan", dry_run=True)
    assert any(w.table == entry.table and "same storage" in w.reason for w in result.withdrawn)
