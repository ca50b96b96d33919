"""Shared fixtures: one lazily created, session-scoped SparkSession (classic local[2], or Spark Connect with
``--spark-connect``); the engine runtimes of the behaviour suite; the Loghub-2k data; seeded RNG."""

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


@pytest.fixture(autouse=True)
def _fresh_encoding_decisions():
    """Each test advises from scratch: cost-model decisions are remembered per process (encodings.decisions)."""
    from lakeshrink.codecs.encodings.decisions import forget

    forget()
    yield


CONNECT_ENV = "LAKESHRINK_TEST_SPARK_CONNECT"
RUNTIMES = ("local", "spark", "spark-connect")


def pytest_addoption(parser):
    parser.addoption(
        "--spark-connect", action="store_true", default=False,
        help=f"the Spark Connect leg: the `spark` fixture is a Spark Connect session to a local Connect server "
             f"(in this process), and only Spark tests run (also: ${CONNECT_ENV}=1)",
    )


def connect_leg(config) -> bool:
    return bool(config.getoption("--spark-connect")) or os.environ.get(CONNECT_ENV) == "1"


def pytest_collection_modifyitems(config, items):
    """Classic leg: everything but the `spark-connect` runtime. Connect leg (a Connect session cannot share a
    process with a classic one): only Spark tests, and of the `engine` runtimes only `spark-connect`."""
    connect = connect_leg(config)
    keep, drop = [], []
    for item in items:
        runtime = getattr(item, "callspec", None) and item.callspec.params.get("engine")
        if connect:
            wanted = runtime == "spark-connect" if runtime else item.get_closest_marker("spark") is not None
        else:
            wanted = runtime != "spark-connect"
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def spark(request):
    """The session's SparkSession, stopped at teardown: classic ``local[2]``, or with ``--spark-connect`` a Spark
    Connect session to a ``local[2]`` Connect server started in this process (2 shuffle partitions either way).

    Tests that use it are marked ``spark``. Skips only when pyspark is not installed; a missing or old Java
    is an error, since CI installs Java 17.
    """
    pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'lakeshrink[spark]'")
    from lakeshrink.spark_ext.session import get_spark_session

    # Python workers must import test modules too (functions defined in tests are pickled by reference), and this
    # checkout's lakeshrink (a Connect server's workers do not start in the checkout, and an editable install may
    # point at another one).
    tests_dir = Path(__file__).resolve().parent
    paths = (str(tests_dir), str(tests_dir.parent), os.environ.get("PYTHONPATH"))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    # ...with this interpreter (Spark's default is `python3` on PATH, which may lack lakeshrink's dependencies)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "2g",
        "spark.sql.adaptive.enabled": "false",
    }
    if connect_leg(request.config):
        pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
        os.environ["SPARK_TESTING"] = "1"  # pyspark's own switch: the local Connect server takes a free port
        session = get_spark_session(remote="local[2]", conf=conf)
    else:
        session = get_spark_session("local[2]", app_name="lakeshrink-tests", conf=conf)
        session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session", params=[pytest.param("local"), pytest.param("spark", marks=pytest.mark.spark),
                                         pytest.param("spark-connect", marks=pytest.mark.spark)])
def engine(request):
    """The behaviour suite's runtime: ``local``, ``spark`` (classic local[2]) or ``spark-connect`` (the Connect
    leg). Tests whose results must agree on every runtime take this fixture."""
    from lakeshrink.engine import get_engine

    if request.param == "local":
        return get_engine("local")
    return get_engine("spark", spark=request.getfixturevalue("spark"))


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
