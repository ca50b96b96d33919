"""Example DAG: rewrite a bundled Parquet table with per-column encodings chosen from a sample."""

from __future__ import annotations

import datetime

from _common import SAMPLE, WORK
from airflow.sdk import DAG

from lakeshrink.airflow import LakeshrinkEncodeRewriteOperator

with DAG(
    dag_id="lakeshrink_encodings",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["lakeshrink", "example"],
) as dag:
    LakeshrinkEncodeRewriteOperator(
        task_id="rewrite",
        input=str(SAMPLE / "lake" / "planes.parquet"),
        output=str(WORK / "encodings" / "{{ ds }}" / "planes.parquet"),
        objective="balanced",
        overwrite=True,
    )

if __name__ == "__main__":
    dag.test()
