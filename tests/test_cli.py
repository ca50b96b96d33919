"""The CLI's contract: help, JSON output, exit codes, bad arguments, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lakeshrink import __version__
from lakeshrink.cli.main import cli


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "lakeshrink", *args], capture_output=True, text=True, env=full_env, timeout=600)


@pytest.mark.parametrize("group", [[], ["logs"], ["encode"], ["containment"], ["demo"]])
def test_help_exits_zero(group):
    result = CliRunner().invoke(cli, [*group, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize(
    "args",
    [["--bogus"], ["--output", "yaml", "demo"], ["no-such-command"], ["demo", "--engine", "flink"], ["demo", "--only", "nothing"]],
)
def test_usage_errors_exit_2(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output


def test_json_demo_is_one_json_document_on_stdout():
    proc = run_cli("--output", "json", "demo")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout parses: nothing else was printed there
    assert doc["engine"]["engine"] == "local"
    keys = [c["key"] for c in doc["capabilities"]]
    assert keys == ["logs", "encode", "containment", "planner"]
    for cap in doc["capabilities"]:
        if cap["available"]:
            assert cap["report"]["input_bytes"] > 0
        else:
            assert cap["reason"] and cap["report"] is None
    assert {item["path"] for item in doc["data"]} >= {"logs/HDFS_1k.log", "lake/airlines.parquet"}


def test_text_demo_lists_every_capability():
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr
    for title in ("Log template compression", "Columnar encoding choices", "Redundant-table containment"):
        assert title in " ".join(proc.stdout.split())


def test_lakeshrink_error_exits_1_with_message_and_no_traceback(tmp_path):
    env = {"JAVA_HOME": str(tmp_path / "no-java-here")}
    proc = run_cli("demo", "--engine", "spark", "--only", "logs", env=env)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "lakeshrink: error:" in proc.stderr
    assert "JAVA_HOME" in proc.stderr and "Java 17" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verbose_error_shows_traceback(tmp_path):
    env = {"JAVA_HOME": str(tmp_path / "no-java-here")}
    proc = run_cli("-v", "demo", "--engine", "spark", "--only", "logs", env=env)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr


def test_missing_data_dir_is_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
