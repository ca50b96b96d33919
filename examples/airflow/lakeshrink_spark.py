"""Example DAG: the containment scan on Spark. With ``LAKESHRINK_SPARK_REMOTE`` set (``sc://host:15002``) it runs on
that Spark Connect server; otherwise on a new local classic session (``local[1]``, the ``spark`` extra's pyspark)."""

from __future__ import annotations

import datetime
import os

from _common import SAMPLE, WORK
from airflow.sdk import DAG

from lakeshrink.airflow import LakeshrinkContainmentScanOperator

with DAG(
    dag_id="lakeshrink_spark",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["lakeshrink", "example", "spark"],
) as dag:
    LakeshrinkContainmentScanOperator(
        task_id="scan_on_spark",
        lake=str(SAMPLE / "lake"),
        output=str(WORK / "spark" / "{{ ds }}" / "scan"),
        engine="spark",
        spark_remote=os.environ.get("LAKESHRINK_SPARK_REMOTE"),
        spark_master=None if os.environ.get("LAKESHRINK_SPARK_REMOTE") else "local[1]",
    )

if __name__ == "__main__":
    dag.test()
