"""The planner end to end: scan -> plan (GX audit) -> mark -> verify -> rebuild, on copies of the bundled lake."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.containment.planner import recipes
from dataclasses import replace

from lakeshrink.containment.planner.marks import MANIFEST, PlanStale, mark, read_manifest, verify
from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
from lakeshrink.containment.rowhash import table_checksum
from lakeshrink.containment.scan import scan_lake
from lakeshrink.containment.planner.table_paths import UnsafeTablePath
from lakeshrink.errors import CorruptArchive, InputError, VerificationFailed

COLD_MARKS = {
    "copies/airlines_backup.parquet": "airlines.parquet",  # equal tables: the copy is marked (issue 9, case 11)
    "derived/airports_eastern.parquet": "airports.parquet",
    "derived/flights_by_origin": "flights_jan",
    "derived/flights_late_dup.parquet": "flights_jan",
    "derived/planes_boeing.parquet": "planes.parquet",
    "derived/weather_jan_ewr.parquet": "weather_jan.parquet",
}


def _setup(base: Path, demo_data: Path) -> tuple[Path, Path, Path]:
    """A copy of the bundled lake, its scan, and an access file that makes every table cold."""
    lake = base / "lake"
    shutil.copytree(demo_data / "lake", lake)
    for p in lake.rglob("*"):  # one age for every file: equal tables are then told apart by their paths
        os.utime(p, ns=(1_700_000_000_000_000_000,) * 2)
    scan_dir = base / "scan"
    scan = scan_lake(lake)
    scan.save(scan_dir)
    access = base / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t.table},0,\n" for t in scan.table_details))
    return lake, scan_dir, access


@pytest.fixture(scope="module")
def gx_plan(tmp_path_factory, demo_data):
    """A plan audited by Great Expectations, with the rebuild of planes_boeing sabotaged (one row lost)."""
    pytest.importorskip("great_expectations", reason="pip install 'lakeshrink[gx]'")
    base = tmp_path_factory.mktemp("gxplan")
    lake, scan_dir, access = _setup(base, demo_data)
    real = recipes.apply_recipe

    def lossy(recipe, parent):
        out = real(recipe, parent)
        return out.slice(1) if recipe.child == "derived/planes_boeing.parquet" else out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recipes, "apply_recipe", lossy)
        plan = make_plan(scan_dir, base / "plan", access=access, options=PlanOptions(gx=True, gx_data_docs=True))
    return base, lake, plan


def test_gx_audited_plan_marks_what_is_safe_and_says_why(gx_plan):
    base, lake, plan = gx_plan
    expected = {k: v for k, v in COLD_MARKS.items() if k != "derived/planes_boeing.parquet"}
    assert {m.table: m.parent for m in plan.marked} == expected
    assert plan.solver == "milp" and plan.audit_tool == "great_expectations"
    assert plan.bytes_saved == sum(m.bytes for m in plan.marked) > 0
    kept = {k.table: k.reason for k in plan.kept}
    assert kept["derived/planes_boeing.parquet"].startswith("not marked: audit failed")
    assert "expect_table_row_count_to_equal" in kept["derived/planes_boeing.parquet"]
    assert kept["derived/planes_seats_edited.parquet"] == "not contained in another table"
    assert kept["flights_jan"].startswith("kept as the parent of derived/flights_by_origin")
    assert any(r.child == "derived/planes_boeing.parquet" for r in plan.rejected)
    plan_dir = base / "plan"
    failed = json.loads((plan_dir / "audit").glob("*planes_boeing*.json").__next__().read_text())
    assert failed["success"] is False and failed["format"] == "lakeshrink-audit" and failed["version"] == 1
    assert failed["table"] == "derived/planes_boeing.parquet" and failed["tool"] == "great_expectations"
    assert {r["expectation_config"]["type"] for r in failed["validation"][0]["results"] if not r["success"]} >= {
        "expect_table_row_count_to_equal", "expect_column_distinct_values_to_equal_set"}
    for m in plan.marked:
        assert (plan_dir / m.recipe).is_file() and (plan_dir / m.audit).is_file()
        assert m.data_docs and (plan_dir / m.data_docs).is_file()
        assert m.rebuild_seconds_estimate > 0 and m.table in m.reason or m.parent in m.reason
    assert (plan_dir / "audit" / "data_docs" / "index.html").is_file()
    loaded = load_plan(plan_dir)
    assert loaded.marked == plan.marked and loaded.lake == plan.lake  # round trip
    doc = loaded.document
    assert doc["format"] == "lakeshrink-plan" and doc["version"] == 1 and doc["solver"] == "milp"
    assert set(doc) >= {"marked", "kept", "bytes_saved", "solver", "lake", "sha256"}
    assert [c["solver"] for c in doc["comparison"]] == ["milp", "greedy"]
    assert plan.curve[0].bytes_saved == 0 and plan.curve[-1].bytes_saved == plan.bytes_saved


def test_report_is_self_contained_html(gx_plan):
    base, _, plan = gx_plan
    text = (base / "plan" / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<script src" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text and "<link" not in text
    for m in plan.marked:
        assert f'href="{m.audit}"' in text and m.table in text
        assert f"<code>{m.table}</code>: " in text  # its audit's expectations are shown in the report itself
    assert 'href="audit/data_docs/index.html"' in text
    assert "expect_table_row_count_to_equal" in text
    import re
    import xml.etree.ElementTree as ET

    *graphs, curve = (ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", text, re.S))  # well-formed
    assert len(graphs) == 5  # one per connected component of the containment graph
    labels = [t.text for g in graphs for t in g.iter("{http://www.w3.org/2000/svg}text")]
    assert "flights_jan" in labels and len(labels) == 11 and "derived/planes_seats_edited.parquet" not in labels  # not in any edge
    assert len(list(curve.iter("{http://www.w3.org/2000/svg}circle"))) == len([p for p in plan.curve if p.max_rebuild_seconds > 0])
    ticks = [t.text for t in curve.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.endswith(" s")]
    assert len(set(ticks)) == len(ticks) >= 2  # distinct latency ticks, not "1 1 1 1"


def test_rebuild_from_gx_plan_matches_the_original(gx_plan, tmp_path):
    _, lake, plan = gx_plan
    out = tmp_path / "late.parquet"
    result = CliRunner().invoke(cli, ["--output", "json", "containment", "rebuild", str(gx_plan[0] / "plan"),
                                      "derived/flights_late_dup.parquet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    original = pq.read_table(lake / "derived" / "flights_late_dup.parquet")
    assert payload["verified"] and payload["row_checksum"] == table_checksum(original) == table_checksum(pq.read_table(out))
    again = CliRunner().invoke(cli, ["containment", "rebuild", str(gx_plan[0] / "plan"), "derived/flights_late_dup.parquet", "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    missing = CliRunner().invoke(cli, ["containment", "rebuild", str(gx_plan[0] / "plan"), "planes.parquet", "-o", str(tmp_path / "x.parquet")])
    assert missing.exit_code == 1 and "not marked in this plan" in missing.stderr


@pytest.fixture
def fresh(tmp_path, demo_data):
    """A lake copy with a checksum-audited plan made through the CLI."""
    lake, scan_dir, access = _setup(tmp_path, demo_data)
    plan_dir = tmp_path / "plan"
    result = CliRunner().invoke(cli, ["--output", "json", "containment", "plan", str(scan_dir), "-o", str(plan_dir),
                                      "--access", str(access), "--no-gx"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {m["table"]: m["parent"] for m in payload["marked"]} == COLD_MARKS
    assert payload["solver"] == "milp" and payload["bytes_saved"] > 0
    return lake, plan_dir


def test_mark_is_a_dry_run_until_execute_and_never_touches_data(fresh):
    lake, plan_dir = fresh
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*") if p.is_file()}
    dry = CliRunner().invoke(cli, ["containment", "mark", str(plan_dir)])
    assert dry.exit_code == 0 and "would mark derived/weather_jan_ewr.parquet" in dry.stdout and "--execute" in dry.stdout
    assert not (lake / MANIFEST).exists()
    done = CliRunner().invoke(cli, ["--output", "json", "containment", "mark", str(plan_dir), "--execute"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["dry_run"] is False and {m["table"] for m in payload["marks"]} == set(COLD_MARKS)
    manifest = json.loads((lake / MANIFEST).read_text())
    assert manifest["format"] == "lakeshrink-marks" and manifest["version"] == 1 and len(manifest["marks"]) == 6
    marks, withdrawn, _ = read_manifest(str(lake))
    again = mark(plan_dir).marks  # a dry run builds the same marks (but for the time)
    assert withdrawn == () and [replace(m, marked="") for m in marks] == [replace(m, marked="") for m in again]  # round trip
    after = {p: p.stat().st_mtime_ns for p in lake.rglob("*") if p.is_file() and "_lakeshrink" not in p.parts}
    assert after == before
    ok = verify(plan_dir)
    assert set(ok.valid) == set(COLD_MARKS) and ok.withdrawn == ()
    audit = json.loads((plan_dir / load_plan(plan_dir).marked[0].audit).read_text())
    assert audit["format"] == "lakeshrink-audit" and audit["tool"] == "checksum" and audit["success"] is True
    assert [c["expectation"] for c in audit["checks"]] == ["row_count", "row_checksum"]


def test_verify_withdraws_marks_whose_parent_changed(fresh):
    lake, plan_dir = fresh
    mark(plan_dir, execute=True)
    part = sorted((lake / "flights_jan").glob("part-*.parquet"))[0]
    pq.write_table(pq.read_table(part).slice(1), part)
    dry = verify(plan_dir, dry_run=True)
    assert {w.table for w in dry.withdrawn} == {"derived/flights_by_origin", "derived/flights_late_dup.parquet"}
    assert len(json.loads((lake / MANIFEST).read_text())["marks"]) == 6
    result = CliRunner().invoke(cli, ["containment", "verify", str(plan_dir)])
    assert result.exit_code == 0 and "withdrew derived/flights_by_origin" in result.stdout and "flights_jan" in result.stdout
    manifest = json.loads((lake / MANIFEST).read_text())
    assert {m["table"] for m in manifest["marks"]} == set(COLD_MARKS) - {"derived/flights_by_origin", "derived/flights_late_dup.parquet"}
    assert {w["table"] for w in manifest["withdrawn"]} == {"derived/flights_by_origin", "derived/flights_late_dup.parquet"}
    assert "changed" in manifest["withdrawn"][0]["reason"]
    assert verify(plan_dir).withdrawn == ()
    rebuild = CliRunner().invoke(cli, ["containment", "rebuild", str(plan_dir), "derived/flights_by_origin", "-o", str(plan_dir / "x.parquet")])
    assert rebuild.exit_code == 1 and "parent changed" in rebuild.stderr and not (plan_dir / "x.parquet").exists()


@pytest.mark.parametrize("damage", ["edit", "truncate"])
def test_edited_or_truncated_plan_is_refused_and_nothing_marked(fresh, damage):
    lake, plan_dir = fresh
    path = plan_dir / "plan.json"
    if damage == "edit":
        doc = json.loads(path.read_text())
        doc["marked"][0]["parent"] = "planes.parquet"
        path.write_text(json.dumps(doc, indent=2))
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    result = CliRunner().invoke(cli, ["containment", "mark", str(plan_dir), "--execute"])
    assert result.exit_code == 1
    assert ("checksum mismatch" if damage == "edit" else "not valid JSON") in result.stderr
    assert str(path) in result.stderr
    assert not (lake / MANIFEST).exists()


def test_edited_recipe_or_manifest_is_refused(fresh):
    lake, plan_dir = fresh
    plan = load_plan(plan_dir)
    recipe_path = plan_dir / plan.entry("derived/weather_jan_ewr.parquet").recipe
    doc = json.loads(recipe_path.read_text())
    doc["selector"]["low"] = "JFK"
    recipe_path.write_text(json.dumps(doc))
    with pytest.raises(CorruptArchive, match="checksum mismatch"):
        mark(plan_dir, execute=True)
    assert not (lake / MANIFEST).exists()


def test_manifest_tampering_is_refused(fresh):
    lake, plan_dir = fresh
    mark(plan_dir, execute=True)
    manifest = lake / MANIFEST
    doc = json.loads(manifest.read_text())
    doc["marks"].append(dict(doc["marks"][0], table="planes.parquet"))
    manifest.write_text(json.dumps(doc))
    with pytest.raises(CorruptArchive, match="lakeshrink-marks was edited"):
        verify(plan_dir)


def test_vanished_parent_means_nothing_is_marked(fresh):
    lake, plan_dir = fresh
    (lake / "weather_jan.parquet").unlink()
    result = CliRunner().invoke(cli, ["containment", "mark", str(plan_dir), "--execute"])
    assert result.exit_code == 1 and "'weather_jan.parquet' vanished" in result.stderr and "nothing was marked" in result.stderr
    assert not (lake / MANIFEST).exists()
    with pytest.raises(PlanStale):
        mark(plan_dir)


def test_scan_with_an_escaping_table_path_is_refused(tmp_path, demo_data):
    lake, scan_dir, access = _setup(tmp_path, demo_data)
    doc = json.loads((scan_dir / "containment.json").read_text())
    doc["edges"][0]["child"] = "../outside.parquet"
    (scan_dir / "containment.json").write_text(json.dumps(doc))
    with pytest.raises(UnsafeTablePath, match="escapes the lake root"):
        make_plan(scan_dir, tmp_path / "plan", access=access, options=PlanOptions(gx=False))
    assert not (tmp_path / "plan").exists()


def test_scan_of_a_catalog_database_is_refused_clearly(tmp_path, demo_data):
    lake, scan_dir, access = _setup(tmp_path, demo_data)
    doc = json.loads((scan_dir / "containment.json").read_text())
    doc["lake"] = "catalog:sales"  # what a `scan --catalog sales --engine spark` records
    (scan_dir / "containment.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="catalog database 'sales'.*scan the database's location"):
        make_plan(scan_dir, tmp_path / "plan", access=access, options=PlanOptions(gx=False))
    assert not (tmp_path / "plan").exists()


def test_default_access_marks_nothing_on_a_tiny_lake_and_says_why(tmp_path, demo_data):
    lake, scan_dir, _ = _setup(tmp_path, demo_data)
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"throughput_mb_per_s": 100}))
    plan = make_plan(scan_dir, tmp_path / "plan", costs=costs, options=PlanOptions(gx=False))
    assert plan.marked == () and plan.cost_model.throughput_source == "configured"
    reasons = {k.table: k.reason for k in plan.kept}
    assert reasons["derived/weather_jan_ewr.parquet"].startswith("rebuilding costs more than keeping it")
    bounded = tmp_path / "access.csv"
    bounded.write_text("table,reads_per_month,max_rebuild_seconds\nderived/weather_jan_ewr.parquet,0,0.5\n")
    plan = make_plan(scan_dir, tmp_path / "plan", costs=costs, access=bounded, options=PlanOptions(gx=False), overwrite=True)
    assert {k.table: k.reason for k in plan.kept}["derived/weather_jan_ewr.parquet"].startswith("every rebuild would exceed its bound")


def delta_child_plan(tmp_path):
    """A lake of a Parquet parent and a Delta child holding some of its rows, scanned and planned (cold)."""
    deltalake = pytest.importorskip("deltalake")
    lake = tmp_path / "lake"
    lake.mkdir()
    parent = pa.table({"k": list(range(200)), "v": [f"x{i % 17}" for i in range(200)]})
    pq.write_table(parent, lake / "parent.parquet")
    deltalake.write_deltalake(str(lake / "child_delta"), parent.slice(50, 60))
    scan_lake(lake).save(tmp_path / "scan")
    access = tmp_path / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\nchild_delta,0,\n")
    plan = make_plan(tmp_path / "scan", tmp_path / "plan", access=access, options=PlanOptions(gx=False))
    return deltalake, lake, parent, plan


def test_delta_child_gets_the_mark_property_and_loses_it_when_withdrawn(tmp_path):
    deltalake, lake, parent, plan = delta_child_plan(tmp_path)
    assert [(m.table, m.parent, m.selector) for m in plan.marked] == [("child_delta", "parent.parquet", "50 <= k <= 109")]
    files_before = sorted(p.name for p in (lake / "child_delta").glob("*.parquet"))
    result = mark(tmp_path / "plan", execute=True)
    assert result.delta_tables == ("child_delta",)
    config = deltalake.DeltaTable(str(lake / "child_delta")).metadata().configuration
    assert config["lakeshrink.marked"] == "true" and config["lakeshrink.parent"] == "parent.parquet"
    assert sorted(p.name for p in (lake / "child_delta").glob("*.parquet")) == files_before
    assert verify(tmp_path / "plan").withdrawn == ()  # the property commit is metadata only
    pq.write_table(parent.slice(1), lake / "parent.parquet")
    assert [w.table for w in verify(tmp_path / "plan").withdrawn] == ["child_delta"]
    assert deltalake.DeltaTable(str(lake / "child_delta")).metadata().configuration["lakeshrink.marked"] == "false"


@pytest.mark.spark
def test_spark_engine_plans_the_same_marks(spark, tmp_path, demo_data):
    from lakeshrink.spark_ext.engine import SparkEngine

    lake, scan_dir, access = _setup(tmp_path, demo_data)
    plan = make_plan(scan_dir, tmp_path / "plan", access=access, engine=SparkEngine(spark=spark), options=PlanOptions(gx=False))
    assert {m.table: m.parent for m in plan.marked} == COLD_MARKS
    local = make_plan(scan_dir, tmp_path / "plan_local", access=access, options=PlanOptions(gx=False))
    assert [m.recipe_sha256 for m in plan.marked] != [] and len(plan.marked) == len(local.marked)
    for a, b in zip(load_plan(tmp_path / "plan").marked, load_plan(tmp_path / "plan_local").marked):
        ra, rb = load_plan(tmp_path / "plan").recipe(a.table), load_plan(tmp_path / "plan_local").recipe(b.table)
        assert ra == rb


@pytest.mark.slow
def test_demo_reports_measured_savings(tmp_path):
    from lakeshrink.demos import planner as plan_demo
    from lakeshrink.demos import DemoContext
    from lakeshrink.engine import LocalEngine
    from lakeshrink.sample_data import bundled_dir

    report = plan_demo.run(DemoContext(bundled_dir(), LocalEngine(), tmp_path))
    labels = {f.label: f.value for f in report.figures}
    assert report.saved_bytes > 0 and report.input_bytes > report.saved_bytes
    assert labels["tables marked (dry run)"] == 6
    assert "checksum verified" in labels.values()
    assert not (bundled_dir() / "lake" / MANIFEST).exists()


def test_cli_solver_options_and_greedy_fallback(tmp_path, demo_data):
    _, scan_dir, access = _setup(tmp_path, demo_data)
    result = CliRunner().invoke(cli, ["--output", "json", "containment", "plan", str(scan_dir), "-o", str(tmp_path / "p"),
                                      "--access", str(access), "--no-gx", "--milp-max-edges", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["solver"] == "greedy"
    exists = CliRunner().invoke(cli, ["containment", "plan", str(scan_dir), "-o", str(tmp_path / "p"), "--no-gx"])
    assert exists.exit_code == 1 and "already exists" in exists.stderr


@pytest.mark.spark
def test_spark_submit_job_plans_and_marks(spark, tmp_path, demo_data, capsys):
    import importlib.util

    lake, scan_dir, access = _setup(tmp_path, demo_data)
    spec = importlib.util.spec_from_file_location("plan_deletions", Path(__file__).resolve().parents[1] / "jobs" / "plan_deletions.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    assert job.main([str(scan_dir), "-o", str(tmp_path / "plan"), "--access", str(access), "--no-gx", "--execute"]) == 0
    assert "6 of 12 tables to mark" in capsys.readouterr().out
    assert len(json.loads((lake / MANIFEST).read_text())["marks"]) == 6
    assert job.main([str(scan_dir), "-o", str(tmp_path / "plan"), "--no-gx"]) == 1


def test_a_newer_plan_replaces_older_marks(fresh, tmp_path):
    lake, plan_dir = fresh
    mark(plan_dir, execute=True)
    access = tmp_path / "hot.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n"
                      + "".join(f"{t},0,\n" for t in COLD_MARKS if t != "derived/planes_boeing.parquet")
                      + "derived/planes_boeing.parquet,1000,\n")
    plan2 = make_plan(tmp_path / "scan", tmp_path / "plan2", access=access, options=PlanOptions(gx=False))
    assert "derived/planes_boeing.parquet" not in {m.table for m in plan2.marked}
    result = mark(tmp_path / "plan2", execute=True)
    assert result.replaced == ("derived/planes_boeing.parquet",)
    manifest = json.loads((lake / MANIFEST).read_text())
    assert [w["reason"] for w in manifest["withdrawn"]] == ["replaced by a newer plan"]
    assert len(manifest["marks"]) == 5


@pytest.mark.spark
def test_spark_rebuild_matches_the_local_checksum(spark, fresh, tmp_path):
    from dataclasses import replace

    import numpy as np

    from lakeshrink.spark_ext.planner import write_rebuild_spark

    lake, plan_dir = fresh
    for table in ("derived/flights_late_dup.parquet",):  # predicate with multiplicities: the position join
        out = tmp_path / (table.replace("/", "_"))
        result = CliRunner().invoke(cli, ["--output", "json", "containment", "rebuild", str(plan_dir), table, "-o", str(out), "--engine", "spark"])
        assert result.exit_code == 0, result.output
        original = pq.read_table(lake / table)
        assert json.loads(result.stdout)["row_checksum"] == table_checksum(original) == table_checksum(pq.read_table(out))
        assert pq.read_schema(out).remove_metadata() == original.schema.remove_metadata()
    # a bitmap over a hive-partitioned parent: positions must follow the pinned file order
    recipe = load_plan(plan_dir).recipe("derived/weather_jan_ewr.parquet")
    lake_, ref = recipes.open_table(str(lake), "weather_jan.parquet")
    mask = recipes.selector_mask(recipe.selector, recipes.read_parent(lake_, ref, recipe.parent_state))
    encoding, data = recipes._encode_bitmap(np.flatnonzero(mask), len(mask))
    forced = replace(recipe, selector=recipes.RowSelector("bitmap", encoding=encoding, data=data, selected=int(mask.sum())))
    assert write_rebuild_spark(spark, forced, str(lake), tmp_path / "bm.parquet") == recipe.row_checksum
    # the same over a hive-partitioned parent (partition values come back as a column)
    hive = recipes.build_recipe(str(lake), "flights_jan", "derived/flights_by_origin")
    encoding, data = recipes._encode_bitmap(np.arange(0, hive.parent_rows), hive.parent_rows)
    hive = replace(hive, selector=recipes.RowSelector("bitmap", encoding=encoding, data=data, selected=hive.parent_rows))
    assert write_rebuild_spark(spark, hive, str(lake), tmp_path / "hive.parquet") == hive.row_checksum
    broken = replace(forced, row_checksum="v1:742:" + "0" * 32)
    with pytest.raises(VerificationFailed, match="row checksum"):
        write_rebuild_spark(spark, broken, str(lake), tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()


def test_missing_great_expectations_names_the_extra_before_any_work(tmp_path, demo_data, monkeypatch):
    import sys

    from lakeshrink.containment.planner.audit import AuditUnavailable

    _, scan_dir, access = _setup(tmp_path, demo_data)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # import now raises ImportError
    result = CliRunner().invoke(cli, ["containment", "plan", str(scan_dir), "-o", str(tmp_path / "plan"), "--access", str(access)])
    assert result.exit_code == 1 and "lakeshrink[gx]" in result.stderr and "--no-gx" in result.stderr
    assert not (tmp_path / "plan").exists()
    with pytest.raises(AuditUnavailable):
        make_plan(scan_dir, tmp_path / "plan", access=access)


def test_latency_ticks_stay_distinct_on_a_narrow_range():
    from lakeshrink.containment.planner.report import _distinct_second_labels

    labels = _distinct_second_labels([1.0, 1.0055, 1.011])  # three ticks within 1.1%: "1 s, 1.01 s, 1.01 s" before
    assert labels == ["1 s", "1.006 s", "1.011 s"]
    assert _distinct_second_labels([10.0, 100.0]) == ["10 s", "1.67 min"]


@pytest.mark.parametrize(("amount", "text"), [
    (0, "0.00 USD"), (1234.5, "1,234.50 USD"), (0.01, "0.01 USD"), (2.929e-06, "0.0000029 USD"),
    (-2.929e-06, "-0.0000029 USD"), (0.0051, "0.0051 USD"), (9.99e-3, "0.010 USD"),
])
def test_money_is_plain_decimals_never_an_exponent(amount, text):
    from lakeshrink.units import money

    assert money(amount, "USD") == text
