"""``lakeshrink encode advise|rewrite`` and the demo module."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.encodings import load_plan
from lakeshrink.codecs.encodings.source import read_file
from lakeshrink.codecs.encodings.verify import tables_equal


def test_advise_json_and_saved_plan(demo_data, tmp_path):
    plan_file = tmp_path / "plan.json"
    res = CliRunner().invoke(cli, ["--output", "json", "encode", "advise", str(demo_data / "lake" / "planes.parquet"),
                                   "--objective", "size", "--save-plan", str(plan_file)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["plan"]["objective"] == "size" and doc["estimated_bytes"] < doc["default_bytes"]
    assert load_plan(plan_file).to_dict() == doc["plan"]
    assert all(c["reason"] for c in doc["plan"]["columns"])


def test_advise_text_shows_choices_and_reasons(demo_data):
    res = CliRunner().invoke(cli, ["encode", "advise", str(demo_data / "lake" / "weather_jan.parquet"),
                                   "--objective", "size"])
    assert res.exit_code == 0, res.output
    assert "time_hour" in res.output and "vs pyarrow's default" in res.output
    res = CliRunner().invoke(cli, ["encode", "advise", str(demo_data / "lake" / "weather_jan.parquet")])
    assert res.exit_code == 0 and "cost model" in res.output  # small table, balanced: no trial encodes


def test_rewrite_with_saved_plan_and_verification(demo_data, tmp_path):
    src = demo_data / "lake" / "flights_jan"
    plan_file = tmp_path / "plan.json"
    assert CliRunner().invoke(cli, ["encode", "advise", str(src), "--objective", "size",
                                    "--save-plan", str(plan_file)]).exit_code == 0
    res = CliRunner().invoke(cli, ["--output", "json", "encode", "rewrite", str(src), "-o", str(tmp_path / "out"),
                                   "--plan", str(plan_file)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["verified"] and doc["files"] == 2 and doc["output_bytes"] < doc["input_bytes"]
    assert abs(doc["estimated_bytes"] / doc["output_bytes"] - 1) < 0.5  # two files vs one estimate: same size
    for part in sorted(src.glob("part-*")):
        assert tables_equal(read_file(part), read_file(tmp_path / "out" / part.name)) is None


def test_rewrite_errors_exit_1_with_the_file_named(demo_data, tmp_path):
    plan_file = tmp_path / "plan.json"
    CliRunner().invoke(cli, ["encode", "advise", str(demo_data / "lake" / "airlines.parquet"), "--save-plan", str(plan_file)])
    res = CliRunner().invoke(cli, ["encode", "rewrite", str(demo_data / "lake" / "planes.parquet"), "-o",
                                   str(tmp_path / "o.parquet"), "--plan", str(plan_file)])
    assert res.exit_code == 1
    assert "planes.parquet" in res.stderr and "does not fit" in res.stderr
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"nope")
    res = CliRunner().invoke(cli, ["encode", "advise", str(broken)])
    assert res.exit_code == 1 and "b.parquet" in res.stderr
    res = CliRunner().invoke(cli, ["encode", "rewrite", str(broken)])
    assert res.exit_code == 2  # -o is required


def test_rewrite_refuses_to_clobber(demo_data, tmp_path):
    (tmp_path / "o.parquet").write_bytes(b"mine")
    res = CliRunner().invoke(cli, ["encode", "rewrite", str(demo_data / "lake" / "airlines.parquet"), "-o",
                                   str(tmp_path / "o.parquet")])
    assert res.exit_code == 1 and "already exists" in res.stderr
    assert (tmp_path / "o.parquet").read_bytes() == b"mine"
    res = CliRunner().invoke(cli, ["encode", "rewrite", str(demo_data / "lake" / "airlines.parquet"), "-o",
                                   str(tmp_path / "o.parquet"), "--overwrite"])
    assert res.exit_code == 0 and pq.ParquetFile(tmp_path / "o.parquet").metadata.num_rows == 16


def test_demo_module_measures_the_bundled_lake():
    from lakeshrink.demos import run_demo
    from lakeshrink.engine import get_engine

    summary = run_demo(get_engine("local"), only=("encode",))
    (result,) = summary.capabilities
    assert result.available and result.report is not None
    report = result.report
    figures = {f.label: f.value for f in report.figures}
    assert report.saved_bytes > 0.3 * report.input_bytes
    assert figures["tables rewritten (content verified)"] >= 10
    assert figures["vs zstd everywhere"] < 1.0


def test_advise_on_a_small_file_does_not_import_pandas(tmp_path):
    """pyarrow imports pandas (1-3 s cold) whenever ``pa.array`` is given a Python list, as
    ``Schema.empty_table()`` does; a one-shot ``encode advise`` needs none of it."""
    import subprocess
    import sys

    import pyarrow as pa

    path = tmp_path / "small.parquet"
    pq.write_table(pa.table({"id": list(range(1_000)), "s": [str(i % 7) for i in range(1_000)]}), path)
    code = ("import sys\nfrom lakeshrink.cli.main import cli\n"
            f"try:\n    cli(['--output', 'json', 'encode', 'advise', {str(path)!r}], prog_name='lakeshrink')\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["plan"]["columns"] and done.stderr.strip().endswith("no pandas")
