"""The wheel's job entry points (Databricks python_wheel_task, spark-submit) and the Asset Bundle that names them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshrink import jobs

ROOT = Path(__file__).resolve().parent.parent


def test_every_job_has_a_console_script_and_a_bundle_task():
    pyproject = (ROOT / "pyproject.toml").read_text()
    bundle = (ROOT / "databricks.yml").read_text()
    for job in jobs.JOBS:
        name = "lakeshrink-" + job.replace("_", "-")
        assert re.search(rf'^{name} = "lakeshrink.jobs:{job}"$', pyproject, re.M), name
        assert f"entry_point: {name}" in bundle, name
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse databricks.yml")

    class Loader(yaml.SafeLoader):
        pass

    doc = yaml.load(bundle, Loader=Loader)  # noqa: S506 - SafeLoader subclass
    tasks = [t for j in doc["resources"]["jobs"].values() for t in j["tasks"]]
    assert sorted(t["python_wheel_task"]["entry_point"] for t in tasks) == sorted(
        "lakeshrink-" + j.replace("_", "-") for j in jobs.JOBS)
    assert all(t["python_wheel_task"]["package_name"] == "lakeshrink" for t in tasks)


def test_job_defaults_to_spark_and_keeps_an_explicit_engine():
    assert jobs.command_line("find_redundant_tables", ["lake", "-o", "scan"])[-2:] == ["--engine", "spark"]
    assert jobs.command_line("plan_deletions", ["scan", "-o", "p", "--engine", "local"]).count("--engine") == 1
    with pytest.raises(SystemExit):
        jobs.command_line("no_such_job", [])


def test_submit_script_runs_a_job(tmp_path, demo_data):
    """The spark-submit application, run as a script with the local engine: it prints the command's JSON."""
    proc = subprocess.run([sys.executable, jobs.SUBMIT_SCRIPT, "find_redundant_tables", str(demo_data / "lake"), "-o",
                           str(tmp_path / "scan"), "--engine", "local"], capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"] >= 10
    assert (tmp_path / "scan" / "containment.json").is_file()
