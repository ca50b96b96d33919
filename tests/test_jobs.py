"""The wheel's job entry points (Databricks python_wheel_task, spark-submit); the bundle naming them: test_databricks_bundle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakeshrink import jobs

ROOT = Path(__file__).resolve().parent.parent


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
