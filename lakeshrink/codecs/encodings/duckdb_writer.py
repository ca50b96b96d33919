"""DuckDB's Parquet writer as a second writer, for tables where it writes smaller files than pyarrow can.

pyarrow's writer is the limit on some columns: its DELTA_BINARY_PACKED blocks hold 128 values, so a sorted id
column of a million rows costs kilobytes where DuckDB's costs hundreds of bytes, and its page headers carry
statistics DuckDB's do not. When the reader profile allows V2 data pages, the advisor also writes its sample
with DuckDB (``PARQUET_VERSION V2``, ZSTD at the plan's level) and, when that is smaller than the plan's
estimate by more than :data:`MARGIN` and every encoding DuckDB used is inside the profile, the plan names DuckDB
as its writer (``EncodingPlan.writer``).

Writing with DuckDB is checked like every lakeshrink write, and falls back to pyarrow with the plan's
per-column settings when DuckDB is not installed, when its file uses a setting outside the profile, or when the
file does not read back equal to the input (DuckDB has no time zone or millisecond timestamps of its own, for
instance): pyarrow's copy of the Arrow schema is stored in DuckDB's footer (``KV_METADATA``) so that types
DuckDB's storage can hold are restored exactly, and the read-back comparison decides.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings.profiles import ReaderProfile

WRITER = "duckdb-v2"
MARGIN = 0.02  # DuckDB must be 2% smaller than pyarrow's plan to be chosen
LEVEL = 19


def available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def write(table: pa.Table, path: str | os.PathLike[str], *, level: int = LEVEL, row_group_rows: int | None = None) -> None:
    """Write ``table`` with DuckDB (V2 pages, zstd ``level``), pyarrow's Arrow schema in the footer."""
    import duckdb

    schema = base64.b64encode(table.schema.serialize().to_pybytes()).decode("ascii")
    rows = max(1, row_group_rows or table.num_rows or 1)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.register("lakeshrink_input", table)
        target = str(path).replace("'", "''")
        con.execute(f"COPY lakeshrink_input TO '{target}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL "
                    f"{int(level)}, PARQUET_VERSION V2, ROW_GROUP_SIZE {rows}, "
                    f"KV_METADATA {{'ARROW:schema': '{schema}'}})")
    finally:
        con.close()


def outside_profile(path: str | os.PathLike[str], profile: ReaderProfile) -> list[str]:
    """Settings of a written file that a reader of ``profile`` cannot read (empty: all readable)."""
    meta = pq.ParquetFile(path).metadata
    problems = set()
    refusing = profile.refusing("INT32", page_version="2.0")
    if refusing:
        problems.add(f"V2 data pages ({', '.join(refusing)})")
    for rg in range(meta.num_row_groups):
        for i in range(meta.num_columns):
            col = meta.row_group(rg).column(i)
            for enc in col.encodings:
                name = "RLE_DICTIONARY" if enc == "PLAIN_DICTIONARY" else enc
                if name in ("PLAIN", "RLE", "BIT_PACKED"):
                    continue  # levels, booleans and PLAIN dictionary pages: every reader
                who = profile.refusing(col.physical_type, name)
                if who:
                    problems.add(f"{name} on {col.physical_type} ({', '.join(who)})")
            codec = {"UNCOMPRESSED": "NONE"}.get(col.compression, col.compression)
            who = profile.refusing(col.physical_type, codec=codec)
            if who:
                problems.add(f"{codec} ({', '.join(who)})")
    return sorted(problems)


def write_checked(table: pa.Table, path: str | os.PathLike[str], profile: ReaderProfile, *, level: int = LEVEL,
                  row_group_rows: int | None = None) -> str | None:
    """Write with DuckDB and check the file; ``None`` when it is good, else why not (the caller falls back)."""
    from lakeshrink.codecs.encodings.verify import tables_equal

    if not available():
        return "DuckDB is not installed"
    try:
        write(table, path, level=level, row_group_rows=row_group_rows)
    except Exception as exc:  # noqa: BLE001 - DuckDB refuses some Arrow types: fall back to pyarrow
        return f"DuckDB could not write it: {str(exc).splitlines()[0][:200]}"
    problems = outside_profile(path, profile)
    if problems:
        return f"DuckDB used settings outside the profile: {'; '.join(problems)}"
    try:
        problem = tables_equal(table, pq.ParquetFile(path).read())
    except (OSError, pa.ArrowException) as exc:
        problem = str(exc)
    return None if problem is None else f"DuckDB's file does not read back equal: {problem}"


def _split(buffer_or_path) -> tuple[int, int]:
    """(bytes of column chunks, bytes of everything else: footer, magic) of a Parquet file."""
    pf = pq.ParquetFile(buffer_or_path)
    meta = pf.metadata
    chunks = sum(meta.row_group(rg).column(i).total_compressed_size
                 for rg in range(meta.num_row_groups) for i in range(meta.num_columns))
    total = buffer_or_path.size() if isinstance(buffer_or_path, pa.BufferReader) else Path(buffer_or_path).stat().st_size
    return chunks, total - chunks


def compare_on_sample(table: pa.Table, writer_kwargs: dict, profile: ReaderProfile,
                      scale: float = 1.0) -> tuple[int, int] | None:
    """(pyarrow plan bytes, DuckDB bytes) estimated for the whole table from its sample ``table``: column chunks
    scaled by ``scale`` (rows of the table / rows of the sample), footers not. ``None`` when DuckDB may not be
    used (not installed, V2 pages outside the profile, a refused type, a setting outside the profile)."""
    import tempfile

    if not profile.allows_page_version("2.0") or not available():
        return None
    with tempfile.TemporaryDirectory(prefix="lakeshrink-duckdb-trial-") as tmp:
        path = Path(tmp) / "sample.parquet"
        if write_checked(table, path, profile) is not None:
            return None
        duck_chunks, duck_rest = _split(path)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **writer_kwargs)
    mine_chunks, mine_rest = _split(pa.BufferReader(sink.getvalue()))
    return int(mine_chunks * scale + mine_rest), int(duck_chunks * scale + duck_rest)
