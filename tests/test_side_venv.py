"""The side-venv cache (tests/side_venv.py): cached venvs are reused as they are, changed requests rebuild."""

from __future__ import annotations

import hashlib
import sys

import pytest

import side_venv


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(side_venv.SKIP_ENV, raising=False)
    built = []

    def fake_build(building, requirements, log):
        built.append(list(requirements))
        (building / "bin").mkdir(parents=True)
        (building / "bin" / "python").write_text("#!/bin/sh\n")
        (building / "bin" / "tool").write_text(f"#!{building}/bin/python\n")

    monkeypatch.setattr(side_venv, "_build", fake_build)
    return tmp_path / "lakeshrink" / "venvs", built


def _fake_venv(path, marker, text):
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text("")
    (path / marker).write_text(text)


def test_venvs_cached_in_either_layout_are_reused(cache):
    root, built = cache
    key = hashlib.sha256("\n".join([sys.platform, "pkg[x]", "part"]).encode()).hexdigest()[:12]
    _fake_venv(root / f"airflow-{key}", "complete", "416.8\n")  # the layout the Airflow tests wrote
    _fake_venv(root / "duckdb-1.1.3", ".complete", "duckdb==1.1.3")  # the layout the reader tests wrote
    assert side_venv.side_venv("airflow", ["pkg[x]"], ["part"]) == (root / f"airflow-{key}", 0.0)
    assert side_venv.side_python("duckdb-1.1.3", ["duckdb==1.1.3"]) == root / "duckdb-1.1.3" / "bin" / "python"
    assert built == []


def test_a_changed_request_rebuilds_and_scripts_point_at_the_final_folder(cache):
    root, built = cache
    _fake_venv(root / "duckdb-1.1.3", ".complete", "duckdb==1.1.2")
    python = side_venv.side_python("duckdb-1.1.3", ["duckdb==1.1.3"])
    assert built == [["duckdb==1.1.3"]] and (root / "duckdb-1.1.3" / ".complete").read_text() == "duckdb==1.1.3"
    assert python.exists() and (python.parent / "tool").read_text() == f"#!{root / 'duckdb-1.1.3'}/bin/python\n"
    venv, seconds = side_venv.side_venv("airflow", ["pkg"], [])
    assert built[-1] == ["pkg"] and (venv / "complete").is_file() and seconds >= 0


def test_a_failed_build_skips_a_reader_venv_and_fails_an_airflow_venv(cache, monkeypatch):
    def broken(building, requirements, log):
        raise RuntimeError("side venv build step failed (1): pip install\nERROR: no index")

    monkeypatch.setattr(side_venv, "_build", broken)
    with pytest.raises(pytest.skip.Exception, match="no index"):
        side_venv.side_python("duckdb-1.1.3", ["duckdb==1.1.3"])
    with pytest.raises(RuntimeError, match="no index"):
        side_venv.side_venv("airflow", ["pkg"], [])
    assert not any(p.name.endswith(".building") for p in cache[0].iterdir())
