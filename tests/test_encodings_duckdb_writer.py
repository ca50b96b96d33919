"""Writer settings beyond per-column choices: page row cap, and DuckDB's writer where it writes smaller files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import advise, write_parquet
from lakeshrink.codecs.encodings.duckdb_writer import outside_profile
from lakeshrink.codecs.encodings.profiles import resolve_profile
from lakeshrink.codecs.encodings.verify import tables_equal

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def accounts() -> pa.Table:
    """pgbench_accounts-like: a sorted id, a key in long runs, a constant balance."""
    n = 300_000
    return pa.table({"aid": pa.array(np.arange(1, n + 1)), "bid": pa.array(np.arange(n) // 100_000 + 1),
                     "abalance": pa.array(np.zeros(n, np.int64))})


def _created_by(path) -> str:
    return pq.ParquetFile(path).metadata.created_by or ""


def test_pages_are_not_capped_at_20000_rows(accounts, tmp_path):
    plan = advise(accounts).plan
    assert plan.max_rows_per_page == 1 << 20 and plan.writer == "pyarrow"  # V2 pages are outside `portable`
    out = write_parquet(accounts, tmp_path / "a.parquet", plan, verify=True)
    capped = write_parquet(accounts, tmp_path / "b.parquet", dataclasses.replace(plan, max_rows_per_page=None))
    assert out.bytes < 0.5 * capped.bytes


def test_duckdb_writes_when_smaller_and_allowed(accounts, tmp_path):
    plan = advise(accounts, readers="latest").plan
    assert plan.writer == "duckdb-v2" and any("DuckDB" in n for n in plan.notes)
    out = write_parquet(accounts, tmp_path / "d.parquet", plan, verify=True, readers="latest")
    assert "duckdb" in _created_by(out.path).lower()
    assert tables_equal(accounts, pq.read_table(out.path)) is None
    assert outside_profile(out.path, resolve_profile("latest")) == []
    assert outside_profile(out.path, resolve_profile("snowflake"))  # V2 pages
    with pytest.raises(Exception, match="DuckDB's writer with V2 data pages"):
        write_parquet(accounts, tmp_path / "e.parquet", plan)  # default profile: refused before writing


def test_duckdb_falls_back_to_pyarrow_when_its_file_would_not_read_back_equal(tmp_path):
    n = 200_000
    table = pa.table({"t": pa.array(np.arange(n) * 1000, pa.timestamp("ms", tz="America/New_York")),
                      "v": pa.array(np.arange(n) % 7)})
    plan = dataclasses.replace(advise(table, readers="latest").plan, writer="duckdb-v2")
    out = write_parquet(table, tmp_path / "f.parquet", plan, verify=True, readers="latest")
    assert "duckdb" not in _created_by(out.path).lower()  # DuckDB stores microseconds: pyarrow wrote it
    assert pq.read_schema(out.path).field("t").type == pa.timestamp("ms", tz="America/New_York")
