"""Property test of incremental re-scans: after any single change to a random lake, a re-scan with the scan cache
(edge reuse on) returns exactly what a scan without a cache returns.

Lakes are small and random (a few column names over small value domains, so containment is common: copies,
row subsets, projections, duplicated rows, hive-partitioned copies, a Delta table when deltalake is installed);
each step applies one random change (append rows, delete rows, rewrite with the same rows shuffled, change one
value, add or drop a column, narrow a column's type, add or remove a table) and compares the cached re-scan
with a fresh one. ``LAKESHRINK_RESCAN_SEEDS`` runs more seeds (default 6; the slow variant runs 40).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.scan import run as scan_mod
from lakeshrink.containment.scan import scan_lake

COLUMNS = {"a": pa.int64(), "b": pa.string(), "c": pa.float64(), "d": pa.int32()}


def _values(rng: np.random.Generator, name: str, n: int) -> pa.Array:
    if name == "b":
        return pa.array([f"s{v}" for v in rng.integers(0, 6, n)], pa.string())
    if name == "c":
        return pa.array(rng.integers(0, 5, n) / 2.0, pa.float64())
    return pa.array(rng.integers(0, 8, n), COLUMNS.get(name, pa.int64()))


def _random_table(rng: np.random.Generator) -> pa.Table:
    names = sorted(rng.choice(list(COLUMNS), size=int(rng.integers(1, 4)), replace=False))
    n = int(rng.integers(0, 25))
    return pa.table({c: _values(rng, c, n) for c in names})


def _derive(rng: np.random.Generator, base: pa.Table) -> pa.Table:
    kind = rng.integers(0, 5)
    if kind == 0:  # shuffled copy
        return base.take(rng.permutation(base.num_rows))
    if kind == 1 and base.num_rows:  # row subset
        return base.take(np.sort(rng.choice(base.num_rows, int(rng.integers(0, base.num_rows + 1)), replace=False)))
    if kind == 2 and base.num_columns > 1:  # projection
        return base.select(sorted(rng.choice(base.column_names, base.num_columns - 1, replace=False)))
    if kind == 3 and base.num_rows:  # duplicated rows
        return base.take(rng.integers(0, base.num_rows, base.num_rows + 3))
    return _random_table(rng)


def _tables(root: Path) -> list[Path]:
    """The tables a change may touch (not the copied deletion-vector table, ``dv/``)."""
    return sorted(p for p in root.iterdir() if not p.name.startswith((".", "_")) and p.name != "dv")


def _write(path: Path, table: pa.Table, rng: np.random.Generator) -> None:
    """A table as a file, a hive-partitioned directory or a Delta table (chosen by the name)."""
    if path.name.startswith("hive"):
        shutil.rmtree(path, ignore_errors=True)
        part = next((c for c in ("b", "a", "d") if c in table.column_names and table.num_columns > 1), None)
        if part is None or not table.num_rows:
            path.mkdir()
            pq.write_table(table, path / "part-0.parquet")
        else:
            pq.write_to_dataset(table, path, partition_cols=[part])
    elif path.name.startswith("delta"):
        deltalake = pytest.importorskip("deltalake")
        deltalake.write_deltalake(str(path), table, mode="overwrite", schema_mode="overwrite")
    else:
        pq.write_table(table, path, row_group_size=int(rng.integers(3, 30)))


def _read(path: Path) -> pa.Table:
    from lakeshrink.containment.lake import discover, read_table

    lake = discover(path.parent)
    ref = next(t for t in lake.tables if t.id == path.name)
    return read_table(lake.filesystem, ref, None)


def _add_deletion_vector_table(root: Path, rng: np.random.Generator) -> None:
    """The shared delta-rs table with deletion vectors (its statistics are outer bounds: they still count the
    deleted rows), a shuffled copy of its live rows and a subset of them, so that the Delta table is a child whose
    footer statistics must never prune from the child's side, also when they come from the cache."""
    from lakeshrink.sample_data import delta_rs_tables_dir

    shared = delta_rs_tables_dir()
    if shared is None:
        return
    (root / "dv").mkdir()
    shutil.copy(shared / "LICENSE-NOTE.txt", root / "dv" / "LICENSE-NOTE.txt")
    shutil.copytree(shared / "table-with-dv-small", root / "dv" / "table-with-dv-small")
    from lakeshrink.containment.lake import discover, read_table

    lake = discover(root / "dv")
    live = read_table(lake.filesystem, lake.tables[0], None)
    _write(root / "dvlive.parquet", live.take(rng.permutation(live.num_rows)), rng)
    _write(root / "dvsub.parquet", live.slice(0, live.num_rows // 2), rng)


def _make_lake(root: Path, rng: np.random.Generator, delta: bool) -> None:
    root.mkdir()
    if delta:
        _add_deletion_vector_table(root, rng)
    bases = [_random_table(rng) for _ in range(3)]
    for i in range(int(rng.integers(5, 10))):
        table = _derive(rng, bases[int(rng.integers(0, len(bases)))])
        prefix = "hive" if i % 4 == 3 else ("delta" if delta and i % 4 == 2 else "t")
        _write(root / (f"{prefix}{i}" if prefix != "t" else f"t{i}.parquet"), table, rng)
    for i, base in enumerate(bases):
        _write(root / f"base{i}.parquet", base, rng)


def _change(root: Path, rng: np.random.Generator) -> str:
    """One random change to the lake; returns what it did."""
    paths = _tables(root)
    op = ["append", "delete", "shuffle", "edit", "add_column", "drop_column", "narrow", "new", "remove"][int(rng.integers(0, 9))]
    if op == "new" or not paths:
        others = [_read(p) for p in paths[:3]]
        table = _derive(rng, others[int(rng.integers(0, len(others)))]) if others else _random_table(rng)
        path = root / f"n{rng.integers(0, 1 << 30)}.parquet"
        _write(path, table, rng)
        return f"new {path.name}"
    path = paths[int(rng.integers(0, len(paths)))]
    if op == "remove":
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        return f"remove {path.name}"
    table = _read(path)
    n = table.num_rows
    if op == "append":
        k = int(rng.integers(1, 4))
        extra = pa.table({c: _values(rng, c, k).cast(table.schema.field(c).type) for c in table.column_names})
        table = pa.concat_tables([table, extra])
    elif op == "delete" and n:
        table = table.take(np.sort(rng.choice(n, n - int(rng.integers(1, n + 1)), replace=False)))
    elif op == "shuffle":
        table = table.take(rng.permutation(n))
    elif op == "edit" and n:
        column = table.column_names[int(rng.integers(0, table.num_columns))]
        values = table.column(column).to_pylist()
        values[int(rng.integers(0, n))] = _values(rng, column, 1).cast(table.schema.field(column).type).to_pylist()[0]
        table = table.set_column(table.column_names.index(column), column, pa.array(values, table.schema.field(column).type))
    elif op == "add_column":
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            table = table.append_column(missing[0], _values(rng, missing[0], n))
    elif op == "drop_column" and table.num_columns > 1:
        table = table.drop_columns([table.column_names[int(rng.integers(0, table.num_columns))]])
    elif op == "narrow" and "a" in table.column_names:
        table = table.set_column(table.column_names.index("a"), "a", table.column("a").cast(pa.int32()))
    _write(path, table, rng)
    return f"{op} {path.name}"


def _check_seed(tmp_path: Path, seed: int, steps: int, types: str) -> None:
    rng = np.random.default_rng(seed)
    root, cache = tmp_path / f"lake{seed}", tmp_path / f"cache{seed}"
    _make_lake(root, rng, delta=seed % 2 == 0)
    history = []
    first = scan_lake(root, cache=cache, types=types)
    assert first.edges == scan_lake(root, types=types).edges
    for _ in range(steps):
        history.append(_change(root, rng))
        again = scan_lake(root, cache=cache, types=types)
        fresh = scan_lake(root, types=types)
        assert (again.edges, again.equal_groups, again.skipped) == (fresh.edges, fresh.equal_groups, fresh.skipped), (seed, history)


@pytest.fixture
def edge_reuse(monkeypatch):
    monkeypatch.setattr(scan_mod, "REUSE_EDGES", True)


def test_rescans_after_random_changes_equal_fresh_scans(tmp_path, edge_reuse):
    seeds = int(os.environ.get("LAKESHRINK_RESCAN_SEEDS", "6"))
    for seed in range(seeds):
        _check_seed(tmp_path, seed, steps=4, types="exact" if seed % 2 else "compatible")


@pytest.mark.slow
def test_rescans_after_random_changes_many_seeds(tmp_path, edge_reuse):
    for seed in range(100, 140):
        _check_seed(tmp_path, seed, steps=6, types="exact" if seed % 2 else "compatible")
