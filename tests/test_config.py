"""Option defaults from lakeshrink.toml / [tool.lakeshrink]: command line wins, bad keys are refused by name."""

from __future__ import annotations

import json

from click.testing import CliRunner

from lakeshrink.cli.main import cli


def _templates(runner: CliRunner, archive, *args: str) -> list:
    out = runner.invoke(cli, ["--output", "json", *args, "logs", "templates", str(archive)])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)["templates"]


def test_config_sets_defaults_and_the_command_line_wins(tmp_path, monkeypatch, demo_data):
    archive = tmp_path / "a.lslog"
    runner = CliRunner()
    assert runner.invoke(cli, ["logs", "compress", str(demo_data / "logs" / "HDFS_1k.log"), "-o", str(archive)]).exit_code == 0
    every = _templates(runner, archive)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeshrink.toml").write_text("[logs.templates]\nlimit = 2\n")
    assert len(_templates(runner, archive)) == 2 < len(every)
    out = runner.invoke(cli, ["--output", "json", "logs", "templates", str(archive), "--limit", "3"])
    assert len(json.loads(out.stdout)["templates"]) == 3


def test_pyproject_tool_table_and_explicit_file(tmp_path, monkeypatch, demo_data):
    archive = tmp_path / "a.lslog"
    runner = CliRunner()
    runner.invoke(cli, ["logs", "compress", str(demo_data / "logs" / "HDFS_1k.log"), "-o", str(archive)])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.lakeshrink.logs.templates]\nlimit = 1\n")
    assert len(_templates(runner, archive)) == 1
    other = tmp_path / "other.toml"
    other.write_text("[logs.templates]\nlimit = 4\n")
    assert len(_templates(runner, archive, "--config", str(other))) == 4


def test_unknown_keys_are_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeshrink.toml").write_text("[containment.plan]\nacces = 'x.csv'\n")
    out = CliRunner().invoke(cli, ["containment", "plan", str(tmp_path), "-o", str(tmp_path / "p")])
    assert out.exit_code == 1 and "'acces', which is no option of `lakeshrink containment plan`" in out.output
    (tmp_path / "lakeshrink.toml").write_text("[contianment]\n")
    out = CliRunner().invoke(cli, ["logs", "--help"])
    assert out.exit_code == 1 and "'contianment', which is no lakeshrink command" in out.output
    (tmp_path / "lakeshrink.toml").write_text("[logs\n")
    out = CliRunner().invoke(cli, ["logs", "--help"])
    assert out.exit_code == 1 and "not valid TOML" in out.output
