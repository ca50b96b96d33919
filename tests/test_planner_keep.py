"""Issue 9, case 11: planner choices that do not surprise: which copy of equal tables is kept, protected
tables, unknown access rows, an empty table's GX audit, and a plan that marks nothing says why."""

from __future__ import annotations

import os
import shutil

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.containment.planner import recipes
from lakeshrink.containment.planner.keep_rules import looks_like_copy
from lakeshrink.containment.planner.plan import PlanOptions, make_plan
from lakeshrink.containment.scan import scan_lake
from lakeshrink.errors import InputError


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, demo_data):
    base = tmp_path_factory.mktemp("keep")
    lake = base / "lake"
    shutil.copytree(demo_data / "lake", lake)
    for p in lake.rglob("*"):  # one age for every file: equal tables are then told apart by their paths
        os.utime(p, ns=(1_700_000_000_000_000_000,) * 2)
    scan = scan_lake(lake)
    scan.save(base / "scan")
    return base, scan


def _access(path, scan, rows="0", extra=None):
    lines = ["table,reads_per_month,max_rebuild_seconds,keep"]
    for t in scan.table_details:
        lines.append(f"{t.table},{rows},,{(extra or {}).get(t.table, '')}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _plan(base, scan, name, **kw):
    access = kw.pop("access", None) or _access(base / f"{name}.csv", scan)
    return make_plan(base / "scan", base / name, access=access, options=PlanOptions(gx=False, **kw), overwrite=True)


def test_equal_tables_keep_the_original_not_the_backup(scanned):
    base, scan = scanned
    marked = {m.table: m.parent for m in _plan(base, scan, "equal").marked}
    assert marked.get("copies/airlines_backup.parquet") == "airlines.parquet"
    assert "airlines.parquet" not in marked


def test_more_reads_wins_over_the_path(scanned):
    base, scan = scanned
    access = base / "reads.csv"
    text = _access(access, scan).read_text().replace("copies/airlines_backup.parquet,0,", "copies/airlines_backup.parquet,1,")
    access.write_text(text)
    marked = {m.table for m in _plan(base, scan, "reads", access=access).marked}
    assert "airlines.parquet" in marked and "copies/airlines_backup.parquet" not in marked


def test_keep_pattern_and_access_keep_protect_tables(scanned):
    base, scan = scanned
    plan = _plan(base, scan, "kept", keep=("derived/*",),
                 access=_access(base / "kept.csv", scan, extra={"copies/airlines_backup.parquet": "true"}))
    marked = {m.table for m in plan.marked}
    assert not any(t.startswith("derived/") for t in marked)
    assert "copies/airlines_backup.parquet" not in marked
    reasons = {r.child: r.reason for r in plan.rejected}
    assert "--keep 'derived/*'" in reasons["derived/planes_boeing.parquet"]
    assert "access file" in reasons["copies/airlines_backup.parquet"]


def test_unknown_tables_in_the_access_file_are_an_error(scanned):
    base, scan = scanned
    access = _access(base / "typo.csv", scan)
    access.write_text(access.read_text() + "flights_januray,1000,\n")
    with pytest.raises(InputError, match="flights_januray"):
        _plan(base, scan, "typo", access=access)


def test_a_plan_that_marks_nothing_says_why(scanned):
    base, scan = scanned
    access = _access(base / "hot.csv", scan, rows="100000000")
    result = CliRunner().invoke(cli, ["containment", "plan", str(base / "scan"), "-o", str(base / "hot"),
                                      "--access", str(access), "--no-gx", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "nothing to mark: rebuilding costs more than keeping it" in result.output


def test_gx_audit_of_an_empty_table_passes(scanned, tmp_path):
    pytest.importorskip("great_expectations", reason="pip install 'lakeshrink[gx]'")
    from lakeshrink.containment.planner.audit import GxAuditor, audit_recipe

    base, _ = scanned
    root = str(base / "lake")
    planes = pq.read_table(base / "lake" / "planes.parquet")
    pq.write_table(planes.slice(0, 0), base / "lake" / "derived" / "planes_none.parquet")
    try:
        [recipe] = recipes.build_recipes(root, "planes.parquet", ["derived/planes_none.parquet"])
        with GxAuditor(tmp_path / "audit") as auditor:
            result = audit_recipe(auditor, recipe, root, "planes_none")
        assert result.success, result.reason
    finally:
        (base / "lake" / "derived" / "planes_none.parquet").unlink()


@pytest.mark.parametrize("path,copy", [("copies/airlines_backup.parquet", True), ("airlines.parquet", False),
                                       ("old/t.parquet", True), ("bold/t.parquet", False), ("t_bak.parquet", True),
                                       ("snapshots2/x", True), ("template.parquet", False)])
def test_copy_paths(path, copy):
    assert looks_like_copy(path) is copy
