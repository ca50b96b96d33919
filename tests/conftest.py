"""Shared fixtures: one lazily created, session-scoped local[2] SparkSession; the Loghub-2k data; seeded RNG."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from lakeshrink import progress
from lakeshrink.sample_data import bundled_dir, loghub_dir


@pytest.fixture(autouse=True, scope="session")
def _no_progress_bars():
    progress.set_enabled(False)
    yield
    progress.set_enabled(None)


@pytest.fixture(scope="session")
def spark():
    """A local[2] SparkSession for the whole test session (UI off, 2 shuffle partitions), stopped at teardown.

    Tests that use it are marked ``spark``. Skips only when pyspark is not installed; a missing or old Java
    is an error, since CI installs Java 17.
    """
    pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'lakeshrink[spark]'")
    from lakeshrink.spark_ext.session import get_spark_session

    # Python workers must import test modules too (functions defined in tests are pickled by reference).
    tests_dir = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (tests_dir, os.environ.get("PYTHONPATH")) if p)
    # ...with this interpreter (Spark's default is `python3` on PATH, which may lack lakeshrink's dependencies)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = get_spark_session(
        "local[2]",
        app_name="lakeshrink-tests",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "2g",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def loghub() -> Path:
    """The Loghub-2k directory beside the checkout; tests that need it skip with a reason when it is absent."""
    path = loghub_dir()
    if path is None:
        pytest.skip("Loghub-2k data not found at ../shared/data/loghub-2k (set LAKESHRINK_LOGHUB to use another copy)")
    return path


@pytest.fixture(scope="session")
def demo_data() -> Path:
    return bundled_dir()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)
