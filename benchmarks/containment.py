"""Benchmark of the containment scan: engines side by side, brute force as ground truth, re-scans (issues 4, 14).

For each scale: generate a lake (:mod:`lakegen`), then in the same process

* run the scan on each engine of ``--engines`` (``local``, ``spark`` = ``local[2]``), each with a fresh scan cache,
  recording per stage: wall time, lake bytes read (footers + data), fingerprint (cache) bytes read, bytes moved
  between partitions (local: spilled; Spark: shuffle write bytes from its REST API) and the peak resident memory
  of the process tree (the Spark JVM and Python workers included);
* with ``spark``, the bundled sample lake is scanned once first, untimed, to start the session's Python workers,
  which then import the Delta, Iceberg and directory readers this process has already imported
  (``--no-warmup`` to time a cold session);
* with ``--rescan``: after the local scan, change one table (a copy loses one row) and scan again with the same
  cache; report the re-scan's time against the full scan's and check its edges against a scan without cache;
* last (it takes longest), unless ``--no-brute-force``: the ground truth by brute force (every schema-compatible
  ordered pair decided by an exact polars anti-join, all tables held in memory).

The results file is rewritten after each scale (and before its brute force), so a run stopped early keeps what
finished.

Precision and recall are computed for every engine against brute force; ``multiset_flags_correct`` checks the
multiset verdicts. The pipeline reports a pair only after stage 4 decided it, so recall 1.0 means no stage
dropped a true pair.

Usage::

    python benchmarks/containment.py --scales 3,10 --max-rows 5000 --engines local,spark --rescan
    python benchmarks/containment.py --scales 100 --max-rows 300000 --no-brute-force   # ~10,000 tables, ~5 GB

Writes ``benchmarks/results/containment.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.lakegen import brute_force, generate_lake, load_lake  # noqa: E402
from benchmarks.procmem import TreeMemory, spark_shuffle_write_bytes  # noqa: E402
from lakeshrink.containment.scan import run as scan_mod  # noqa: E402
from lakeshrink.containment.scan import scan_lake  # noqa: E402

STAGE_FUNCTIONS = {"schema": "_stage_schema", "minmax": "_stage_minmax", "sketch": "_stage_sketch", "verify": "_stage_verify"}
OTHER_PHASES = {"save-cache": "_save_cache", "result": "_result"}  # after stage 4: their peak memory is reported too


def _spark_session(driver_memory: str = "2g", java_options: str | None = None, extra: list[str] | None = None):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p)
    from lakeshrink.spark_ext.session import get_spark_session

    conf = {"spark.ui.enabled": "true", "spark.ui.port": "4077", "spark.driver.memory": driver_memory, "spark.sql.shuffle.partitions": "4"}
    if java_options:
        conf["spark.driver.extraJavaOptions"] = java_options
    for setting in extra or ():
        key, sep, value = setting.partition("=")
        if not sep or not key.startswith("spark."):
            raise SystemExit(f"--spark-conf {setting!r}: expected spark.KEY=VALUE")
        conf[key] = value
    spark = get_spark_session("local[2]", app_name="lakeshrink-containment-benchmark", conf=conf)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _instrumented_scan(root: str, *, engine, types: str, cache: Path, memory: TreeMemory, spark=None):
    """The scan, with each stage's peak memory and (Spark) shuffle bytes taken around the stage functions."""
    shuffles: dict[str, int | None] = {}
    phases = STAGE_FUNCTIONS | OTHER_PHASES
    originals = {name: getattr(scan_mod, fn) for name, fn in phases.items()}

    def wrap(name, fn):
        def run(*args, **kwargs):
            before = spark_shuffle_write_bytes(spark) if spark is not None else None
            with memory.phase(name):
                out = fn(*args, **kwargs)
            after = spark_shuffle_write_bytes(spark) if spark is not None else None
            shuffles[name] = after - before if before is not None and after is not None else None
            return out

        return run

    for name, fn in originals.items():
        setattr(scan_mod, phases[name], wrap(name, fn))
    try:
        start = time.perf_counter()
        result = scan_lake(root, engine=engine, types=types, cache=cache)
        seconds = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(scan_mod, phases[name], fn)
    return result, seconds, shuffles


def _import_readers(_: int) -> bool:
    """In a Spark Python worker (warm-up): import the table readers the driver has imported before the timed
    scans (Delta, Iceberg, directory datasets, polars), so that neither engine's figure counts these imports."""
    import polars  # noqa: F401
    import pyarrow.dataset  # noqa: F401

    import lakeshrink.tables.delta  # noqa: F401
    import lakeshrink.tables.iceberg  # noqa: F401

    return True


def _load() -> list[float]:
    """The machine's load average (1, 5, 15 minutes), recorded beside every figure (the machine is shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def _quality(result, truth) -> dict:
    found = {(e.child, e.parent) for e in result.edges}
    tp = len(found & truth.edges)
    return {
        "precision": round(tp / len(found), 4) if found else 1.0,
        "recall": round(tp / len(truth.edges), 4) if truth.edges else 1.0,
        "true_pairs_dropped": len(truth.edges - found),
        "wrong_pairs_reported": len(found - truth.edges),
        "multiset_flags_correct": {(e.child, e.parent) for e in result.edges if e.multiset_contained} == truth.multiset,
    }


def _engine_run(lake, engine_name: str, *, types: str, work: Path, memory: TreeMemory, spark) -> tuple[dict, object]:
    from lakeshrink.engine import get_engine

    engine = get_engine("spark", spark=spark) if engine_name == "spark" else "local"
    cache = work / f"cache-{engine_name}"
    shutil.rmtree(cache, ignore_errors=True)
    result, seconds, shuffles = _instrumented_scan(
        lake.root, engine=engine, types=types, cache=cache, memory=memory, spark=spark if engine_name == "spark" else None
    )
    stages = []
    for s in result.stages:
        shuffle = shuffles.get(s.name) if engine_name == "spark" else s.shuffle_bytes
        stages.append(
            {
                "name": s.name, "pairs_in": s.pairs_in, "pairs_out": s.pairs_out, "seconds": s.seconds,
                "footer_bytes": s.footer_bytes, "data_bytes": s.data_bytes, "cache_bytes": s.cache_bytes,
                "shuffle_bytes": shuffle, "peak_memory_bytes": memory.peaks.get(s.name),
                "peak_memory_by_kind": memory.kinds.get(s.name),
                "bytes_vs_lake": round(s.bytes_read / lake.bytes, 4) if lake.bytes else None,
            }
        )
    data_34 = sum(s.data_bytes for s in result.stages if s.name in ("sketch", "verify"))
    row = {
        "engine": engine_name, "seconds": round(seconds, 3), "edges": len(result.edges), "skipped": len(result.skipped),
        "stages_3_4_read_vs_lake": round(data_34 / lake.bytes, 4) if lake.bytes else None, "stages": stages,
        "fingerprint_bytes": sum(p.stat().st_size for p in (cache / "fp").glob("*.parquet")) if (cache / "fp").is_dir() else None,
        "after_stage_4_peak_memory_bytes": {name: memory.peaks.get(name) for name in OTHER_PHASES},
        "load_average_1_5_15": _load(),
    }
    return row, result


def _rescan(lake, *, types: str, work: Path, full_seconds: float) -> dict:
    """Change one table (a copy loses its last row) and scan again with the local engine's cache."""
    import pyarrow.parquet as pq

    target = next(t for t in lake.tables if t.kind == "copy")
    path = Path(lake.root) / target.id
    table = pq.read_table(path)
    pq.write_table(table.slice(0, max(0, table.num_rows - 1)), path)
    start = time.perf_counter()
    again = scan_lake(lake.root, types=types, cache=work / "cache-local")
    seconds = time.perf_counter() - start
    fresh = scan_lake(lake.root, types=types)
    pq.write_table(table, path)  # restore the lake
    return {
        "changed_table": target.id, "seconds": round(seconds, 3), "vs_full_scan": round(seconds / full_seconds, 4),
        "data_bytes_read": sum(s.data_bytes for s in again.stages), "edges_equal_fresh_scan": again.edges == fresh.edges,
        "load_average_1_5_15": _load(),
    }


def run_scale(scale: float, *, max_rows: int, seed: int, types: str, work: Path, brute: bool, engines: list[str],
              rescan: bool, memory: TreeMemory, spark, checkpoint=None, reuse_lake: bool = False) -> dict:
    lake_dir = work / f"lake-s{scale:g}-r{max_rows}-seed{seed}"
    start = time.perf_counter()
    lake = load_lake(lake_dir, scale=scale, seed=seed, max_rows=max_rows) if reuse_lake else None
    generated = None if lake is not None else generate_lake(lake_dir, scale=scale, seed=seed, max_rows=max_rows)
    lake = lake or generated
    row: dict = {
        "scale": scale, "max_rows": max_rows, "seed": seed, "types": types, "tables": len(lake.tables),
        "lake_bytes": lake.bytes, "generate_seconds": round(time.perf_counter() - start, 2), "lake_reused": reuse_lake and generated is None, "engines": [],
    }
    results = {}
    for name in engines:
        entry, result = _engine_run(lake, name, types=types, work=work, memory=memory, spark=spark)
        results[name] = result
        row["engines"].append(entry)
        print(f"scale {scale:g} {name}: {entry['seconds']} s", file=sys.stderr)
    if len(results) == 2:
        seconds = {e["engine"]: e["seconds"] for e in row["engines"]}
        row["spark_vs_local"] = round(seconds["spark"] / seconds["local"], 2)
        row["engines_agree"] = results["local"].edges == results["spark"].edges
    if rescan and "local" in results:
        full = next(e["seconds"] for e in row["engines"] if e["engine"] == "local")
        row["rescan"] = _rescan(lake, types=types, work=work, full_seconds=full)
    if checkpoint is not None:
        checkpoint(row)  # the engines' figures are kept even if brute force does not finish
    if brute:  # last: at the largest scales it takes longest
        with memory.phase("brute force"):
            truth = brute_force(lake.root, types=types)
        row.update(brute_force_seconds=round(truth.seconds, 3), brute_force_pairs=truth.pairs_checked,
                   true_edges=len(truth.edges), brute_force_peak_memory_bytes=memory.peaks["brute force"],
                   brute_force_load_average_1_5_15=_load())
        for entry in row["engines"]:
            entry.update(_quality(results[entry["engine"]], truth), speedup_vs_brute_force=round(truth.seconds / entry["seconds"], 2))
    return row


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def print_table(rows: list[dict]) -> None:
    print(f"{'scale':>6} {'tables':>7} {'lake MB':>8} {'engine':>6} {'edges':>7} {'prec':>5} {'recall':>6} {'brute s':>8} {'scan s':>8} "
          f"{'3-4 read/lake':>13} {'fp MB':>6} {'load 1/5/15':>16}")
    for r in rows:
        for e in r["engines"]:
            print(
                f"{r['scale']:>6g} {r['tables']:>7} {r['lake_bytes'] / 1e6:>8.1f} {e['engine']:>6} {e['edges']:>7} "
                f"{e.get('precision', '-')!s:>5} {e.get('recall', '-')!s:>6} {r.get('brute_force_seconds', '-')!s:>8} "
                f"{e['seconds']:>8} {e['stages_3_4_read_vs_lake']!s:>13} {_mb(e.get('fingerprint_bytes')):>6} "
                f"{'/'.join(str(x) for x in e.get('load_average_1_5_15', [])):>16}"
            )
        if "spark_vs_local" in r:
            print(f"{'':>6} spark / local wall time: {r['spark_vs_local']}x; same edges: {r['engines_agree']}")
        if "rescan" in r:
            rs = r["rescan"]
            print(f"{'':>6} re-scan after changing {rs['changed_table']}: {rs['seconds']} s = {rs['vs_full_scan']:.1%} of the full scan; "
                  f"data read {_mb(rs['data_bytes_read'])} MB; edges equal a fresh scan: {rs['edges_equal_fresh_scan']}; "
                  f"load {rs.get('load_average_1_5_15')}")
        if "brute_force_load_average_1_5_15" in r:
            print(f"{'':>6} brute force: {r['brute_force_seconds']} s at load {r['brute_force_load_average_1_5_15']}")
    print()
    print(f"{'scale':>6} {'engine':>6} {'stage':>7} {'pairs in':>10} {'pairs out':>10} {'seconds':>8} {'lake MB':>8} "
          f"{'fp MB':>7} {'shuffle MB':>10} {'peak MB':>8}  peaks by kind, MB")
    for r in rows:
        for e in r["engines"]:
            for s in e["stages"]:
                print(
                    f"{r['scale']:>6g} {e['engine']:>6} {s['name']:>7} {s['pairs_in']:>10} {s['pairs_out']:>10} {s['seconds']:>8.2f} "
                    f"{_mb(s['footer_bytes'] + s['data_bytes']):>8} {_mb(s['cache_bytes']):>7} {_mb(s['shuffle_bytes']):>10} "
                    f"{_mb(s['peak_memory_bytes']):>8}  "
                    + " ".join(f"{k} {_mb(v)}" for k, v in (s.get("peak_memory_by_kind") or {}).items())
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.5,2", help="comma-separated lake scales (1 = 7 families, ~100 tables)")
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--types", choices=("exact", "compatible"), default="exact")
    parser.add_argument("--engines", default="local", help="comma-separated: local, spark (local[2])")
    parser.add_argument("--driver-memory", default="2g", help="Spark's driver memory (its JVM heap: local[2] runs in the driver)")
    parser.add_argument("--java-options", help="the driver JVM's options (spark.driver.extraJavaOptions), e.g. the small-machine "
                        "settings of docs/containment.md: -XX:+UseSerialGC -XX:ReservedCodeCacheSize=64m ...")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                        help="another setting of the benchmark's Spark session (repeatable), e.g. the worker settings of "
                        "docs/containment.md: spark.python.worker.reuse=false")
    parser.add_argument("--rescan", action="store_true", help="also time a re-scan after one table changed")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "containment")
    parser.add_argument("--reuse-lake", action="store_true",
                        help="scan a lake generated earlier with the same scale, seed and max rows (kept in --work) instead of generating it again")
    parser.add_argument("--no-brute-force", dest="brute", action="store_false")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="with spark: do not scan the bundled lake first (the first scan of a session starts its Python workers)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "containment.json")
    parser.add_argument("--memory-timeline", type=Path, help="write 'seconds rss_mb phase' and the MB of driver, JVM, workers and anonymous memory to this file every 5 s")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    memory = TreeMemory(timeline=args.memory_timeline)
    spark = _spark_session(args.driver_memory, args.java_options, args.spark_conf) if "spark" in engines else None
    if spark is not None and args.warmup:
        from lakeshrink.engine import get_engine
        from lakeshrink.sample_data import bundled_dir

        engine = get_engine("spark", spark=spark)
        scan_lake(bundled_dir() / "lake", engine=engine)  # starts the Python workers once
        engine.map(_import_readers, list(range(4)))  # and imports in them what this process has already imported
    rows: list[dict] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save(partial: dict | None = None) -> None:
        runs = rows + ([partial] if partial is not None else [])
        doc = {"benchmark": "containment", "command": " ".join(sys.argv), "peak_memory_bytes": memory.overall, "runs": runs}
        args.out.write_text(json.dumps(doc, indent=2) + "\n")

    try:
        for scale in (float(s) for s in args.scales.split(",")):
            rows.append(run_scale(scale, max_rows=args.max_rows, seed=args.seed, types=args.types, work=args.work,
                                  brute=args.brute, engines=engines, rescan=args.rescan, memory=memory, spark=spark,
                                  checkpoint=save, reuse_lake=args.reuse_lake))
            save()
    finally:
        if spark is not None:
            spark.stop()
        memory.close()
    print_table(rows)
    save()
    print(f"\npeak memory of the process tree: {_mb(memory.overall)} MB\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
