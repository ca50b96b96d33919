"""The encoding advisor and plan-driven Parquet writes on Spark.

* :func:`advise_dataframe`: stratified contiguous runs are taken in every partition by ``mapInArrow`` (the same
  BtrBlocks-style sampler as the local engine), collected to the driver as Arrow, and the engine-independent
  core (:func:`~lakeshrink.codecs.encodings.advisor.advise_sample`) chooses; distinct counts of flat columns come
  from one ``approx_count_distinct`` job, to scale dictionary sizes.
* :func:`write_dataframe`: each task writes its partition with pyarrow's writer and the plan (Spark's own writer
  can only switch the dictionary per column and pick one codec per file), then reads its file back and compares.
  Tasks write under a staging directory beside the target, one subdirectory per task *attempt*; the driver
  collects which attempts succeeded, moves exactly those files into place, drops the rest (failed or
  speculative attempts), writes ``_SUCCESS`` and renames the staging directory to the target. A failed job
  removes the staging directory: the target is never partially written. (On object stores without atomic
  rename, the final rename is a copy; use a local, HDFS or similar filesystem for an atomic commit.)
* :func:`rewrite_with_spark`: read a Parquet file or directory with Spark and write it back with a plan, hive
  partition directories kept.

A Parquet path gives the local engine's results: Spark's reader widens types (a ``timestamp[ms]`` column comes
back as ``timestamp[us, tz=Etc/UTC]``), so the rows are cast back to the file's own Arrow types before advice and
before writing; a table small enough to be advised whole is collected in the local reader's order (file path, row
index within the file) and advised like the local engine (:func:`~lakeshrink.codecs.encodings.advisor.advise_table`:
sorted columns found, the file's declared sort order and INT96 timestamps kept).

Only this module (and the CLI when ``--engine spark`` is chosen) imports pyspark.
"""

from __future__ import annotations

import functools
import logging
import math
import posixpath
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings import duckdb_writer
from lakeshrink.codecs.encodings.advisor import Advice, AdvisorConfig, advise_sample, advise_table, advisor_config
from lakeshrink.codecs.encodings.plan import EncodingPlan, SortKey
from lakeshrink.codecs.encodings.profiles import resolve_profile
from lakeshrink.codecs.encodings.sample import Sample, run_indices
from lakeshrink.codecs.encodings.schema import leaf_columns
from lakeshrink.codecs.encodings.source import declared_sorting, open_input, uses_int96
from lakeshrink.codecs.encodings.verify import verify_equal
from lakeshrink.codecs.encodings.writer import RewriteResult
from lakeshrink.errors import InputError, LakeshrinkError

logger = logging.getLogger(__name__)

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_REPORT_SCHEMA = "partition INT, attempt INT, file STRING, tmp STRING, rows BIGINT, bytes BIGINT"


class SparkWriteFailed(LakeshrinkError, RuntimeError):
    """A Spark job writing Parquet failed; its staging directory was removed and the target left as it was."""


# -- sampling --------------------------------------------------------------------------------------------------
def _sample_partition(batches: Iterator[pa.RecordBatch], *, fraction: float, runs: float, seed: int) -> Iterator[pa.RecordBatch]:
    from pyspark import TaskContext

    batches = list(batches)
    if not batches:
        return
    table = pa.Table.from_batches(batches)
    n = table.num_rows
    if n == 0:
        return
    ctx = TaskContext.get()
    pid = ctx.partitionId() if ctx is not None else 0
    want = max(1, math.ceil(n * fraction))
    indices = run_indices(n, want, runs=max(1, round(runs * n)), seed=seed + pid)
    yield from table.take(pa.array(indices)).to_batches()


@dataclass(frozen=True)
class SourceTypes:
    """What the local engine reads from a Parquet input besides its rows: its Arrow types (partition columns left
    out), the sort order its single file declares, and whether it stores INT96 timestamps."""

    schema: pa.Schema | None = None
    sorting: tuple[SortKey, ...] = ()
    int96: bool = False


def source_types(path: str) -> SourceTypes:
    """The :class:`SourceTypes` of a local Parquet file or directory (empty for a URI or a table format)."""
    if "://" in path or not Path(path).exists():
        return SourceTypes()
    source = open_input(path)
    if source.table_format is not None:
        return SourceTypes()
    first = source.path(source.files[0])
    return SourceTypes(pq.read_schema(first), declared_sorting(first) if len(source.files) == 1 else (),
                       uses_int96(first))


def as_source_types(table: pa.Table, schema: pa.Schema | None) -> pa.Table:
    """``table`` (Spark's Arrow) with the columns ``schema`` names cast back to its types; unchanged when a cast
    would lose anything (then Spark's types are what the data has)."""
    if schema is None:
        return table
    fields = [schema.field(n) if n in schema.names else table.schema.field(n) for n in table.column_names]
    target = pa.schema(fields, metadata=schema.metadata)
    if table.schema.equals(target, check_metadata=True):
        return table
    try:
        return table.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return table


def _in_file_order(df: Any) -> Any:
    """A file source's rows ordered as the local reader reads them: by file path, then row index in the file."""
    from pyspark.sql import functions as F

    file, row = "__lakeshrink_file", "__lakeshrink_row"
    return (df.select("*", F.col("_metadata.file_path").alias(file), F.col("_metadata.row_index").alias(row))
            .orderBy(file, row).drop(file, row))


def _flat_columns(df: Any) -> list[str]:
    from pyspark.sql.types import ArrayType, MapType, StructType

    return [f.name for f in df.schema.fields if not isinstance(f.dataType, (ArrayType, MapType, StructType))]


def _approx_distinct(df: Any, columns: Sequence[str]) -> dict[str, int | None]:
    from pyspark.sql import functions as F

    if not columns:
        return {}
    try:
        row = df.agg(*[F.approx_count_distinct(F.col(f"`{c}`")).alias(f"c{i}") for i, c in enumerate(columns)]).first()
    except Exception:  # noqa: BLE001 - a type without a hash (binary on old Sparks): no hint, not an error
        return {}
    return {c: int(row[f"c{i}"]) for i, c in enumerate(columns)}


def advise_dataframe(
    df: Any, *, objective: str | None = None, config: AdvisorConfig | None = None, readers: str | None = None,
    source: SourceTypes | None = None,
) -> Advice:
    """Advise per-column Parquet settings for a Spark DataFrame from a sample taken in every partition.

    A DataFrame small enough to be the whole sample is collected and advised as the local engine advises a table
    (sorted columns found and declared).

    Args:
        df: the DataFrame (its Arrow form is what :func:`write_dataframe` writes).
        objective: ``size``, ``speed`` or ``balanced`` (overrides ``config``'s).
        config: advisor settings.
        readers: reader profile the output must open in (default ``portable``; e.g. ``"spark-3.5,duckdb-1.1"``).
        source: for a DataFrame read from Parquet files, their own types and declared order (rows are then
            collected in file order; see the module docstring).
    """
    config = advisor_config(config, objective, readers)
    source = source or SourceTypes()
    start = time.perf_counter()
    total = df.count()
    width = max(1, len(df.schema.fields))
    target = config.sample.target_rows(total, width)
    if total == 0 or target >= total:
        table = as_source_types((_in_file_order(df) if source.schema is not None else df).toArrow(), source.schema)
        plan = advise_table(table, config=config, sorting=source.sorting, int96=source.int96)
        return Advice(plan, time.perf_counter() - start)
    fraction = target / total
    fn = functools.partial(_sample_partition, fraction=fraction, runs=config.sample.runs / total,
                           seed=config.sample.seed)
    table = as_source_types(df.mapInArrow(fn, df.schema).toArrow(), source.schema)
    leaves = leaf_columns(table.schema, int96=source.int96)
    hints = _approx_distinct(df, _flat_columns(df)) if config.exact_ndv and table.num_rows < total else {}
    plan = advise_sample(Sample(table, total), leaves, config=config, full_distinct=hints, sorting=source.sorting,
                         notes=(f"advised on a Spark sample of {table.num_rows:,} rows",), int96=source.int96)
    return Advice(plan, time.perf_counter() - start)


# -- writing ---------------------------------------------------------------------------------------------------
def _filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    from lakeshrink.tables.discovery import filesystem_of

    return filesystem_of(path)


def _staging_location(path: str) -> str:
    """A fresh hidden sibling of ``path``, in the same form (local path or URI with its authority kept)."""
    tag = f".lakeshrink-tmp-{uuid.uuid4().hex[:12]}"
    if "://" in path:
        parent, _, name = path.rstrip("/").rpartition("/")
        return f"{parent}/.{name}{tag}"
    local = Path(path).resolve()
    return str(local.parent / f".{local.name}{tag}")


def _hive_value(value: Any) -> str:
    return HIVE_NULL if value is None else quote(str(value), safe=" -_.")


def _groups(table: pa.Table, partition_by: Sequence[str]) -> list[tuple[str, pa.Table]]:
    """(hive directory, rows without the partition columns) per distinct partition value, in first-seen order."""
    if not partition_by:
        return [("", table)]
    keys = table.select(list(partition_by)).group_by(list(partition_by), use_threads=False).aggregate([])
    out = []
    for row in keys.to_pylist():
        mask = None
        for name in partition_by:
            value = row[name]
            cond = pc.is_null(table[name]) if value is None else pc.fill_null(pc.equal(table[name], value), False)
            mask = cond if mask is None else pc.and_(mask, cond)
        directory = "/".join(f"{name}={_hive_value(row[name])}" for name in partition_by)
        out.append((directory, table.filter(mask).drop_columns(list(partition_by))))
    return out


def _write_task_file(part: pa.Table, fs: pafs.FileSystem, path: str, plan: EncodingPlan, kwargs: dict) -> None:
    """Write one task's file: with DuckDB when the plan names its writer (to a local temporary file, checked
    against the profile and read back there, then copied to ``fs``), else, or when that file would not do, with
    pyarrow and the plan's per-column settings."""
    if plan.writer == duckdb_writer.WRITER:
        with tempfile.TemporaryDirectory(prefix="lakeshrink-duckdb-task-") as tmp:
            local = Path(tmp) / "part.parquet"
            why_not = duckdb_writer.write_checked(part, local, resolve_profile(plan.readers),
                                                  row_group_rows=plan.row_group_size)
            if why_not is None:
                with open(local, "rb") as src, fs.open_output_stream(path) as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                return
            logger.info("%s: writing with pyarrow instead: %s", path, why_not)
    with fs.open_output_stream(path) as out:
        pq.write_table(part, out, **kwargs)


def _write_partition(
    batches: Iterator[pa.RecordBatch], *, staging: str, plan_json: str, partition_by: tuple[str, ...], verify: bool,
    schema_ipc: bytes | None = None,
) -> Iterator[pa.RecordBatch]:
    """Task body: write this partition's rows with the plan under the attempt's own staging subdirectory."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    pid, attempt = (ctx.partitionId(), ctx.attemptNumber()) if ctx is not None else (0, 0)
    batches = list(batches)
    rows = {"partition": [], "attempt": [], "file": [], "tmp": [], "rows": [], "bytes": []}
    if batches and sum(b.num_rows for b in batches):
        plan = EncodingPlan.from_json(plan_json)
        fs, base = _filesystem(staging)
        table = pa.Table.from_batches(batches)
        if schema_ipc is not None:
            table = as_source_types(table, pa.ipc.read_schema(pa.py_buffer(schema_ipc)))
        for j, (directory, part) in enumerate(_groups(table, partition_by)):
            name = f"part-{pid:05d}-{j:03d}.lakeshrink.parquet"
            rel = posixpath.join(directory, name) if directory else name
            tmp_rel = posixpath.join(f"_attempt-{pid:05d}-{attempt}", rel)
            tmp_path = posixpath.join(base, tmp_rel)
            fs.create_dir(posixpath.dirname(tmp_path), recursive=True)
            plan.check(part.schema, where=rel)
            kwargs = plan.writer_kwargs(part.schema)
            if not plan.sorted_as_declared(part):  # a task's rows after a shuffle: never declare an order they lack
                kwargs.pop("sorting_columns", None)
            _write_task_file(part, fs, tmp_path, plan, kwargs)
            if verify:
                with fs.open_input_file(tmp_path) as f:
                    verify_equal(part, pq.ParquetFile(f).read(), path=rel)
            for key, value in (("partition", pid), ("attempt", attempt), ("file", rel), ("tmp", tmp_rel),
                               ("rows", part.num_rows), ("bytes", fs.get_file_info(tmp_path).size)):
                rows[key].append(value)
    yield pa.RecordBatch.from_pydict(rows, schema=pa.schema([
        ("partition", pa.int32()), ("attempt", pa.int32()), ("file", pa.string()), ("tmp", pa.string()),
        ("rows", pa.int64()), ("bytes", pa.int64())]))


@dataclass(frozen=True)
class SparkWriteResult:
    """What :func:`write_dataframe` committed."""

    path: str
    files: int
    rows: int
    bytes: int
    plan: EncodingPlan
    advise_seconds: float
    write_seconds: float


def _commit(fs: pafs.FileSystem, staging: str, target: str, reports: list[Any], overwrite: bool) -> None:
    for r in reports:
        dest = posixpath.join(staging, r["file"])
        fs.create_dir(posixpath.dirname(dest), recursive=True)
        fs.move(posixpath.join(staging, r["tmp"]), dest)
    for info in fs.get_file_info(pafs.FileSelector(staging)):
        if info.base_name.startswith("_attempt-"):
            fs.delete_dir(info.path)
    with fs.open_output_stream(posixpath.join(staging, "_SUCCESS")):
        pass
    if fs.get_file_info(target).type != pafs.FileType.NotFound:
        if not overwrite:
            raise InputError("output already exists (pass overwrite to replace it)", path=target)
        old = f"{target}.lakeshrink-old-{uuid.uuid4().hex[:8]}"
        fs.move(target, old)
        fs.move(staging, target)
        if fs.get_file_info(old).type == pafs.FileType.Directory:
            fs.delete_dir(old)
        else:
            fs.delete_file(old)
    else:
        fs.move(staging, target)


def write_dataframe(
    df: Any,
    path: str,
    plan: EncodingPlan | None = None,
    *,
    objective: str | None = None,
    config: AdvisorConfig | None = None,
    partition_by: Sequence[str] = (),
    overwrite: bool = False,
    verify: bool = True,
    readers: str | None = None,
    source: SourceTypes | None = None,
) -> SparkWriteResult:
    """Write a DataFrame as a Parquet directory with per-column settings, committed all or nothing.

    Args:
        df: the rows.
        path: target directory (local path or a URI pyarrow's filesystems understand, visible to executors).
        plan: settings for the data columns; advised with :func:`advise_dataframe` when omitted.
        objective: objective of that advice; ``config``: its settings.
        partition_by: columns to lay out as hive ``key=value`` directories (not stored in the files).
        overwrite: replace an existing target.
        verify: every task reads its file back and compares it with its rows before reporting success.
        readers: reader profile the output must open in (default ``portable``); a given plan outside it is refused.
        source: for rows read from Parquet files, the files' own Arrow types (written instead of Spark's).

    Raises:
        InputError: the target exists and ``overwrite`` is false, or the plan is outside the reader profile.
        SchemaMismatch: the plan does not fit the data columns.
        SparkWriteFailed: a task failed; nothing was written.
    """
    fs, target = _filesystem(path)
    if fs.get_file_info(target).type != pafs.FileType.NotFound and not overwrite:
        raise InputError("output already exists (pass overwrite to replace it)", path=path)
    partition_by = tuple(partition_by)
    data_df = df.drop(*partition_by) if partition_by else df
    start = time.perf_counter()
    if plan is None:
        plan = advise_dataframe(data_df, objective=objective, config=config, readers=readers, source=source).plan
    else:
        resolve_profile(advisor_config(config, None, readers).readers).check_plan(plan, where=path)
    advise_seconds = time.perf_counter() - start
    schema = (source or SourceTypes()).schema
    arrow_schema = as_source_types(data_df.limit(0).toArrow(), schema).schema
    plan.check(arrow_schema, where=path)
    start = time.perf_counter()
    staging_uri = _staging_location(path)
    _, staging = _filesystem(staging_uri)
    fs.create_dir(staging, recursive=True)
    fn = functools.partial(_write_partition, staging=staging_uri, plan_json=plan.to_json(),
                           partition_by=partition_by, verify=verify,
                           schema_ipc=schema.serialize().to_pybytes() if schema is not None else None)
    try:
        try:
            reports = [r.asDict() for r in df.mapInArrow(fn, _REPORT_SCHEMA).collect()]
        except Exception as exc:  # noqa: BLE001 - Py4J/Spark errors have no common base worth naming
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SparkWriteFailed(f"the Spark write failed, nothing was written: {first[:500]}", path=path) from exc
        _commit(fs, staging, target, reports, overwrite)
    except BaseException:
        if fs.get_file_info(staging).type == pafs.FileType.Directory:
            fs.delete_dir(staging)
        raise
    return SparkWriteResult(path, len(reports), sum(r["rows"] for r in reports), sum(r["bytes"] for r in reports),
                            plan, advise_seconds, time.perf_counter() - start)


# -- paths -----------------------------------------------------------------------------------------------------
def _partition_keys(path: str) -> tuple[str, ...]:
    if "://" in path or not Path(path).is_dir():
        return ()
    keys: list[str] = []
    for rel in open_input(path).files:
        for part in rel.split("/")[:-1]:
            key, sep, _ = part.partition("=")
            if sep and key not in keys:
                keys.append(key)
    return tuple(keys)


def _input_bytes(path: str) -> int | None:
    if "://" in path:
        return None
    return open_input(path).bytes


def advise_path(spark: Any, path: str, *, objective: str | None = None, config: AdvisorConfig | None = None,
                readers: str | None = None) -> Advice:
    """Advise on a Parquet file or directory read by Spark (hive partition columns left out: they are paths)."""
    df = spark.read.parquet(path)
    keys = _partition_keys(path)
    advice = advise_dataframe(df.drop(*keys) if keys else df, objective=objective, config=config, readers=readers,
                              source=source_types(path))
    return Advice(advice.plan, advice.seconds, _input_bytes(path))


def _refuse_format_table(path: str) -> None:
    """Spark's Parquet reader would read a table format's dead files too, and its writer would replace the log."""
    from lakeshrink.tables.discovery import format_table_above, table_kind

    if "://" in path or not Path(path).exists():
        return
    local = str(Path(path).resolve())
    fs = pafs.LocalFileSystem()
    above = format_table_above(fs, "/", local)
    kind = above[1] if above else (table_kind(fs, local) if Path(local).is_dir() else None)
    if kind in ("delta", "iceberg", "hudi"):
        raise InputError(f"this is (inside) a {kind} table: its files are rewritten only through its own log, by the "
                         "local engine (drop --engine spark)", path=path)


def rewrite_with_spark(
    spark: Any,
    input: str,
    output: str,
    *,
    plan: EncodingPlan | None = None,
    objective: str | None = None,
    config: AdvisorConfig | None = None,
    overwrite: bool = False,
    readers: str | None = None,
) -> RewriteResult:
    """Rewrite a Parquet file or directory with Spark tasks and a plan; hive partition directories are kept.

    Every task verifies the file it wrote against the rows it was given, and the driver checks the row count
    of the result before reporting success. Spark decides how input files map to tasks, so output files are
    ``part-*`` files per task rather than one per input file.
    """
    _refuse_format_table(input)
    in_bytes = _input_bytes(input)
    same = Path(input).resolve() == Path(output).resolve() if "://" not in input + output else input == output
    df = spark.read.parquet(input)
    keys = _partition_keys(input)
    if "://" not in output and Path(output).is_dir() and (same or overwrite):
        from lakeshrink.codecs.encodings.writer import refuse_foreign

        refuse_foreign(Path(output))  # the commit replaces the directory whole: never over folders it does not own
    if same:  # Spark reads lazily: materialise nothing, but let the commit replace the input at the end
        overwrite = True
    result = write_dataframe(df, output, plan, objective=objective, config=config, partition_by=keys,
                             overwrite=overwrite, readers=readers, source=source_types(input))
    expected = df.count() if not same else result.rows
    if result.rows != expected:
        raise SparkWriteFailed(f"wrote {result.rows} rows but the input has {expected}", path=output)
    return RewriteResult(input=input, output=output, files=result.files, rows=result.rows,
                         input_bytes=in_bytes or 0, output_bytes=result.bytes, plan=result.plan,
                         advise_seconds=result.advise_seconds, write_seconds=result.write_seconds)


class SparkAdvisor:
    """The Spark engine's :class:`~lakeshrink.codecs.encodings.ports.EncodingAdvisor`: :func:`advise_path`."""

    def __init__(self, engine: Any):
        self.spark = engine.spark

    def advise_path(self, path: str, *, objective: str | None = None, readers: str | None = None) -> Advice:
        return advise_path(self.spark, str(path), objective=objective, readers=readers)


class SparkRewriter:
    """The Spark engine's :class:`~lakeshrink.codecs.encodings.ports.EncodingRewriter`: :func:`rewrite_with_spark`."""

    def __init__(self, engine: Any):
        self.spark = engine.spark

    def rewrite(self, input: str, output: str, *, plan: EncodingPlan | None = None, objective: str | None = None,
                overwrite: bool = False, readers: str | None = None, iceberg_catalog: Any = None) -> RewriteResult:
        if iceberg_catalog is not None:  # Spark rewrites plain Parquet only (format tables are refused)
            raise InputError("an Iceberg catalog is used by the local engine's transactional rewrite only",
                             path=input, hint="drop --engine spark")
        return rewrite_with_spark(self.spark, str(input), str(output), plan=plan, objective=objective,
                                  overwrite=overwrite, readers=readers)
