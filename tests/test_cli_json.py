"""``--output json`` prints each command's result dataclass (lakeshrink.cli.results or the library's own), and the
Python API returns that document: one test per command group checks that the JSON has exactly the dataclass's
fields, in order, and that building the dataclass from it serialises back to the same JSON."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from lakeshrink import api, serde
from lakeshrink.cli import results
from lakeshrink.cli.main import cli
from lakeshrink.containment.planner.marks import VerifyResult
from lakeshrink.containment.scan import ScanResult, load_scan
from lakeshrink.demos import DemoSummary


def round_trips(doc: dict, cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(doc) == names, f"{cls.__name__}: JSON keys {list(doc)} != fields {names}"
    assert serde.to_jsonable(cls(**doc)) == doc


def test_containment_json_is_the_result_dataclass(tmp_path, demo_data):
    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake", lake)
    scan = api.containment_scan(lake, tmp_path / "scan")
    # ScanResult serialises as its saved document (``format`` first): the result read back prints the same JSON
    assert set(scan) - {"format"} == {f.name for f in dataclasses.fields(ScanResult)}
    assert serde.to_jsonable(load_scan(tmp_path / "scan")) == scan
    access = tmp_path / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t['table']},0,\n" for t in scan["table_details"]))
    plan = api.containment_plan(tmp_path / "scan", tmp_path / "plan", access=access, gx=False)
    round_trips(plan, results.PlanCommandResult)
    assert plan["marked"] and plan["report"] == str(tmp_path / "plan" / "report.html")
    dry = api.containment_mark(tmp_path / "plan")
    round_trips(dry, results.MarkCommandResult)
    assert dry["dry_run"] and {f["table"] for f in dry["files"]} == {m["table"] for m in plan["marked"]}
    round_trips(api.containment_verify(tmp_path / "plan", dry_run=True), VerifyResult)
    table = plan["marked"][0]["table"]
    rebuilt = api.containment_rebuild(tmp_path / "plan", table, tmp_path / "rebuilt.parquet")
    round_trips(rebuilt, results.RebuildCommandResult)
    assert rebuilt["verified"] and rebuilt["bytes"] == (tmp_path / "rebuilt.parquet").stat().st_size


def test_encode_json_is_the_result_dataclass(tmp_path, demo_data):
    src = demo_data / "lake" / "weather_jan.parquet"
    advice = api.encode_advise(src, objective="size", save_plan=tmp_path / "plan.json")
    round_trips(advice, results.AdviseCommandResult)
    assert advice["plan_file"] == str(tmp_path / "plan.json") and advice["engine"] == "local"
    rewrite = api.encode_rewrite(src, tmp_path / "out.parquet", plan=tmp_path / "plan.json")
    round_trips(rewrite, results.RewriteCommandResult)
    assert rewrite["verified"] and rewrite["output_bytes"] == (tmp_path / "out.parquet").stat().st_size


def test_logs_json_is_the_result_dataclass(tmp_path, demo_data):
    log = demo_data / "logs" / "HDFS_1k.log"
    compressed = api.logs_compress([log], tmp_path / "a.lslog")
    round_trips(compressed, results.CompressCommandResult)
    templates = api.logs_templates(tmp_path / "a.lslog", limit=2)
    round_trips(templates, results.TemplatesCommandResult)
    assert len(templates["templates"]) == 2
    found = api.run("logs", "grep", str(tmp_path / "a.lslog"), "blk_", "-F")
    round_trips(found, results.GrepCommandResult)
    assert found["matches"] and all("blk_" in m["line"] for m in found["matches"])
    stats = api.run("logs", "stats", str(tmp_path / "a.lslog"))
    round_trips(stats, results.StatsCommandResult)
    assert sum(r["lines"] for r in stats["rows"]) == compressed["lines"]


def test_demo_json_is_the_result_dataclass(demo_data):
    out = CliRunner().invoke(cli, ["--json", "demo", "--only", "logs"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    round_trips(doc, DemoSummary)
    assert [c["key"] for c in doc["capabilities"]] == ["logs"]
    assert Path(doc["data_dir"]) == demo_data
