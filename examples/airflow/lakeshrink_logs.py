"""Example DAG: compress the bundled sample logs into one archive; the XCom is the command's JSON result."""

from __future__ import annotations

import datetime

from _common import SAMPLE, WORK
from airflow.sdk import DAG, task

from lakeshrink.airflow import LakeshrinkLogsCompressOperator

with DAG(
    dag_id="lakeshrink_logs",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["lakeshrink", "example"],
) as dag:
    compress = LakeshrinkLogsCompressOperator(
        task_id="compress",
        inputs=[str(SAMPLE / "logs")],  # a log directory; rotated .gz/.zst/.xz/.bz2 files would be read decompressed
        exclude=["LICENSE-NOTE*"],
        output=str(WORK / "logs" / "{{ ds }}.lslog"),
        overwrite=True,  # a re-run of the same day replaces its archive
    )

    @task
    def check(result: dict) -> float:
        """Fail the run unless the archive is smaller than its input."""
        assert result["archive_bytes"] < result["input_bytes"], result
        return result["ratio"]

    check(compress.output)

if __name__ == "__main__":
    dag.test()
