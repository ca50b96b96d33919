"""Every notebook in notebooks/ runs as a Python file, as Databricks would run it, with ``spark``, ``dbutils`` and
``display`` in its globals; the widgets keep their defaults (the bundled sample data) except the work directory
and the engine: the notebooks' own ``spark`` session runs every ``display`` (``createDataFrame`` and a collect), and
lakeshrink runs on the local engine here, because the Spark engine's paths are each tested by the capability's own
Spark tests and four notebooks on a Spark engine take over ten minutes on two busy cores.

The ``spark`` fixture is a classic local session in the first pytest run and a Spark Connect session in the second
(see tests/conftest.py), so each notebook runs on both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from databricks_stub import DBUtils, Display

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))
HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"


def test_there_is_a_notebook_per_capability_and_an_end_to_end_one():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["00_shrink_my_lake", "01_compress_logs", "02_parquet_encodings", "03_redundant_tables"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_in_databricks_source_format(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    cells = text.split(f"\n{SEPARATOR}\n")
    assert len(cells) >= 3
    assert any(c.strip().startswith("# MAGIC %md") for c in cells)
    for cell in cells[1:]:
        body = cell.strip()
        # a cell is either all MAGIC lines (markdown, %pip) or Python without any
        magic = [line.startswith("# MAGIC") for line in body.splitlines()]
        assert all(magic) or not any(magic), f"{path.name}: a cell mixes MAGIC lines and Python:\n{body}"
    # notebooks call the library and keep no logic of their own: no function or class definitions
    assert not re.search(r"^\s*(def|class) ", text, re.M), f"{path.name} defines its own functions"


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.timeout(1200)  # the end-to-end notebook does everything on the sample data
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, spark, tmp_path: Path):
    dbutils, display = DBUtils({"work_dir": str(tmp_path / "work"), "engine": "local"}), Display()
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, {"__name__": "__main__", "spark": spark, "dbutils": dbutils, "display": display})
    assert display.shown, f"{path.name} displayed nothing"
    for shown in display.shown:
        assert shown, f"{path.name} displayed an empty result"
    assert any((tmp_path / "work").rglob("*")), f"{path.name} wrote nothing into its work directory"
