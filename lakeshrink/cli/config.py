"""Defaults for command options from a config file: ``lakeshrink.toml`` or ``[tool.lakeshrink]`` in pyproject.toml.

Tables name commands and keys name their options (the long name, with ``_`` for ``-``), so anything a command
takes can be set once, e.g. the planner's prices, access profile and solver, or the logs' chunk size::

    # lakeshrink.toml
    [containment.plan]
    costs = "ops/costs.json"        # paths are relative to the config file
    access = "ops/access.csv"
    solver = "milp"

    [containment.scan]
    types = "compatible"

    [logs.compress]
    level = 15

Options given on the command line win. The file is the one ``--config FILE`` (or ``$LAKESHRINK_CONFIG``) names;
otherwise ``lakeshrink.toml`` in the current directory, else ``pyproject.toml``'s ``[tool.lakeshrink]`` there;
otherwise nothing. It is read when a command runs, never on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lakeshrink.errors import InputError

CONFIG_ENV = "LAKESHRINK_CONFIG"
PATH_OPTIONS = {"costs", "access", "tables", "plan", "save_plan", "tables_file", "plan_file"}


def find_config(explicit: Path | None, cwd: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The config file in force and its lakeshrink table, or None."""
    cwd = cwd or Path.cwd()
    if explicit is not None:
        return explicit, _read(explicit, pyproject=explicit.name == "pyproject.toml")
    if (cwd / "lakeshrink.toml").is_file():
        return cwd / "lakeshrink.toml", _read(cwd / "lakeshrink.toml", pyproject=False)
    if (cwd / "pyproject.toml").is_file():
        table = _read(cwd / "pyproject.toml", pyproject=True)
        if table:
            return cwd / "pyproject.toml", table
    return None


def _read(path: Path, *, pyproject: bool) -> dict[str, Any]:
    try:
        import tomllib  # only when a config file is there: not on the start-up path

        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the config file: {exc.strerror or exc}", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the config file is not valid TOML: {exc}", path=path) from exc
    table = doc.get("tool", {}).get("lakeshrink", {}) if pyproject else doc
    if not isinstance(table, dict):
        raise InputError("the lakeshrink config must be a table", path=path)
    return table


def default_map(group: click.Group, table: dict[str, Any], base: Path, where: str = "") -> dict[str, Any]:
    """Check ``table`` against the commands of ``group`` and turn it into click's ``default_map``.

    Raises:
        InputError: a table names no command, or a key no option of its command.
    """
    out: dict[str, Any] = {}
    for name, value in table.items():
        sub = group.get_command(click.Context(group), name) if isinstance(group, click.Group) else None  # lazy ones too
        here = f"{where}.{name}" if where else name
        if sub is None:
            raise InputError(f"config: [{where or 'top level'}] has {name!r}, which is no lakeshrink command")
        if not isinstance(value, dict):
            raise InputError(f"config: {here} must be a table of options")
        if isinstance(sub, click.Group):
            out[name] = default_map(sub, value, base, here)
            continue
        params = {p.name: p for p in sub.params if isinstance(p, click.Option)}
        options = {}
        for key, v in value.items():
            pname = key.replace("-", "_")
            if pname not in params:
                raise InputError(f"config: {here} has {key!r}, which is no option of `lakeshrink {here.replace('.', ' ')}`")
            if pname in PATH_OPTIONS and isinstance(v, str):
                v = str((base / v)) if not Path(v).is_absolute() and "://" not in v else v
            options[pname] = v
        out[name] = options
    return out
