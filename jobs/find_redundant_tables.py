"""spark-submit job: find the tables of a lake (or a catalog database) contained in other tables.

Runs the same library call as ``lakeshrink containment scan --engine spark`` on the session spark-submit
provides, and writes ``containment.json`` and ``edges.parquet`` into OUT_DIR on the driver.

Usage::

    spark-submit jobs/find_redundant_tables.py s3://bucket/lake --out /tmp/scan [--types compatible]
    spark-submit jobs/find_redundant_tables.py --catalog sales --out /tmp/scan
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="find_redundant_tables", description=__doc__.splitlines()[0])
    parser.add_argument("lake", nargs="?", help="lake root: local path or URI")
    parser.add_argument("-o", "--out", required=True, help="output directory (on the driver)")
    parser.add_argument("--types", choices=("exact", "compatible"), default="exact")
    parser.add_argument("--catalog", metavar="DB", help="scan this catalog database instead of a path")
    parser.add_argument("--tables", metavar="FILE", help="file listing the tables to scan, one per line")
    parser.add_argument("--iceberg-catalog", metavar="NAME", help="pyiceberg catalog naming Iceberg tables' current metadata")
    parser.add_argument("--sketch-k", type=int, default=256)
    args = parser.parse_args(argv)
    if (args.lake is None) == (args.catalog is None):
        parser.error("give a lake path or --catalog DB (not both)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from lakeshrink.containment.lake import read_tables_file
    from lakeshrink.containment.scan import scan_catalog, scan_lake
    from lakeshrink.engine import get_engine
    from lakeshrink.errors import LakeshrinkError

    try:
        with get_engine("spark") as engine:
            if args.catalog:
                result = scan_catalog(args.catalog, engine=engine, types=args.types, k=args.sketch_k)
            else:
                tables = read_tables_file(args.tables) if args.tables else None
                result = scan_lake(args.lake, engine=engine, types=args.types, tables=tables, k=args.sketch_k,
                                   iceberg_catalog=args.iceberg_catalog)
        result.save(args.out)
    except (LakeshrinkError, OSError) as exc:
        print(f"find_redundant_tables: error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.tables} tables, {len(result.edges)} contained pairs, {len(result.reduction)} after reduction; "
          f"{result.contained_bytes} bytes in contained tables; written to {args.out}")
    for stage in result.stages:
        print(f"  {stage.name}: {stage.pairs_in} -> {stage.pairs_out} pairs, {stage.seconds:.1f} s, {stage.bytes_read} bytes read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
