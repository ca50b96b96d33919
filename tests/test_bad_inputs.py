"""Issue 9, case 9: bad inputs give one-line errors or skipped entries, never tracebacks."""

from __future__ import annotations

import json
import os
import shutil

from click.testing import CliRunner

from lakeshrink.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_non_utf8_file_name_does_not_kill_the_scan(tmp_path, demo_data):
    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake" / "derived", lake)
    shutil.copy(lake / "planes_boeing.parquet", os.path.join(os.fsencode(lake), b"\xffbad.parquet"))
    result = run("containment", "scan", lake, "-o", tmp_path / "scan")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "scan" / "containment.json").read_text())
    assert any("not UTF-8" in s["reason"] for s in doc["skipped"]) and doc["tables"]


def test_binary_tables_file_is_a_one_line_error(tmp_path, demo_data):
    tables = tmp_path / "tables.txt"
    tables.write_bytes(b"\x89PNG\xff\xfe\x00")
    result = run("containment", "scan", demo_data / "lake", "-o", tmp_path / "scan", "--tables", tables)
    assert result.exit_code == 1 and "not UTF-8" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
