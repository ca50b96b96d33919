"""lakeshrink.api: each function returns exactly the JSON its command prints, and raises instead of printing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lakeshrink import api
from lakeshrink.cli.main import cli
from lakeshrink.errors import InputError, LakeshrinkError


def test_result_is_the_commands_json(tmp_path, demo_data):
    log = demo_data / "logs" / "HDFS_1k.log"
    result = api.logs_compress([log], tmp_path / "a.lslog")
    assert result["files"] == 1 and result["archive"] == str(tmp_path / "a.lslog") and result["ratio"] > 1
    printed = CliRunner().invoke(cli, ["--output", "json", "logs", "templates", str(tmp_path / "a.lslog")])
    assert printed.exit_code == 0
    assert api.logs_templates(tmp_path / "a.lslog") == json.loads(printed.stdout)


def test_library_errors_are_raised_not_printed(tmp_path, capsys):
    with pytest.raises(InputError, match="no such file"):
        api.logs_compress([tmp_path / "missing.log"], tmp_path / "a.lslog")
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "a.lslog").exists()


def test_usage_errors_are_raised(tmp_path):
    with pytest.raises(api.CommandError, match="logs compress") as info:
        api.run("logs", "compress")
    assert isinstance(info.value, LakeshrinkError)


def test_errors_still_print_on_the_command_line_after_api_use(tmp_path):
    """The API's raising mode is scoped: the CLI goes back to one line on stderr and exit 1."""
    with pytest.raises(InputError):
        api.logs_compress([tmp_path / "missing.log"], tmp_path / "a.lslog")
    out = CliRunner().invoke(cli, ["logs", "compress", str(tmp_path / "missing.log"), "-o", str(tmp_path / "b.lslog")])
    assert out.exit_code == 1 and "lakeshrink: error:" in out.output


def test_logs_info_summarises_the_index(tmp_path, demo_data):
    logs = sorted((demo_data / "logs").glob("*.log"))
    api.logs_compress(logs, tmp_path / "a.lslog")
    info = api.run("logs", "info", str(tmp_path / "a.lslog"))
    assert [f["path"] for f in info["files"]] == [p.name for p in logs]
    assert info["input_bytes"] == sum(p.stat().st_size for p in logs) == sum(f["bytes"] for f in info["files"])
    assert info["lines"] == 2000 and sum(info["modes"].values()) == info["chunks"] >= 2


def test_one_output_flag_scheme_with_the_old_spellings_hidden(tmp_path, demo_data):
    runner = CliRunner()
    scan_help = runner.invoke(cli, ["containment", "scan", "--help"]).output
    plan_help = runner.invoke(cli, ["containment", "plan", "--help"]).output
    decompress_help = runner.invoke(cli, ["logs", "decompress", "--help"]).output
    assert "-o, --output" in scan_help and "--out " not in scan_help
    assert "-o, --output" in plan_help and "--output-dir" not in plan_help
    assert "--overwrite" in decompress_help and "--force" not in decompress_help
    assert "--output-format" in runner.invoke(cli, ["--help"]).output
    api.logs_compress([demo_data / "logs" / "HDFS_1k.log"], tmp_path / "a.lslog")
    for flag in ("--force", "--overwrite"):  # the old spelling still works
        out = runner.invoke(cli, ["--output", "json", "logs", "decompress", str(tmp_path / "a.lslog"), "-o",
                                  str(tmp_path / "a.log"), flag])
        assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["--json", "containment", "scan", str(demo_data / "lake"), "--out", str(tmp_path / "s")])
    assert out.exit_code == 0 and json.loads(out.stdout)["tables"] >= 10


def test_decompress_to_stdout(tmp_path, demo_data):
    logs = sorted((demo_data / "logs").glob("*.log"))
    api.logs_compress(logs, tmp_path / "a.lslog")
    out = CliRunner().invoke(cli, ["logs", "decompress", str(tmp_path / "a.lslog"), "-o", "-"])
    assert out.exit_code == 0
    assert out.stdout_bytes == b"".join(p.read_bytes() for p in logs)
