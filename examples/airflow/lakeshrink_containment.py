"""Example DAG: find redundant tables of a lake, plan which to mark, then mark them (never deletes).

The bundled sample lake is copied first, because marking writes a manifest at the lake's root. The plan task's
XCom holds the tables it would mark; the mark task is a separate, explicit step.
"""

from __future__ import annotations

import datetime
import shutil

from _common import SAMPLE, WORK
from airflow.sdk import DAG, task

from lakeshrink.airflow import (
    LakeshrinkContainmentMarkOperator,
    LakeshrinkContainmentPlanOperator,
    LakeshrinkContainmentScanOperator,
)

RUN = WORK / "containment" / "{{ ds }}"

with DAG(
    dag_id="lakeshrink_containment",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["lakeshrink", "example"],
) as dag:

    @task
    def copy_sample_lake(ds: str | None = None) -> str:
        """A fresh copy of the bundled sample lake for this run."""
        target = WORK / "containment" / str(ds) / "lake"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SAMPLE / "lake", target)
        return str(target)

    scan = LakeshrinkContainmentScanOperator(task_id="scan", lake=copy_sample_lake(), output=f"{RUN}/scan")
    # the sample profile calls every table cold (read 0 times a month); use your own read counts
    plan = LakeshrinkContainmentPlanOperator(task_id="plan", scan=f"{RUN}/scan", output=f"{RUN}/plan",
                                             access=str(SAMPLE / "access-cold.json"), gx=False, overwrite=True)
    mark = LakeshrinkContainmentMarkOperator(task_id="mark", plan=f"{RUN}/plan")

    @task
    def summary(planned: dict, marked: dict) -> int:
        """The marks written are the plan's."""
        assert {m["table"] for m in marked["marks"]} == {m["table"] for m in planned["marked"]}, (planned, marked)
        return len(marked["marks"])

    scan >> plan >> mark
    summary(plan.output, mark.output)

if __name__ == "__main__":
    dag.test()
