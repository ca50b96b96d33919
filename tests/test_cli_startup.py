"""The command line starts fast: `lakeshrink --help` imports no heavy library, and command modules are imported
only when their command runs (the lazy tables must list every command)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest

HEAVY = ("pyarrow", "polars", "pandas", "numpy", "rich", "pyspark", "scipy", "zstandard")


@pytest.mark.parametrize("argv", [["--help"], ["containment", "--help"], ["--version"]])
def test_help_imports_no_heavy_library(argv):
    code = ("import sys\nfrom lakeshrink.cli.main import cli\ntry:\n    cli(%r, prog_name='lakeshrink')\n"
            "except SystemExit:\n    pass\nprint(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (argv, HEAVY))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_main_help_lists_every_group():
    from click.testing import CliRunner

    from lakeshrink.cli.main import cli

    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for group in ("logs", "encode", "containment", "demo"):
        assert f"  {group} " in res.output


@pytest.mark.parametrize("group_path,modules", [
    ("lakeshrink.cli.containment:containment", ["lakeshrink.cli.containment_scan", "lakeshrink.cli.containment_plan"]),
])
def test_lazy_tables_list_every_command(group_path, modules):
    module, _, name = group_path.partition(":")
    group = getattr(importlib.import_module(module), name)
    listed = set(group.lazy)
    defined = {c.name for m in modules for c in importlib.import_module(m).COMMANDS}
    assert listed == defined
    ctx = click.Context(group)
    for command in listed:
        assert group.get_command(ctx, command).name == command


def test_top_level_table_loads_every_group():
    from lakeshrink.cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    for name in COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command)
