"""The Airflow provider, tested as Airflow's docs advise: a SQLite metadata database (``airflow db migrate``), the
example DAGs in a dags folder, and ``airflow dags test`` for each, in a side virtualenv holding
``lakeshrink[airflow,spark]`` (Airflow cannot share the test environment). Installing the two extras together
also checks that the ``airflow`` extra leaves the ``spark`` extra's pyspark whole.

The venv is built on first use (minutes) and cached (see tests/side_venv.py); the checkout's code is what runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from side_venv import ROOT, side_venv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # a first venv build takes minutes

EXAMPLES = ROOT / "examples" / "airflow"
DAG_IDS = ["lakeshrink_containment", "lakeshrink_encodings", "lakeshrink_logs", "lakeshrink_spark"]
LOGICAL_DATE = "2026-01-02"


def _pyproject_sections() -> list[str]:
    """The parts of pyproject.toml that shape the side venv: the extras installed and the entry points."""
    text = (ROOT / "pyproject.toml").read_text()
    wanted = []
    for name in ("airflow", "spark"):
        match = re.search(rf"^{name} = \[.*?\]$", text, re.M | re.S)
        wanted.append(match.group(0) if match else "")
    match = re.search(r"^\[project\.entry-points\.apache_airflow_provider\].*?(?=^\[)", text, re.M | re.S)
    wanted.append(match.group(0) if match else "")
    return wanted


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict:
    """The side venv, an AIRFLOW_HOME with the example DAGs and a migrated SQLite database, and timings."""
    venv, build_seconds = side_venv("airflow", [f"{ROOT}[airflow,spark]"], _pyproject_sections())
    home = tmp_path_factory.mktemp("airflow_home")
    dags = home / "dags"
    shutil.copytree(EXAMPLES, dags, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),  # the checkout's lakeshrink, whatever the cached venv was built from
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "LAKESHRINK_EXAMPLES_DIR": str(home / "work"),
        "PYSPARK_PYTHON": str(venv / "bin" / "python"),
    }
    env.pop("SPARK_REMOTE", None)
    env.pop("LAKESHRINK_SPARK_REMOTE", None)
    start = time.perf_counter()
    _check(venv, env, ["airflow", "db", "migrate"])
    return {"venv": venv, "env": env, "home": home, "build_seconds": build_seconds,
            "migrate_seconds": time.perf_counter() - start}


def _check(venv: Path, env: dict, cmd: list[str], timeout: int = 1500) -> str:
    exe = str(venv / "bin" / cmd[0])
    proc = subprocess.run([exe, *cmd[1:]], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _json(stdout: str):
    """The JSON document of a command's stdout (Airflow logs to stdout too: the document is the last line)."""
    return json.loads([line for line in stdout.splitlines() if line.strip()][-1])


def test_airflow_and_spark_extras_together_keep_pyspark_whole(airflow_env):
    code = ("import importlib.metadata as m, json, pyspark, os\n"
            "dists = {d.metadata['Name'].lower() for d in m.distributions()}\n"
            "print(json.dumps({'module': pyspark.__version__, 'dist': m.version('pyspark'),"
            " 'client': 'pyspark-client' in dists, 'airflow': m.version('apache-airflow'),"
            " 'jars': os.path.isdir(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))}))")
    info = json.loads(_check(airflow_env["venv"], airflow_env["env"], ["python", "-c", code]).strip().splitlines()[-1])
    assert info["airflow"].startswith("3."), info
    assert not info["client"], "pyspark-client was installed beside pyspark: they share the pyspark folder"
    assert info["module"] == info["dist"] and info["jars"], info


def test_provider_is_registered_through_the_entry_point(airflow_env):
    code = ("import json; from airflow.providers_manager import ProvidersManager\n"
            "p = ProvidersManager().providers['lakeshrink']\n"
            "print(json.dumps({'version': p.version, 'info': p.data}))")
    info = json.loads(_check(airflow_env["venv"], airflow_env["env"], ["python", "-c", code]).strip().splitlines()[-1])
    assert info["info"]["package-name"] == "lakeshrink"
    assert info["info"]["operators"][0]["python-modules"] == ["lakeshrink.airflow.operators"]


def test_example_dags_import_without_errors(airflow_env):
    _check(airflow_env["venv"], airflow_env["env"], ["airflow", "dags", "reserialize"])
    errors = _check(airflow_env["venv"], airflow_env["env"], ["airflow", "dags", "list-import-errors", "-o", "json"])
    assert "Traceback" not in errors and "Error" not in errors.split("\n")[-2:], errors
    listed = _json(_check(airflow_env["venv"], airflow_env["env"], ["airflow", "dags", "list", "-o", "json"]))
    assert sorted(d["dag_id"] for d in listed) == DAG_IDS


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dags_test_runs_the_example(airflow_env, dag_id):
    start = time.perf_counter()
    _check(airflow_env["venv"], airflow_env["env"], ["airflow", "dags", "test", dag_id, LOGICAL_DATE])
    seconds = time.perf_counter() - start
    runs = _json(_check(airflow_env["venv"], airflow_env["env"], ["airflow", "dags", "list-runs", dag_id, "-o", "json"]))
    assert [r["state"] for r in runs] == ["success"], runs
    work = airflow_env["home"] / "work"
    expected = {
        "lakeshrink_logs": work / "logs" / f"{LOGICAL_DATE}.lslog",
        "lakeshrink_encodings": work / "encodings" / LOGICAL_DATE / "planes.parquet",
        "lakeshrink_containment": work / "containment" / LOGICAL_DATE / "lake" / "_lakeshrink" / "marked.json",
        "lakeshrink_spark": work / "spark" / LOGICAL_DATE / "scan" / "containment.json",
    }[dag_id]
    assert expected.exists(), f"{dag_id} did not write {expected}"
    print(f"\n{dag_id}: airflow dags test {seconds:.1f} s (venv build {airflow_env['build_seconds']:.0f} s, "
          f"db migrate {airflow_env['migrate_seconds']:.1f} s)")
