"""Entry points of the four batch jobs, for wheels run by schedulers (Databricks ``python_wheel_task``, spark-submit).

Each job is a ``lakeshrink`` command with the Spark engine by default; its arguments are the command's:

| entry point | command |
| --- | --- |
| ``lakeshrink-compress-logs`` | ``lakeshrink logs compress`` |
| ``lakeshrink-rewrite-parquet`` | ``lakeshrink encode rewrite`` |
| ``lakeshrink-find-redundant-tables`` | ``lakeshrink containment scan`` |
| ``lakeshrink-plan-deletions`` | ``lakeshrink containment plan`` |

``spark-submit $(python -c 'import lakeshrink.jobs as j; print(j.SUBMIT_SCRIPT)') find_redundant_tables LAKE -o
scan`` runs the same job under spark-submit (the active session is reused). Add ``--engine local`` to any job to run
it without Spark. Results go to stdout as the command's JSON document.
"""

from __future__ import annotations

import sys
from pathlib import Path

JOBS: dict[str, tuple[str, ...]] = {
    "compress_logs": ("logs", "compress"),
    "rewrite_parquet": ("encode", "rewrite"),
    "find_redundant_tables": ("containment", "scan"),
    "plan_deletions": ("containment", "plan"),
}
SUBMIT_SCRIPT = str(Path(__file__).with_name("submit.py"))


def command_line(job: str, argv: list[str]) -> list[str]:
    """The ``lakeshrink`` arguments that run ``job`` with ``argv`` (JSON output, Spark unless --engine is given)."""
    if job not in JOBS:
        raise SystemExit(f"lakeshrink job: unknown job {job!r}; expected one of {', '.join(JOBS)}")
    engine = [] if any(a == "--engine" or a.startswith("--engine=") for a in argv) else ["--engine", "spark"]
    return ["--json", *JOBS[job], *argv, *engine]


def run_job(job: str, argv: list[str] | None = None) -> None:
    """Run ``job`` as the ``lakeshrink`` command line would (exits with its status)."""
    from lakeshrink.cli.main import cli

    cli.main(args=command_line(job, list(sys.argv[1:] if argv is None else argv)), prog_name=f"lakeshrink-{job}")


def compress_logs() -> None:
    """``lakeshrink-compress-logs INPUTS -o ARCHIVE``."""
    run_job("compress_logs")


def rewrite_parquet() -> None:
    """``lakeshrink-rewrite-parquet INPUT -o OUTPUT``."""
    run_job("rewrite_parquet")


def find_redundant_tables() -> None:
    """``lakeshrink-find-redundant-tables LAKE -o SCAN``."""
    run_job("find_redundant_tables")


def plan_deletions() -> None:
    """``lakeshrink-plan-deletions SCAN -o PLAN``."""
    run_job("plan_deletions")
