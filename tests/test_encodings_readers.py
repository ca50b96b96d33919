"""Reader profiles against real readers: every cell a checkable profile allows is written and read back equal.

The cells of every profile whose ``checked_by`` is set in ``readers.toml`` are written once (pyarrow,
single-column files of a few pages, checked to carry the intended encoding), then one Python process per reader
reads them all with ``tests/reader_check.py``: Spark 3.5 (vectorized reader on) and DuckDB 1.1 from side
virtualenvs built here and cached, and the installed pyspark, duckdb, polars and pyarrow. A test also checks that
the data file and these tests agree on which readers are checked. One PLAIN/ZSTD cell per type is also written
without statistics (``-nostats``), as plans of tables under 64 KiB write their files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from side_venv import side_python
from lakeshrink.codecs.encodings.profiles import DICTIONARY, Cell, load_readers, resolve_profile

SCRIPT = Path(__file__).resolve().parent / "reader_check.py"
ROWS = 3_000

# reader name in readers.toml -> (reader kind of reader_check.py, side venv name and requirements or None)
CHECKERS: dict[str, tuple[str, tuple[str, list[str]] | None]] = {
    "spark-3.5": ("spark", ("pyspark-3.5.9", ["pyspark==3.5.9"])),
    "duckdb-1.1": ("duckdb", ("duckdb-1.1.3", ["duckdb==1.1.3"])),
    "spark-4": ("spark", None),
    "duckdb": ("duckdb", None),
    "polars": ("polars", None),
    "pyarrow": ("pyarrow", None),
}
# Cells the pinned readers are known to refuse: the profiles leave them out for a reason that a test shows.
KNOWN_REFUSALS: dict[str, list[Cell]] = {
    "spark-3.5": [Cell("DOUBLE", "BYTE_STREAM_SPLIT", "1.0", "NONE"), Cell("INT64", "BYTE_STREAM_SPLIT", "1.0", "NONE")],
    "duckdb-1.1": [Cell("INT64", "BYTE_STREAM_SPLIT", "1.0", "NONE"),
                   Cell("FIXED_LEN_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "1.0", "NONE")],
}
CODEC_ARG = {"NONE": "none", "SNAPPY": "snappy", "ZSTD": "zstd", "LZ4_RAW": "lz4"}


def cell_table(physical_type: str) -> tuple[pa.Table, dict]:
    """Rows of one physical type with runs, repeats, nulls and sorted stretches (seeded)."""
    rng = np.random.default_rng(12)
    nulls = rng.random(ROWS) < 0.1
    ints = np.concatenate([np.arange(1000), rng.integers(-50, 50, 1000), np.repeat(rng.integers(0, 1 << 30, 10), 100)])
    kwargs: dict = {}
    if physical_type == "BOOLEAN":
        arr = pa.array(np.repeat(rng.random(ROWS // 30) < 0.3, 30), mask=nulls)
    elif physical_type == "INT32":
        arr = pa.array(ints.astype(np.int32), mask=nulls)
    elif physical_type == "INT64":
        arr = pa.array(ints.astype(np.int64) * 1_000_003, mask=nulls)
    elif physical_type == "INT96":
        arr = pa.array((1_700_000_000_000_000 + ints * 1_000_000).astype("datetime64[us]"), mask=nulls)
        kwargs["use_deprecated_int96_timestamps"] = True
    elif physical_type in ("FLOAT", "DOUBLE"):
        values = np.round(np.cumsum(rng.normal(0, 1, ROWS)), 2)
        values[5] = np.nan
        arr = pa.array(values.astype(np.float32 if physical_type == "FLOAT" else np.float64), mask=nulls)
    elif physical_type == "BYTE_ARRAY":
        words = np.array(["alpha", "alphabet", "beta", "", "gamma-ray", "δέλτα", "epsilon" * 5])
        arr = pa.array([f"{words[i % 7]}-{i // 7}" if i % 3 else str(words[i % 7]) for i in range(ROWS)], mask=nulls)
    elif physical_type == "FIXED_LEN_BYTE_ARRAY":
        arr = pa.array([Decimal(int(v)).scaleb(-3) for v in ints * 1_000_000_007], pa.decimal128(25, 3), mask=nulls)
    else:
        raise AssertionError(physical_type)
    return pa.table({"v": arr}), kwargs


NO_STATISTICS = "-nostats"  # a cell's id with this suffix: written without statistics (as plans of tiny tables are)


def write_cell(cell: Cell, path: Path, *, statistics: bool = True) -> None:
    table, kwargs = cell_table(cell.physical_type)
    kwargs["write_statistics"] = statistics
    if cell.encoding == DICTIONARY:
        kwargs.update(use_dictionary=True)
    else:
        kwargs.update(use_dictionary=False, column_encoding={"v": cell.encoding})
    pq.write_table(table, path, compression=CODEC_ARG[cell.codec], data_page_version=cell.page_version,
                   data_page_size=2048, write_batch_size=256, **kwargs)
    meta = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert cell.encoding in meta.encodings, f"{cell}: pyarrow wrote {meta.encodings}"
    assert meta.physical_type == cell.physical_type
    assert statistics or meta.statistics is None


def cell_id(cell: Cell) -> str:
    return f"{cell.physical_type}-{cell.encoding}-v{cell.page_version}-{cell.codec}"


@pytest.fixture(scope="module")
def cells_dir(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """All cells of the checked profiles written once; returns the directory and reader -> its cell ids."""
    root = tmp_path_factory.mktemp("reader-cells")
    wanted: dict[str, list[str]] = {}
    written: set[str] = set()
    types = set()
    for name in CHECKERS:
        ids = []
        for cell in resolve_profile(name).cells():
            cid = cell_id(cell)
            ids.append(cid)
            types.add(cell.physical_type)
            if cid not in written:
                write_cell(cell, root / f"{cid}.parquet")
                written.add(cid)
            if cell.encoding == "PLAIN" and cell.page_version == "1.0" and cell.codec == "ZSTD":
                ids.append(cid + NO_STATISTICS)
                if cid + NO_STATISTICS not in written:
                    write_cell(cell, root / f"{cid}{NO_STATISTICS}.parquet", statistics=False)
                    written.add(cid + NO_STATISTICS)
        for cell in KNOWN_REFUSALS.get(name, []):
            cid = cell_id(cell)
            ids.append(cid)
            if cid not in written:
                write_cell(cell, root / f"{cid}.parquet")
                written.add(cid)
        wanted[name] = ids
    for ptype in types:
        write_cell(Cell(ptype, "PLAIN", "1.0", "NONE"), root / f"reference-{ptype}.parquet")
    return root, wanted


def run_reader(python: Path | str, kind: str, root: Path, ids: list[str], tmp: Path, refused: set[str]) -> dict:
    files = [{"id": cid, "path": str(root / f"{cid}.parquet"), "group": "refused" if cid in refused else "",
              "reference": str(root / f"reference-{cid.split('-')[0]}.parquet")} for cid in ids]
    manifest, out = tmp / f"{kind}-manifest.json", tmp / f"{kind}-out.json"
    manifest.write_text(json.dumps({"files": files}))
    proc = subprocess.run([str(python), str(SCRIPT), kind, str(manifest), str(out)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _python_for(name: str) -> Path | str:
    kind, venv = CHECKERS[name]
    if kind == "spark" and shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed (Spark readers need a Java 17 runtime)")
    if venv is None:
        pytest.importorskip({"spark": "pyspark"}.get(kind, kind))
        return sys.executable
    return side_python(*venv)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CHECKERS))
def test_every_cell_of_the_profile_reads_back_equal(name, cells_dir, tmp_path):
    root, wanted = cells_dir
    kind, _ = CHECKERS[name]
    refused = {cell_id(c) for c in KNOWN_REFUSALS.get(name, [])}
    result = run_reader(_python_for(name), kind, root, wanted[name], tmp_path, refused)
    failed = {cid: r for cid, r in result["results"].items() if r != "ok" and cid not in refused}
    assert not failed, f"{result['reader']} cannot read cells its profile {name!r} allows: {failed}"
    assert len(result["results"]) == len(wanted[name]) > 0
    opened = [cid for cid in refused if result["results"][cid] == "ok"]
    assert not opened, f"{result['reader']} now reads {opened}: the profile {name!r} could allow them"


def test_checked_readers_are_the_ones_the_tests_run():
    readers = load_readers()
    checked = {name for name, r in readers.items() if r.verified}
    assert checked == set(CHECKERS), "readers.toml's checked_by and tests/test_encodings_readers.py disagree"
    unverified = {name for name, r in readers.items() if not r.verified}
    assert unverified == {"spark-3.3", "trino", "athena", "bigquery", "snowflake"}


def test_the_default_profile_excludes_what_spark_35_and_duckdb_11_cannot_read():
    portable = resolve_profile(None)
    assert portable.name == "portable"
    for ptype in ("INT32", "INT64", "FLOAT", "DOUBLE", "FIXED_LEN_BYTE_ARRAY"):
        assert not portable.allows_encoding(ptype, "BYTE_STREAM_SPLIT")
    assert not portable.allows_encoding("FIXED_LEN_BYTE_ARRAY", "DELTA_BYTE_ARRAY")
    assert not portable.allows_codec("LZ4_RAW") and portable.page_versions == ("1.0",)
    assert portable.allows_encoding("INT64", "DELTA_BINARY_PACKED")
    assert portable.allows_encoding("BYTE_ARRAY", "DELTA_BYTE_ARRAY")
