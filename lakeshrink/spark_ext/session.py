"""Finding or starting a SparkSession, with clear errors when Spark cannot run here.

Order of checks: pyspark importable, then an active session is reused as it is (Databricks, spark-submit,
notebooks), then a Java runtime of version 17 or newer is required before a new session is built.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from lakeshrink.errors import EngineUnavailable

MIN_JAVA = 17
PYSPARK_HINT = "pip install 'lakeshrink[spark]'"
JAVA_HINT = "install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless) and set JAVA_HOME"

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


def get_spark_session(master: str | None = None, *, app_name: str = "lakeshrink", conf: dict[str, str] | None = None):
    """Return the active SparkSession, or build one on ``master`` (default ``local[*]``).

    A session that is already active is returned as it is, whatever ``master`` says, so the same code runs in a
    Databricks notebook, under spark-submit and on a laptop.
    """
    import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    find_java()
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master or "local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: say so plainly
        raise EngineUnavailable("spark", f"could not start a SparkSession on {master or 'local[*]'}: {exc}", hint=JAVA_HINT) from exc
