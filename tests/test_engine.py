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
            if ".spark_ext" in mod.name or mod.name.endswith("__main__"):
                continue
            importlib.import_module(mod.name)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] == "pyspark")
        assert not leaked, leaked
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
