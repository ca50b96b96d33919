"""databricks.yml, checked as far as it can be without a workspace.

``databricks bundle validate`` needs the Databricks CLI (a Go binary, not on the package index) and a workspace to
authenticate to, so neither runs here. Instead: every job is loaded into Databricks' own typed job model
(``databricks-bundles``, the Python support for bundles: an unknown or misspelt key is refused), the bundle's
essentials are checked against the documented schema (targets, wheel tasks naming this package's console
scripts, the wheel built by the artifact, serverless environments), and the four jobs are run the way a
``python_wheel_task`` starts them (their entry point with the task's parameters), on the sample data with the
local engine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lakeshrink import jobs

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse databricks.yml")

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "databricks.yml").read_text(encoding="utf-8")
BUNDLE = yaml.safe_load(TEXT)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# the top-level mappings of the bundle schema (docs.databricks.com, "Bundle configuration reference")
TOP_LEVEL = {"bundle", "include", "variables", "artifacts", "resources", "targets", "workspace", "sync",
             "permissions", "run_as", "presets", "experimental", "python", "scripts", "git"}
JOBS = BUNDLE["resources"]["jobs"]
TASKS = [(key, task) for key, job in JOBS.items() for task in job["tasks"]]


def test_bundle_essentials():
    assert set(BUNDLE) <= TOP_LEVEL, set(BUNDLE) - TOP_LEVEL
    assert BUNDLE["bundle"]["name"] == "lakeshrink"
    targets = BUNDLE["targets"]
    assert targets and sum(bool(t.get("default")) for t in targets.values()) == 1
    assert all(t.get("mode", "development") in ("development", "production") for t in targets.values())
    assert set(BUNDLE["resources"]) == {"jobs"}
    for name in set(re.findall(r"\$\{var\.(\w+)\}", TEXT)):
        assert "default" in BUNDLE["variables"].get(name, {}), f"${{var.{name}}} has no variable with a default"


def test_every_job_loads_into_databricks_typed_job_model():
    models = pytest.importorskip("databricks.bundles.jobs", reason="pip install databricks-bundles (in '.[test]')")
    for key, job in JOBS.items():
        loaded = models.Job.from_dict(job)  # raises on a key the job schema does not have
        assert loaded.as_dict() == job, key  # nothing dropped or reinterpreted
    with pytest.raises(ValueError, match="package_nam"):
        models.Job.from_dict({"tasks": [{"task_key": "t", "python_wheel_task": {"package_nam": "lakeshrink"}}]})


def test_wheel_tasks_run_this_packages_console_scripts():
    scripts = PROJECT["scripts"]
    assert sorted(key for key, _ in TASKS) == sorted(jobs.JOBS), "one job per batch job, named after it"
    for key, task in TASKS:
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == PROJECT["name"]
        assert scripts.get(wheel["entry_point"]) == f"lakeshrink.jobs:{key}", wheel["entry_point"]
        assert all(isinstance(p, str) for p in wheel["parameters"])
    assert len({t["task_key"] for _, t in TASKS}) == len(TASKS)


def test_serverless_environments_install_the_wheel_the_artifact_builds():
    (artifact,) = BUNDLE["artifacts"].values()
    assert artifact["type"] == "whl" and (ROOT / artifact["path"] / "pyproject.toml").is_file()
    out_dir = re.search(r"-w\s+(\S+)", artifact["build"]).group(1)
    for key, job in JOBS.items():
        environments = {e["environment_key"]: e["spec"] for e in job["environments"]}
        for task in job["tasks"]:
            spec = environments[task["environment_key"]]
            assert "client" not in spec, "deprecated: environment_version replaces client"
            assert spec["environment_version"].isdigit()
            assert any(Path(d).parent == Path(out_dir) and d.endswith(".whl") for d in spec["dependencies"]), key


@pytest.mark.slow
def test_the_jobs_run_as_their_wheel_tasks_would_start_them(tmp_path, demo_data):
    """volume/lake/logs laid out as the variables say, from the sample data; each task's entry point and
    parameters, in the bundle's order, with --engine local (no cluster here)."""
    volume = tmp_path / "volume"
    lake = volume / "lake"
    shutil.copytree(demo_data / "lake", lake)
    shutil.copytree(demo_data / "lake" / "flights_jan", lake / "events")  # the rewrite job's table
    shutil.copytree(demo_data / "logs", volume / "logs")
    values = {"volume": str(volume), "lake": str(lake)}
    for key, task in TASKS:
        params = [re.sub(r"\$\{var\.(\w+)\}", lambda m: values[m.group(1)], p)
                  for p in task["python_wheel_task"]["parameters"]]
        proc = subprocess.run([sys.executable, "-c", f"from lakeshrink.jobs import {key}; {key}()", *params,
                               "--engine", "local"], capture_output=True, text=True, timeout=600,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, f"{key}: {proc.stderr[-2000:]}"
        assert isinstance(json.loads(proc.stdout), dict), key
    assert (volume / "archives" / "logs.lslog").is_file() and (volume / "rewritten" / "events").is_dir()
    assert (volume / "scan" / "containment.json").is_file() and (volume / "plan").is_dir()
