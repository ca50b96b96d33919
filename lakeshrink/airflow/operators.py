"""Airflow operators that run lakeshrink commands in the worker and return their JSON result as XCom.

The ``output=`` keyword (the command's ``-o``) is kept on the operator as ``output_path``: ``BaseOperator.output``
is Airflow's handle on the task's XCom.

Each operator calls :mod:`lakeshrink.api`, which runs the same code as ``lakeshrink --output json ...``; the
dictionary it returns is the task's return value, so ``ti.xcom_pull(task_ids="scan")["tables"]`` reads the scan's
``tables``. Path arguments are templated (``"{{ ds }}"`` works). Progress goes to the task log as plain periodic
lines (stderr is not a terminal in a worker).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

try:  # Airflow 3: the Task SDK
    from airflow.sdk import BaseOperator
except ImportError:  # pragma: no cover - Airflow 2.x
    from airflow.models import BaseOperator  # type: ignore[no-redef]

from lakeshrink import api


@contextlib.contextmanager
def _spark_remote(url: str | None) -> Iterator[None]:
    """``$SPARK_REMOTE`` set to ``url`` for the length of the command (pyspark then builds a Connect session)."""
    if not url:
        yield
        return
    before = os.environ.get("SPARK_REMOTE")
    os.environ["SPARK_REMOTE"] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SPARK_REMOTE", None)
        else:
            os.environ["SPARK_REMOTE"] = before


class LakeshrinkOperator(BaseOperator):
    """Base of the lakeshrink operators: :meth:`run_command` returns the command's JSON result, pushed as XCom.

    Operators that run on an engine take ``engine`` (``"local"`` or ``"spark"``), ``spark_master`` (a new classic
    session's master) and ``spark_remote`` (a Spark Connect URL, ``sc://host:15002``, set as ``$SPARK_REMOTE``
    while the command runs).
    """

    ui_color = "#c8e6c9"
    command: ClassVar[str] = ""

    def run_command(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def execute(self, context: Any) -> dict[str, Any]:
        self.log.info("lakeshrink %s", self.command)
        with _spark_remote(getattr(self, "spark_remote", None)):
            result = self.run_command()
        self.log.info("lakeshrink %s: done (%d keys in the result)", self.command, len(result))
        return result


class LakeshrinkLogsCompressOperator(LakeshrinkOperator):
    """``lakeshrink logs compress INPUTS -o OUTPUT [--format F] [--exclude GLOB]... [--overwrite] [--engine E]``."""

    command = "logs compress"
    template_fields: Sequence[str] = ("inputs", "output_path", "format", "exclude")

    def __init__(self, *, inputs: Sequence[str], output: str, format: str | None = None, level: int | None = None,
                 exclude: Sequence[str] = (), overwrite: bool = False, engine: str = "local",
                 spark_master: str | None = None, spark_remote: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inputs, self.output_path, self.format, self.level = list(inputs), output, format, level
        self.exclude, self.overwrite = list(exclude), overwrite
        self.engine, self.spark_master, self.spark_remote = engine, spark_master, spark_remote

    def run_command(self) -> dict[str, Any]:
        return api.logs_compress(self.inputs, self.output_path, format=self.format, level=self.level,
                                 exclude=self.exclude, overwrite=self.overwrite, engine=self.engine,
                                 spark_master=self.spark_master)


class LakeshrinkEncodeRewriteOperator(LakeshrinkOperator):
    """``lakeshrink encode rewrite INPUT -o OUTPUT [--objective O] [--plan P] [--overwrite] [--engine E]``."""

    command = "encode rewrite"
    template_fields: Sequence[str] = ("input", "output_path", "plan")

    def __init__(self, *, input: str, output: str, objective: str = "balanced", plan: str | None = None,
                 overwrite: bool = False, engine: str = "local", spark_master: str | None = None, spark_remote: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input, self.output_path, self.objective, self.plan, self.overwrite = input, output, objective, plan, overwrite
        self.engine, self.spark_master, self.spark_remote = engine, spark_master, spark_remote

    def run_command(self) -> dict[str, Any]:
        return api.encode_rewrite(self.input, self.output_path, objective=self.objective, plan=self.plan,
                                  overwrite=self.overwrite, engine=self.engine, spark_master=self.spark_master)


class LakeshrinkContainmentScanOperator(LakeshrinkOperator):
    """``lakeshrink containment scan LAKE -o OUTPUT [--types T] [--tables FILE] [--engine E]``."""

    command = "containment scan"
    template_fields: Sequence[str] = ("lake", "output_path", "tables")

    def __init__(self, *, lake: str, output: str, types: str = "exact", tables: str | None = None,
                 engine: str = "local", spark_master: str | None = None, spark_remote: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lake, self.output_path, self.types, self.tables = lake, output, types, tables
        self.engine, self.spark_master, self.spark_remote = engine, spark_master, spark_remote

    def run_command(self) -> dict[str, Any]:
        return api.containment_scan(self.lake, self.output_path, types=self.types, tables=self.tables, engine=self.engine,
                                    spark_master=self.spark_master)


class LakeshrinkContainmentPlanOperator(LakeshrinkOperator):
    """``lakeshrink containment plan SCAN -o OUTPUT [--access A] [--costs C] [--no-gx] [--overwrite]``."""

    command = "containment plan"
    template_fields: Sequence[str] = ("scan", "output_path", "access", "costs")

    def __init__(self, *, scan: str, output: str, access: str | None = None, costs: str | None = None,
                 gx: bool = True, overwrite: bool = False, engine: str = "local", spark_master: str | None = None,
                 spark_remote: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan, self.output_path, self.access, self.costs = scan, output, access, costs
        self.gx, self.overwrite, self.engine, self.spark_master = gx, overwrite, engine, spark_master
        self.spark_remote = spark_remote

    def run_command(self) -> dict[str, Any]:
        return api.containment_plan(self.scan, self.output_path, access=self.access, costs=self.costs, gx=self.gx,
                                    overwrite=self.overwrite, engine=self.engine, spark_master=self.spark_master)


class LakeshrinkContainmentMarkOperator(LakeshrinkOperator):
    """``lakeshrink containment mark PLAN --execute``: writes the marks (never deletes a file).

    There is deliberately no dry-run switch: a DAG that only wants to look at what would be marked reads the
    plan task's XCom (``marked``) or the plan's report. Marking re-checks every table against the lake first and
    marks nothing when anything changed since the plan.
    """

    command = "containment mark --execute"
    template_fields: Sequence[str] = ("plan",)
    ui_color = "#ffcdd2"

    def __init__(self, *, plan: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def run_command(self) -> dict[str, Any]:
        return api.containment_mark(self.plan, execute=True)
