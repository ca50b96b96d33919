"""lakeshrink.spark_ext.daemon: PySpark's daemon with lakeshrink's task modules imported before it forks.

The session tests share cannot take the daemon settings (they are read when the session starts), so the
end-to-end test runs a session of its own in a child process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'lakeshrink[spark]'")

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYSPARK_PYTHON"] = sys.executable
    return env


def test_preload_imports_the_task_modules_and_freezes_them():
    code = ("import gc, json, sys; from lakeshrink.spark_ext import daemon; before = gc.get_freeze_count(); "
            "daemon.preload(); print(json.dumps([[m for m in daemon.PRELOADED if m not in sys.modules], before, "
            "gc.get_freeze_count()]))")
    missing, before, after = json.loads(subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                                                       text=True, check=True).stdout)
    assert missing == []
    assert before == 0 and after > 1000  # the preloaded modules' objects are out of the collector's reach


def test_preload_imports_what_some_tables_need_but_starts_no_thread():
    """pyarrow.dataset (directory tables) and, when installed, pyiceberg (Iceberg tables) are imported before the
    fork; deltalake is not (its import starts a thread), and the daemon forks with no thread of lakeshrink's
    imports running."""
    code = ("import importlib.util, json, os, sys, threading; from lakeshrink.spark_ext import daemon; "
            "daemon.preload(); print(json.dumps([[m for m in daemon.IF_INSTALLED if importlib.util.find_spec(m.split('.')[0]) "
            "and m not in sys.modules], 'pyarrow.dataset' in sys.modules, 'deltalake' in sys.modules, "
            "threading.active_count()]))")
    missing, dataset, delta, threads = json.loads(subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                                                                 text=True, check=True).stdout)
    assert missing == [] and dataset and not delta
    assert threads == 1  # Python threads; the native allocators' idle threads are described in the module


def test_runs_as_the_pyspark_daemon():
    """Started as Spark starts its daemon (``python -m MODULE``), it tells its port on stdout, as a 4-byte int,
    and accepts a worker connection; SIGTERM ends it."""
    env = _env() | {"PYTHON_WORKER_FACTORY_SECRET": "secret"}
    proc = subprocess.Popen([sys.executable, "-m", "lakeshrink.spark_ext.daemon"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the daemon did not tell its port within 60 s"
        (port,) = struct.unpack("!i", proc.stdout.read(4))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            (pid,) = struct.unpack("!i", conn.recv(4, socket.MSG_WAITALL))  # a worker forked for this connection
            assert pid > 0 and pid != proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


SCAN = textwrap.dedent("""
    import json, os, sys, tempfile
    from lakeshrink.containment.scan import scan_lake
    from lakeshrink.engine import get_engine
    from lakeshrink.sample_data import bundled_dir
    from lakeshrink.spark_ext.session import get_spark_session

    spark = get_spark_session("local[2]", app_name="lakeshrink-daemon-test", conf={
        "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", "spark.driver.memory": "1g",
        "spark.python.worker.reuse": "false",
        "spark.python.daemon.module": "lakeshrink.spark_ext.daemon"})
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as cache:
        result = scan_lake(bundled_dir() / "lake", engine=get_engine("spark", spark=spark), cache=cache)
    mine = {os.getpid()}
    procs = {}
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit():
                stat = open(f"/proc/{entry}/stat").read()
                procs[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), open(f"/proc/{entry}/cmdline", "rb").read())
        except OSError:
            pass
    grown = True
    while grown:
        before = len(mine)
        mine |= {p for p, (parent, _) in procs.items() if parent in mine}
        grown = len(mine) > before
    def is_python(cmdline):
        return cmdline.split(b"\\0")[0].rsplit(b"/", 1)[-1].startswith(b"python")
    pythons = [procs[p][1].replace(b"\\0", b" ").decode() for p in mine if p in procs and is_python(procs[p][1]) and p != os.getpid()]
    print(json.dumps({"edges": sorted([e.child, e.parent] for e in result.edges), "pythons": pythons}))
    spark.stop()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_scan_on_forked_workers_finds_the_same_edges_and_leaves_only_the_daemon(tmp_path):
    from lakeshrink.containment.scan import scan_lake
    from lakeshrink.sample_data import bundled_dir

    out = subprocess.run([sys.executable, "-c", SCAN], env=_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    expected = scan_lake(bundled_dir() / "lake", engine="local", cache=tmp_path)
    assert got["edges"] == sorted([e.child, e.parent] for e in expected.edges) and got["edges"]
    # every worker ended with its task: the only Python process the JVM still has is the daemon
    assert len(got["pythons"]) == 1 and "lakeshrink.spark_ext.daemon" in got["pythons"][0], got["pythons"]
