"""Finding or starting a SparkSession, with clear errors when Spark cannot run here.

Order of checks: pyspark importable, then an active session (classic or Spark Connect) is reused as it is
(Databricks, spark-submit, notebooks), then a Spark Connect server is reached when a remote URL is given, else a
Java runtime of version 17 or newer is required before a new classic session is built.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from lakeshrink.errors import EngineUnavailable

MIN_JAVA = 17
PYSPARK_HINT = "pip install 'lakeshrink[spark]'"
JAVA_HINT = "install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless) and set JAVA_HOME"

_LOCAL_MASTER = re.compile(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?")
_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


@dataclass(frozen=True)
class JavaRuntime:
    executable: str
    major: int
    version_text: str


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output: ``"1.8.0_392"`` is 8, ``"17.0.15"`` is 17."""
    match = _VERSION_RE.search(version_output)
    if not match:
        return None
    first, second = int(match.group(1)), match.group(2)
    if first == 1 and second is not None:
        return int(second)
    return first


def find_java() -> JavaRuntime:
    """Locate the Java runtime Spark would use and check that it is 17 or newer.

    Raises:
        EngineUnavailable: no java found, its version unreadable, or older than 17.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        executable = os.path.join(java_home, "bin", "java")
        if not os.access(executable, os.X_OK):
            raise EngineUnavailable(
                "spark", f"JAVA_HOME is {java_home!r} but {executable} is not an executable java", hint=JAVA_HINT
            )
    else:
        found = shutil.which("java")
        if found is None:
            raise EngineUnavailable("spark", "Java was not found: JAVA_HOME is unset and no java is on PATH", hint=JAVA_HINT)
        executable = found
    try:
        proc = subprocess.run([executable, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineUnavailable("spark", f"could not run {executable} -version: {exc}", hint=JAVA_HINT) from exc
    text = (proc.stderr or "") + (proc.stdout or "")
    major = parse_java_major(text)
    if major is None:
        raise EngineUnavailable("spark", f"could not read the Java version from {executable}: {text.strip()[:200]!r}", hint=JAVA_HINT)
    if major < MIN_JAVA:
        raise EngineUnavailable(
            "spark", f"Spark needs Java {MIN_JAVA} or newer, but {executable} is Java {major}", hint=JAVA_HINT
        )
    return JavaRuntime(executable, major, text.strip().splitlines()[0] if text.strip() else "")


def import_pyspark() -> Any:
    try:
        import pyspark
        from pyspark.sql import SparkSession  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailable("spark", f"pyspark is not installed ({exc})", hint=PYSPARK_HINT) from exc
    return pyspark


def setting(spark: Any, key: str) -> str | None:
    """A setting of the session, or None when it is unset or the server will not say (Databricks serverless)."""
    try:
        value = spark.conf.get(key, None)
    except Exception:  # noqa: BLE001 - Connect servers may refuse to read some settings
        return None
    return str(value) if value is not None else None


def parallelism(spark: Any) -> int:
    """How many tasks can run at once, without ``sparkContext``: ``spark.default.parallelism`` when set, the
    cores of a ``local[N]`` master, else ``spark.sql.shuffle.partitions`` (a cluster's usual width)."""
    value = setting(spark, "spark.default.parallelism")
    if value and value.isdigit():
        return max(1, int(value))
    match = _LOCAL_MASTER.fullmatch(setting(spark, "spark.master") or "")
    if match:
        cores = match.group(1)
        return (os.cpu_count() or 1) if cores == "*" else int(cores or 1)
    value = setting(spark, "spark.sql.shuffle.partitions")
    return max(1, int(value)) if value and value.isdigit() else 8


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (no ``sparkContext``, no RDDs, no JVM access)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def active_session() -> Any:
    """The active SparkSession of this thread, classic or Connect, or None."""
    import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None and "pyspark.sql.connect.session" in sys.modules:  # a Connect session made by its own class
        active = sys.modules["pyspark.sql.connect.session"].SparkSession.getActiveSession()
    return active


def _base_conf(conf: dict[str, str] | None) -> dict[str, str]:
    return {
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        **(conf or {}),
    }


def get_spark_session(master: str | None = None, *, remote: str | None = None, app_name: str = "lakeshrink",
                      conf: dict[str, str] | None = None):
    """Return the active SparkSession (classic or Connect), or start one.

    A session that is already active is returned as it is, whatever ``master`` or ``remote`` say, so the same
    code runs in a Databricks notebook, under spark-submit and on a laptop. Otherwise ``remote`` (a Spark Connect
    URL ``sc://host:port``, or ``local[N]`` for a Connect server inside this process) gives a Connect session,
    else a classic session is built on ``master`` (default ``local[*]``).

    Raises:
        EngineUnavailable: both ``master`` and ``remote`` given, pyspark or Java missing, or no session could be
            started or reached.
    """
    if master and remote:
        raise EngineUnavailable("spark", f"both a Spark master ({master}) and a Spark Connect server ({remote}) were given; give one")
    import_pyspark()
    from pyspark.sql import SparkSession

    active = active_session()
    if active is not None:
        return active
    local = remote is None or remote.startswith("local")
    if local:
        find_java()
        # Python workers of a local Spark run this interpreter (with lakeshrink and pyarrow), not `python3`
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = _base_conf(conf)
    if remote is not None:
        builder = SparkSession.builder.remote(remote)
        if not local:  # a running server: only runtime settings can be set, and those the caller asked for
            settings = dict(conf or {})
        else:
            settings.setdefault("spark.ui.enabled", "false")
        what = f"the Spark Connect server {remote}"
    else:
        builder = SparkSession.builder.appName(app_name).master(master or "local[*]").config("spark.ui.enabled", "false")
        what = f"a SparkSession on {master or 'local[*]'}"
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():  # Connect warns for each setting the server fixes itself
            warnings.simplefilter("ignore", UserWarning)
            return builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start, or the server cannot be reached: say so plainly
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise EngineUnavailable("spark", f"could not start or reach {what}: {first}",
                                hint=JAVA_HINT if local else "check the URL and that the server runs") from exc
