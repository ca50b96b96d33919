"""Read Parquet files with one real reader and compare each with its reference file (standalone script).

    python reader_check.py spark|duckdb|polars|pyarrow MANIFEST.json OUT.json

Run by tests/test_encodings_readers.py with the Python of a side virtualenv (pyspark 3.5, duckdb 1.1) or of the
main one, so it imports nothing from lakeshrink or the tests. The manifest lists ``{"id", "path", "reference"[, "group"]}``
entries (files expected to fail go in their own ``group``, so that one failure does not send the rest to the
slow file-by-file path); every file is read with the chosen reader, and so is its reference (the same rows written PLAIN,
uncompressed, V1 pages: readable by every reader), and the two must hold equal values (NaN equal to NaN). The
output maps each id to ``"ok"``, ``"differs: ..."`` or ``"error: <first line of the reader's error>"``, plus the
reader's version. Spark reads all files of one reference in one job (one JVM for everything, vectorized reader
on) and falls back to one file at a time when that job fails.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def _compare(expected: list, actual: list) -> str:
    if len(expected) != len(actual):
        return f"differs: {len(actual)} rows instead of {len(expected)}"
    for i, (a, b) in enumerate(zip(expected, actual)):
        if not _same(a, b):
            return f"differs: row {i} is {b!r} instead of {a!r}"
    return "ok"


def _error(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if "Exception" in line or "Error" in line] or text.splitlines() or [""]
    return "error: " + (lines[0] or type(exc).__name__)[:300]


class DuckReader:
    def __init__(self) -> None:
        import duckdb

        self.version = f"duckdb {duckdb.__version__}"
        self.con = duckdb.connect()

    def read(self, path: str) -> list:
        return [r[0] for r in self.con.execute("SELECT * FROM read_parquet(?)", [path]).fetchall()]


class PolarsReader:
    def __init__(self) -> None:
        import polars as pl

        self.pl = pl
        self.version = f"polars {pl.__version__}"

    def read(self, path: str) -> list:
        return self.pl.read_parquet(path).to_series(0).to_list()


class ArrowReader:
    def __init__(self) -> None:
        import pyarrow
        import pyarrow.parquet as pq

        self.pq = pq
        self.version = f"pyarrow {pyarrow.__version__}"

    def read(self, path: str) -> list:
        return self.pq.read_table(path).column(0).to_pylist()


class SparkReader:
    def __init__(self) -> None:
        import pyspark
        from pyspark.sql import SparkSession

        self.version = f"pyspark {pyspark.__version__}"
        self.spark = (SparkSession.builder.master("local[1]").appName("lakeshrink-reader-check")
                      .config("spark.ui.enabled", "false")
                      .config("spark.sql.parquet.enableVectorizedReader", "true")
                      .config("spark.sql.session.timeZone", "UTC")
                      .config("spark.sql.files.openCostInBytes", "1")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("OFF")

    def read(self, path: str) -> list:
        return [r[0] for r in self.spark.read.parquet(path).collect()]

    def read_many(self, paths: list[str]) -> dict[str, list]:
        from pyspark.sql import functions as F

        df = self.spark.read.parquet(*paths)
        rows = df.select(df.columns[0], F.input_file_name().alias("_f")).collect()
        out: dict[str, list] = defaultdict(list)
        for value, name in rows:
            out[name].append(value)
        by_path = {}
        for path in paths:
            match = [v for k, v in out.items() if k.endswith(path) or k.endswith(path.replace(" ", "%20"))]
            by_path[path] = match[0] if match else []
        return by_path

    def close(self) -> None:
        self.spark.stop()


READERS = {"spark": SparkReader, "duckdb": DuckReader, "polars": PolarsReader, "pyarrow": ArrowReader}


def run(kind: str, manifest: dict) -> dict:
    reader = READERS[kind]()
    results: dict[str, str] = {}
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for entry in manifest["files"]:
        groups[(entry["reference"], entry.get("group", ""))].append(entry)
    for (reference, _), entries in groups.items():
        try:
            expected = reader.read(reference)
        except Exception as exc:  # noqa: BLE001 - reported per file
            for e in entries:
                results[e["id"]] = "error: the reference file: " + _error(exc)[7:]
            continue
        values: dict[str, list] = {}
        if hasattr(reader, "read_many"):
            try:
                values = reader.read_many([e["path"] for e in entries])
            except Exception:  # noqa: BLE001 - one file failed: read them one by one below
                values = {}
        for e in entries:
            try:
                got = values[e["path"]] if e["path"] in values else reader.read(e["path"])
                results[e["id"]] = _compare(expected, got)
            except Exception as exc:  # noqa: BLE001
                results[e["id"]] = _error(exc)
    if hasattr(reader, "close"):
        reader.close()
    return {"reader": reader.version, "results": results}


def main(argv: list[str]) -> int:
    kind, manifest_path, out_path = argv
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    result = run(kind, manifest)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
