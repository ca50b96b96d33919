"""Every ``lakeshrink`` command as a Python function that returns the command's JSON result.

Airflow operators, Databricks notebooks and scripts call these instead of spawning the CLI. Each function runs
exactly the command ``lakeshrink --output json GROUP COMMAND ...`` would, in this process, and returns the
JSON document that command prints, parsed: the same keys, the same values. Keyword arguments mirror the
command's options (``output`` is ``-o``, ``engine`` is ``--engine``...). Errors are raised, not printed: a
:class:`~lakeshrink.errors.LakeshrinkError` (bad input, a corrupt archive...) or :class:`CommandError` for a
usage error.

Example::

    from lakeshrink import api

    result = api.logs_compress(["app.log"], output="app.lslog")
    result["ratio"]                                   # e.g. 11.8
    scan = api.containment_scan("lake/", output="scan")
    plan = api.containment_plan("scan", output="plan", gx=False)
    api.containment_mark("plan", execute=False)       # dry run: what would be marked

With ``engine="spark"`` the active SparkSession is used (a Databricks notebook's, spark-submit's), else a new
one (``spark_master`` or ``$LAKESHRINK_SPARK_MASTER``, else ``local[*]``); an active session is never stopped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Sequence
from typing import Any

from lakeshrink.errors import LakeshrinkError

PathLike = str | os.PathLike[str]


class CommandError(LakeshrinkError, ValueError):
    """A command's arguments were refused (click's usage errors, exit code 2 on the command line)."""


def run(*args: str) -> dict[str, Any]:
    """Run ``lakeshrink --output json *args`` in this process and return its JSON result.

    Raises:
        LakeshrinkError: the command failed (the same error the CLI prints on one line).
        CommandError: the arguments are not a valid command line.
    """
    import click

    from lakeshrink.cli.main import cli, raising_errors

    out = io.StringIO()
    argv = ["--json", *(os.fspath(a) for a in args)]
    try:
        with raising_errors(), contextlib.redirect_stdout(out):
            cli.main(args=argv, prog_name="lakeshrink", standalone_mode=False)
    except click.UsageError as exc:
        raise CommandError(f"lakeshrink {' '.join(argv[1:3])}: {exc.format_message()}") from exc
    text = out.getvalue().strip()
    return json.loads(text) if text else {}


def _opt(flag: str, value: Any) -> list[str]:
    """``[flag, value]`` for a set option, ``[flag]`` for a true boolean flag, ``[]`` otherwise."""
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    return [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]


def _engine(engine: str, spark_master: str | None) -> list[str]:
    return ["--engine", engine, *_opt("--spark-master", spark_master)]


def logs_compress(inputs: Sequence[PathLike], output: PathLike, *, format: str | None = None, level: int | None = None,
                  exclude: Sequence[str] = (), overwrite: bool = False, engine: str = "local",
                  spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink logs compress INPUTS -o OUTPUT``: compress log files or directories into one archive.

    Compressed inputs (.gz, .zst, .xz, .bz2) are read decompressed; ``exclude`` globs leave files out.
    """
    return run("logs", "compress", *map(os.fspath, inputs), "-o", os.fspath(output), *_opt("--format", format),
               *_opt("--level", level), *[a for g in exclude for a in ("--exclude", g)], *_opt("--overwrite", overwrite),
               *_engine(engine, spark_master))


def logs_decompress(archive: PathLike, output: PathLike, *, overwrite: bool = False) -> dict[str, Any]:
    """``lakeshrink logs decompress ARCHIVE -o OUTPUT``: the exact bytes that were compressed."""
    return run("logs", "decompress", os.fspath(archive), "-o", os.fspath(output), *_opt("--overwrite", overwrite))


def logs_templates(archive: PathLike, *, limit: int = 0) -> dict[str, Any]:
    """``lakeshrink logs templates ARCHIVE``: the templates with their line counts."""
    return run("logs", "templates", os.fspath(archive), "--limit", str(limit))


def encode_advise(path: PathLike, *, objective: str = "balanced", save_plan: PathLike | None = None,
                  engine: str = "local", spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink encode advise PATH``: per-column encodings with estimates against the default writer."""
    return run("encode", "advise", os.fspath(path), "--objective", objective, *_opt("--save-plan", save_plan),
               *_engine(engine, spark_master))


def encode_rewrite(input: PathLike, output: PathLike, *, objective: str = "balanced", plan: PathLike | None = None,
                   overwrite: bool = False, engine: str = "local", spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink encode rewrite INPUT -o OUTPUT``: rewrite Parquet with per-column encodings, verified."""
    return run("encode", "rewrite", os.fspath(input), "-o", os.fspath(output), "--objective", objective,
               *_opt("--plan", plan), *_opt("--overwrite", overwrite), *_engine(engine, spark_master))


def containment_scan(lake: PathLike, output: PathLike, *, types: str = "exact", tables: PathLike | None = None,
                     engine: str = "local", spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink containment scan LAKE -o OUTPUT``: the tables contained in other tables."""
    return run("containment", "scan", os.fspath(lake), "-o", os.fspath(output), "--types", types,
               *_opt("--tables", tables), *_engine(engine, spark_master))


def containment_plan(scan: PathLike, output: PathLike, *, access: PathLike | None = None,
                     costs: PathLike | None = None, gx: bool = True, overwrite: bool = False,
                     engine: str = "local", spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink containment plan SCAN -o OUTPUT``: which contained tables to mark, with recipes and report."""
    return run("containment", "plan", os.fspath(scan), "-o", os.fspath(output), *_opt("--access", access),
               *_opt("--costs", costs), "--gx" if gx else "--no-gx", *_opt("--overwrite", overwrite),
               *_engine(engine, spark_master))


def containment_mark(plan: PathLike, *, execute: bool = False) -> dict[str, Any]:
    """``lakeshrink containment mark PLAN``: a dry run unless ``execute``; never deletes a file."""
    return run("containment", "mark", os.fspath(plan), *_opt("--execute", execute))


def containment_verify(plan: PathLike, *, dry_run: bool = False) -> dict[str, Any]:
    """``lakeshrink containment verify PLAN``: withdraw marks whose parent changed."""
    return run("containment", "verify", os.fspath(plan), *_opt("--dry-run", dry_run))


def containment_rebuild(plan: PathLike, table: str, output: PathLike, *, overwrite: bool = False,
                        engine: str = "local", spark_master: str | None = None) -> dict[str, Any]:
    """``lakeshrink containment rebuild PLAN TABLE -o OUTPUT``: rebuild a marked table exactly."""
    return run("containment", "rebuild", os.fspath(plan), table, "-o", os.fspath(output),
               *_opt("--overwrite", overwrite), *_engine(engine, spark_master))


__all__ = [
    "CommandError", "run", "logs_compress", "logs_decompress", "logs_templates", "encode_advise", "encode_rewrite",
    "containment_scan", "containment_plan", "containment_mark", "containment_verify", "containment_rebuild",
]
