"""Plan, mark, verify and rebuild with Delta and Iceberg parents: recipes pin the version or snapshot, rebuilds
travel back to it, and verify withdraws a mark whose parent moved on or whose pinned state is gone, saying which."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from format_tables import delta_events, iceberg_catalog, iceberg_items, rows, write
from lakeshrink.containment.planner import recipes
from lakeshrink.containment.planner.marks import mark, verify
from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
from lakeshrink.containment.rowhash import table_checksum
from lakeshrink.containment.scan import scan_lake

pytest.importorskip("deltalake", reason="pip install 'lakeshrink[delta]'")
pytest.importorskip("pyiceberg", reason="pip install 'lakeshrink[iceberg]'")


def _plan(tmp_path: Path, lake: Path, child: str) -> Path:
    scan_lake(lake).save(tmp_path / "scan")
    access = tmp_path / "access.csv"
    access.write_text(f"table,reads_per_month,max_rebuild_seconds\n{child},0,\n")
    plan = make_plan(tmp_path / "scan", tmp_path / "plan", access=access, options=PlanOptions(gx=False))
    return tmp_path / "plan" if plan.marked else pytest.fail(f"nothing marked: {plan.kept}")


def _rebuilt(plan_dir: Path, child: str, out: Path) -> str:
    loaded = load_plan(plan_dir)
    return recipes.write_rebuild(loaded.recipe(child), loaded.lake, out)


def test_delta_parent_rebuilds_by_time_travel_and_verify_says_which(tmp_path):
    from deltalake import DeltaTable, write_deltalake

    lake = tmp_path / "lake"
    delta_events(lake / "events")
    child = rows([25, 30, 31, 77, 150, 205])
    write(child, lake / "child.parquet")
    plan_dir = _plan(tmp_path, lake, "child.parquet")
    loaded = load_plan(plan_dir)
    assert [(m.table, m.parent) for m in loaded.marked] == [("child.parquet", "events")]
    recipe = loaded.recipe("child.parquet")
    assert recipe.parent_state.format == "delta" and recipe.parent_state.delta_version == 2
    mark(plan_dir, execute=True)
    assert verify(plan_dir, dry_run=True).withdrawn == ()
    # the parent moves on (a delete that touches the child's rows): the rebuild reads version 2 all the same
    DeltaTable(str(lake / "events")).delete("id = 30")
    moved = verify(plan_dir, dry_run=True).withdrawn
    assert len(moved) == 1 and "moved on" in moved[0].reason and "pinned 2" in moved[0].reason
    assert _rebuilt(plan_dir, "child.parquet", tmp_path / "r.parquet") == table_checksum(child)
    assert pq.read_table(tmp_path / "r.parquet").sort_by("id").equals(child)
    # once the pinned version's files are vacuumed, the state can no longer be read, and the report says so
    write_deltalake(str(lake / "events"), rows([1]), mode="overwrite")
    DeltaTable(str(lake / "events")).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    gone = verify(plan_dir).withdrawn
    assert len(gone) == 1 and "can no longer be read" in gone[0].reason
    with pytest.raises(recipes.ParentChanged, match="can no longer be read"):
        _rebuilt(plan_dir, "child.parquet", tmp_path / "r2.parquet")
    assert not (tmp_path / "r2.parquet").exists()


def test_iceberg_parent_rebuilds_by_time_travel_and_verify_says_which(tmp_path):
    lake = tmp_path / "lake"
    catalog = iceberg_catalog(tmp_path, lake / "wh")
    iceberg_items(catalog)
    table = catalog.load_table("db.items")
    child = table.scan(row_filter="id >= 40 and id < 47").to_arrow()
    write(child, lake / "child.parquet")
    plan_dir = _plan(tmp_path, lake, "child.parquet")
    recipe = load_plan(plan_dir).recipe("child.parquet")
    assert recipe.parent == "wh/db/items" and recipe.parent_state.snapshot_id == table.current_snapshot().snapshot_id
    mark(plan_dir, execute=True)
    assert verify(plan_dir, dry_run=True).withdrawn == ()
    pinned = table.current_snapshot().snapshot_id
    table.delete("id = 41")
    moved = verify(plan_dir, dry_run=True).withdrawn
    assert len(moved) == 1 and "moved on" in moved[0].reason and str(pinned) in moved[0].reason
    assert _rebuilt(plan_dir, "child.parquet", tmp_path / "r.parquet") == table_checksum(child)
    catalog.load_table("db.items").maintenance.expire_snapshots().by_id(pinned).commit()
    gone = verify(plan_dir).withdrawn
    assert len(gone) == 1 and "can no longer be read" in gone[0].reason and "expired" in gone[0].reason
    with pytest.raises(recipes.ParentChanged, match="can no longer be read"):
        _rebuilt(plan_dir, "child.parquet", tmp_path / "r2.parquet")


def test_an_expired_delta_log_with_unchanged_data_is_still_the_pinned_state(tmp_path):
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    delta_events(lake / "events")
    child = rows([25, 30, 150])
    write(child, lake / "child.parquet")
    plan_dir = _plan(tmp_path, lake, "child.parquet")
    mark(plan_dir, execute=True)
    # metadata-only commits, a checkpoint, and the old commits' log files gone (as log retention would do)
    dt = DeltaTable(str(lake / "events"))
    dt.alter.set_table_properties({"x.y": "1"}, raise_if_not_exists=False)
    DeltaTable(str(lake / "events")).create_checkpoint()
    for old in ("00000000000000000000.json", "00000000000000000001.json", "00000000000000000002.json"):
        (lake / "events" / "_delta_log" / old).unlink()
    assert verify(plan_dir, dry_run=True).withdrawn == ()
    assert _rebuilt(plan_dir, "child.parquet", tmp_path / "r.parquet") == table_checksum(child)
