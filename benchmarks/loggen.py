"""Make large real logs for ``benchmarks/logs.py``: PostgreSQL 15 under pgbench, and Spark event/log4j2 logs.

    python benchmarks/loggen.py postgres [--seconds 90]   # text log, csvlog and jsonlog of one pgbench run
    python benchmarks/loggen.py spark [--tasks 6000]      # a Spark event log (JSON lines) and its log4j2 log

Everything is written under ``benchmarks/.cache/logs/`` (gitignored). PostgreSQL runs as a private cluster made
with ``initdb`` in a temporary directory, listening on a Unix socket only (``listen_addresses = ''``), and is
stopped before the script ends, also on errors. As root, the cluster is run as the ``postgres`` user (PostgreSQL
refuses to run as root). The Spark job runs in a child process with ``local[2]`` and no network listener but the
driver's own loopback ports.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache" / "logs"

_PG_CONF = """
listen_addresses = ''
unix_socket_directories = '{sock}'
port = 5499
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = '{logs}'
log_filename = 'postgresql'
log_rotation_size = 0
log_rotation_age = 0
log_min_duration_statement = 0
log_line_prefix = '%m [%p] %q%u@%d '
log_checkpoints = on
log_connections = on
log_disconnections = on
log_lock_waits = on
log_autovacuum_min_duration = 0
checkpoint_timeout = 30s
shared_buffers = 64MB
fsync = off
"""


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def postgres(seconds: int, clients: int, scale: int) -> list[Path]:
    """One pgbench run against a private cluster; returns the text, csv and json logs copied into the cache."""
    initdb = shutil.which("initdb")
    if initdb is None:
        sys.exit("initdb not found (PostgreSQL 15 server binaries)")
    bindir = Path(os.path.realpath(initdb)).parent
    user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="lakeshrink-pg-"))
    data, sock, logs = base / "data", base / "sock", base / "logs"
    sock.mkdir()
    logs.mkdir()
    if user:
        info = pwd.getpwnam(user)
        for p in (base, sock, logs):
            os.chown(p, info.pw_uid, info.pw_gid)
    env = {**os.environ, "PGHOST": str(sock), "PGPORT": "5499"}
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", "bench", "--no-sync", "-A", "trust"], user),
                   check=True, stdout=subprocess.DEVNULL)
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(_PG_CONF.format(sock=sock, logs=logs))
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(_as_user([pg_ctl, "-D", str(data), "-w", "-l", str(base / "start.log"), "start"], user), check=True,
                   stdout=subprocess.DEVNULL)
    try:
        run = lambda *cmd: subprocess.run(_as_user(list(cmd), user), check=True, env=env,  # noqa: E731
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run("createdb", "-U", "bench", "bench")
        run("pgbench", "-U", "bench", "-i", "-s", str(scale), "bench")
        run("pgbench", "-U", "bench", "-c", str(clients), "-j", "1", "-T", str(seconds), "bench")
        # a few errors and multi-line statements, as real servers see them
        run("psql", "-U", "bench", "-d", "bench", "-c", "SELECT 1/0;", "-c", "SELECT *\nFROM pgbench_branches\nWHERE bid = 1;")
    except subprocess.CalledProcessError:
        pass  # the division by zero fails on purpose; the logs are what we want
    finally:
        subprocess.run(_as_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user), check=False,
                       stdout=subprocess.DEVNULL)
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix, name in (("", "postgresql.log"), (".csv", "postgresql.csv"), (".json", "postgresql.json")):
        src = logs / f"postgresql{suffix}"
        if src.exists():
            shutil.copyfile(src, CACHE / name)
            out.append(CACHE / name)
    shutil.rmtree(base, ignore_errors=True)
    return out


_SPARK_JOB = """
import sys
from pyspark.sql import SparkSession
events, tasks = sys.argv[1], int(sys.argv[2])
spark = (SparkSession.builder.master("local[2]").appName("lakeshrink-loggen")
         .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", events)
         .config("spark.eventLog.compress", "false")
         .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "50")
         .getOrCreate())
spark.sparkContext.setLogLevel("INFO")
rounds = max(1, tasks // 400)
for r in range(rounds):
    df = spark.range(0, 200000, numPartitions=200).selectExpr("id", "id % 97 as k", "rand(%d) as x" % r)
    df.groupBy("k").agg({"x": "avg", "id": "max"}).collect()
    spark.sparkContext.parallelize(range(10000), 200).map(lambda v: v * v).sum()
spark.stop()
"""


def spark(tasks: int) -> list[Path]:
    """A Spark job of about ``tasks`` tasks; its event log (JSON lines) and its log4j2 driver log."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lakeshrink-spark-") as tmp:
        events = Path(tmp) / "events"
        events.mkdir()
        conf = Path(tmp) / "log4j2.properties"
        log = CACHE / "spark-log4j2.log"
        conf.write_text(
            "rootLogger.level = info\nrootLogger.appenderRef.file.ref = file\n"
            "appender.file.type = File\nappender.file.name = file\n"
            f"appender.file.fileName = {log}\nappender.file.append = false\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n"
        )
        job = Path(tmp) / "job.py"
        job.write_text(_SPARK_JOB)
        env = {**os.environ, "JAVA_TOOL_OPTIONS": f"-Dlog4j2.configurationFile={conf}", "PYSPARK_PYTHON": sys.executable}
        subprocess.run([sys.executable, str(job), f"file://{events}", str(tasks)], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        produced = sorted(p for p in events.rglob("*") if p.is_file() and not p.name.startswith("."))  # Spark 4: a directory of rolling event files
        target = CACHE / "spark-events.json"
        with open(target.with_suffix(".tmp"), "wb") as out:
            for p in produced:
                out.write(p.read_bytes())
        target.with_suffix(".tmp").replace(target)
    return [target, log]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["postgres", "spark"])
    parser.add_argument("--seconds", type=int, default=90, help="pgbench run time")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=6000, help="about how many Spark tasks")
    args = parser.parse_args()
    start = time.perf_counter()
    files = postgres(args.seconds, args.clients, args.scale) if args.what == "postgres" else spark(args.tasks)
    for f in files:
        print(f"{f} {f.stat().st_size / 1e6:.1f} MB")
    print(f"{time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
