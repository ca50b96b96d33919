"""lakeshrink as an Apache Airflow provider (``pip install 'lakeshrink[airflow]'``, Airflow 3).

Airflow finds the provider through the ``apache_airflow_provider`` entry point, which names
:func:`get_provider_info`. The operators (:mod:`lakeshrink.airflow.operators`) run the ``lakeshrink`` commands in
the worker and push the command's JSON result as their XCom return value; their keyword arguments mirror the
command's options:

* :class:`LakeshrinkLogsCompressOperator` (``lakeshrink logs compress``),
* :class:`LakeshrinkEncodeRewriteOperator` (``lakeshrink encode rewrite``),
* :class:`LakeshrinkContainmentScanOperator` (``lakeshrink containment scan``),
* :class:`LakeshrinkContainmentPlanOperator` (``lakeshrink containment plan``),
* :class:`LakeshrinkContainmentMarkOperator` (``lakeshrink containment mark --execute``: a task of its own, never a
  dry run, so that marking is a step someone put in the DAG on purpose),

The Spark variant is any of them with ``engine="spark"``: ``spark_remote="sc://host:15002"`` runs the command on a
Spark Connect server (Databricks serverless, a cluster's Connect endpoint), ``spark_master`` on a new classic
session. spark-submit users run :mod:`lakeshrink.jobs` (``docs/airflow.md``); the Apache Spark provider is not a
dependency of the ``airflow`` extra because it requires ``pyspark-client``, which installs into pyspark's own folder
and, beside the ``spark`` extra's pyspark, replaces its Python files with another version's.

Importing this module does not import Airflow: the operators are loaded on first use.
"""

from __future__ import annotations

from typing import Any

_OPERATORS = {
    "LakeshrinkLogsCompressOperator": "lakeshrink.airflow.operators",
    "LakeshrinkEncodeRewriteOperator": "lakeshrink.airflow.operators",
    "LakeshrinkContainmentScanOperator": "lakeshrink.airflow.operators",
    "LakeshrinkContainmentPlanOperator": "lakeshrink.airflow.operators",
    "LakeshrinkContainmentMarkOperator": "lakeshrink.airflow.operators",
    "LakeshrinkOperator": "lakeshrink.airflow.operators",
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow's provider manager reads (``airflow providers list`` shows it)."""
    return {
        "package-name": "lakeshrink",
        "name": "lakeshrink",
        "description": "Cut what a data lake costs to keep: lossless log compression, per-column Parquet "
                       "encodings, redundant-table containment with a deletion plan that marks, never deletes.",
        "integrations": [{"integration-name": "lakeshrink", "tags": ["software"]}],
        "operators": [
            {"integration-name": "lakeshrink",
             "python-modules": ["lakeshrink.airflow.operators"]},
        ],
    }


def __getattr__(name: str) -> Any:
    if name in _OPERATORS:
        import importlib

        return getattr(importlib.import_module(_OPERATORS[name]), name)
    raise AttributeError(f"module 'lakeshrink.airflow' has no attribute {name!r}")


__all__ = ["get_provider_info", *_OPERATORS]
