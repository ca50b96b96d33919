"""Engine selection and the errors that say why Spark cannot run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from lakeshrink.engine import LocalEngine, get_engine
from lakeshrink.errors import EngineUnavailable, LakeshrinkError
from lakeshrink.spark_ext.session import find_java, parse_java_major


def test_local_is_default():
    engine = get_engine()
    assert isinstance(engine, LocalEngine)
    assert engine.describe() == {"engine": "local"}
    assert engine.map(len, ["a", "bcd", ""]) == [1, 3, 0]


def test_unknown_engine():
    with pytest.raises(EngineUnavailable, match="unknown engine 'flink'"):
        get_engine("flink")


def test_missing_pyspark_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes `import pyspark` raise ImportError
    with pytest.raises(EngineUnavailable) as info:
        get_engine("spark")
    assert "pyspark is not installed" in str(info.value)
    assert "pip install 'lakeshrink[spark]'" in str(info.value)
    assert isinstance(info.value, LakeshrinkError)


@pytest.mark.parametrize(
    "text,major",
    [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_392"', 8), ('openjdk version "21" 2023-09-19', 21),
     ('openjdk version "11.0.2" 2019-01-15', 11), ("garbage", None)],
)
def test_parse_java_major(text, major):
    assert parse_java_major(text) == major


def _fake_java(tmp_path, version_line: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo '{version_line}' >&2
        """))
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def test_old_java_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15')))
    with pytest.raises(EngineUnavailable, match="needs Java 17 or newer.*is Java 11"):
        find_java()


def test_missing_java_home_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing"))
    with pytest.raises(EngineUnavailable, match="JAVA_HOME.*not an executable java"):
        find_java()


def test_no_java_on_path(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineUnavailable, match="Java was not found"):
        find_java()


def test_java_17_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')))
    assert find_java().major == 17


def test_importing_lakeshrink_never_imports_pyspark():
    """Every module outside spark_ext imports without pulling in pyspark."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import lakeshrink
        for mod in pkgutil.walk_packages(lakeshrink.__path__, "lakeshrink."):
            if ".spark_ext" in mod.name or mod.name.endswith("__main__") or mod.name.startswith("lakeshrink.airflow"):
                continue  # lakeshrink.airflow needs Airflow (an extra, tested in its own virtualenv)
            importlib.import_module(mod.name)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] == "pyspark")
        assert not leaked, leaked
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_master_and_remote_together_are_refused(monkeypatch):
    monkeypatch.setenv("SPARK_REMOTE", "sc://localhost:1")
    with pytest.raises(EngineUnavailable, match="both a Spark master .* and a Spark Connect server"):
        get_engine("spark", spark_master="local[1]")


def test_cli_master_and_remote_together_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from lakeshrink.cli.main import cli

    env = {"SPARK_REMOTE": "sc://localhost:1", "LAKESHRINK_SPARK_MASTER": "local[1]"}
    res = CliRunner().invoke(cli, ["logs", "compress", __file__, "-o", str(tmp_path / "a.lslog"), "--engine", "spark"], env=env)
    assert res.exit_code == 2 and "not both" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "a.lslog").exists()
    res = CliRunner().invoke(cli, ["logs", "compress", __file__, "-o", str(tmp_path / "a.lslog")], env=env)
    assert res.exit_code == 0, res.output  # the local engine ignores Spark settings


class _Port:
    def verify(self) -> None: ...


def test_ports_are_found_by_dotted_path_and_kept():
    from lakeshrink.containment.scan.ports import CATALOG_READER, CONTAINMENT_VERIFIER
    from lakeshrink.containment.scan.verify import LocalVerifier
    from lakeshrink.engine import Port

    engine = get_engine("local")
    verifier = engine.port(CONTAINMENT_VERIFIER)
    assert isinstance(verifier, LocalVerifier) and engine.port(CONTAINMENT_VERIFIER) is verifier
    assert not engine.has_port(CATALOG_READER)
    with pytest.raises(EngineUnavailable, match="the local engine cannot read a catalog database.*--engine spark"):
        engine.port(CATALOG_READER)
    with pytest.raises(EngineUnavailable, match="cannot frobnicate"):
        engine.port(Port("nothing.here", _Port, "frobnicate"))


def test_every_port_of_every_engine_resolves():
    """Each dotted path names a factory that exists (Spark ones only when pyspark is installed)."""
    from lakeshrink.engine import ENGINES, LocalEngine, load_object

    for path in LocalEngine.ports.values():
        assert callable(load_object(path)), path
    pytest.importorskip("pyspark")
    from lakeshrink.spark_ext.engine import SPARK_PORTS

    assert set(LocalEngine.ports) <= set(SPARK_PORTS)
    for path in list(SPARK_PORTS.values()) + list(ENGINES.values()):
        assert callable(load_object(path)), path


class _Conf:
    def __init__(self, values):
        self.values = values

    def get(self, key, default=None):
        if self.values.get(key) == "refuse":
            raise RuntimeError("CONFIG_NOT_AVAILABLE")
        return self.values.get(key, default)


class _Session:
    def __init__(self, **values):
        self.conf = _Conf({k.replace("_", "."): v for k, v in values.items()})


@pytest.mark.parametrize("values,expected", [
    ({"spark_default_parallelism": "6", "spark_master": "local[2]"}, 6),
    ({"spark_master": "local[3]"}, 3),
    ({"spark_master": "local"}, 1),
    ({"spark_master": "local[*]"}, os.cpu_count()),
    ({"spark_master": "refuse", "spark_sql_shuffle_partitions": "12"}, 12),
    ({"spark_master": "spark://h:7077"}, 8),
])
def test_parallelism_without_spark_context(values, expected):
    pytest.importorskip("pyspark")
    from lakeshrink.spark_ext.session import parallelism

    assert parallelism(_Session(**values)) == expected


def _slow_square(x: int) -> int:
    import time

    time.sleep(0.001 * (x % 3))  # finish out of order
    return x * x


def _fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError("seven is bad")
    return x


def test_local_map_on_threads_keeps_input_order():
    items = list(range(50))
    assert LocalEngine(workers=3).map(_slow_square, items) == [x * x for x in items]
    assert LocalEngine(workers=1).map(_slow_square, items) == [x * x for x in items]
    assert LocalEngine(workers=4).map(_slow_square, []) == []


def test_local_map_runs_tasks_at_once():
    import threading

    barrier = threading.Barrier(2, timeout=10)  # passes only if two tasks run at the same time
    assert LocalEngine(workers=2).map(lambda x: barrier.wait() is not None and x, [1, 2]) == [1, 2]
    with pytest.raises(threading.BrokenBarrierError):
        LocalEngine(workers=1).map(lambda x: threading.Barrier(2, timeout=0.2).wait(), [1])


@pytest.mark.parametrize("workers", [1, 2])
def test_local_map_failure_names_the_item(workers):
    with pytest.raises(ValueError, match="seven is bad") as info:
        LocalEngine(workers=workers).map(_fail_on_seven, list(range(20)), description="counting")
    assert any("counting" in note and "7" in note for note in info.value.__notes__)


def test_local_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAKESHRINK_LOCAL_WORKERS", "3")
    assert LocalEngine().workers == 3
    assert get_engine("local").workers == 3
    monkeypatch.setenv("LAKESHRINK_LOCAL_WORKERS", "zero")
    with pytest.raises(EngineUnavailable, match="LAKESHRINK_LOCAL_WORKERS must be a whole number"):
        LocalEngine()
    monkeypatch.delenv("LAKESHRINK_LOCAL_WORKERS")
    assert LocalEngine().workers >= 1
    with pytest.raises(ValueError, match="at least 1"):
        LocalEngine(workers=0)


def test_local_map_counts_each_task_as_it_finishes(monkeypatch):
    """Progress moves while tasks still run (a 10,000-table stage 3 showed 0% until its end)."""
    import contextlib
    import threading

    import lakeshrink.progress

    counted = threading.Event()

    class Tracker:
        def advance(self, n: int = 1) -> None:
            counted.set()

    @contextlib.contextmanager
    def fake_progress(description, total=None, **kw):
        yield Tracker()

    monkeypatch.setattr(lakeshrink.progress, "progress", fake_progress)
    # the first task waits until the progress has counted the second (finished at once)
    seen = LocalEngine(workers=2).map(lambda x: counted.wait(timeout=5) if x == 0 else True, [0, 1])
    assert seen == [True, True]
