"""Log template compression on Spark: UDFs, a DataFrame function, and archive writing from Spark tasks.

The Spark path runs the same Arrow core as the local one (:mod:`lakeshrink.codecs.logs`):

* :func:`learn_codec` learns the header format and a template store on a sample of a column (on the driver);
  the store is broadcast to the executors as bytes (:meth:`LogCodec.to_bytes`);
* :func:`log_template` / :func:`log_params` are pandas UDFs giving each line's template and parameters;
* :func:`compress_log_column` encodes a column of lines into chunk payloads, one or more per partition;
  :func:`decompress_log_chunks` gives the lines back;
* :func:`compress_files_spark` reads files exactly with the ``binaryFile`` source (no lost ``\\r``), cuts them
  into the same chunks as the local path, encodes the chunks in Spark tasks and writes one archive on the
  driver. It decodes to the same bytes as ``lakeshrink logs compress`` (a test checks).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.errors import InputError
from lakeshrink.spark_ext.session import import_pyspark, parallelism

import_pyspark()

from pyspark.sql import Column, DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

_log = logging.getLogger(__name__)
_CODECS: dict[bytes, LogCodec] = {}  # per executor process: the broadcast store, deserialised once


def _codec(store: bytes) -> LogCodec:
    key = store[-64:] + len(store).to_bytes(8, "little")
    codec = _CODECS.get(key)
    if codec is None:
        codec = _CODECS[key] = LogCodec.from_bytes(store)
    return codec


def learn_codec(df: DataFrame, column: str, *, config: CodecConfig | None = None, sample_rows: int = 100_000) -> LogCodec:
    """A codec whose format and templates are learnt on up to ``sample_rows`` lines of ``df[column]``."""
    codec = LogCodec(config or CodecConfig())
    rows = [r[0] for r in df.select(F.col(column).cast("string")).limit(sample_rows).collect()]
    lines = pa.array([r if r is not None else "" for r in rows], type=pa.string())
    codec.encode(lines)
    return codec


def _store(codec: LogCodec | None) -> bytes:
    return (codec or LogCodec(CodecConfig())).to_bytes()


def _batch_codec(store: bytes, shared: bool) -> LogCodec:
    """The broadcast codec (shared store), or a fresh copy per batch when no store was learnt."""
    return _codec(store) if shared else LogCodec.from_bytes(store)


def log_template(col: Column | str, codec: LogCodec | None = None) -> Column:
    """The template of each line (null when the line is kept whole). Learn ``codec`` with :func:`learn_codec`
    for templates shared by all partitions; without one each batch mines its own."""
    store = _store(codec)

    @F.pandas_udf(T.StringType())
    def template_udf(lines):  # type: ignore[no-untyped-def]
        table = _batch_codec(store, codec is not None).encode(pa.array(lines.fillna(""), type=pa.string()))
        return table.column("template").to_pandas()

    return template_udf(col)


def log_params(col: Column | str, codec: LogCodec | None = None) -> Column:
    """The parameters of each line's template, as an array of strings (null when the line is kept whole)."""
    store = _store(codec)

    @F.pandas_udf(T.ArrayType(T.StringType()))
    def params_udf(lines):  # type: ignore[no-untyped-def]
        table = _batch_codec(store, codec is not None).encode(pa.array(lines.fillna(""), type=pa.string()))
        return table.column("params").to_pandas()

    return params_udf(col)


CHUNK_SCHEMA = T.StructType(
    [
        T.StructField("partition", T.IntegerType()),
        T.StructField("chunk", T.IntegerType()),
        T.StructField("lines", T.LongType()),
        T.StructField("raw_bytes", T.LongType()),
        T.StructField("mode", T.StringType()),
        T.StructField("payload", T.BinaryType()),
    ]
)


def compress_log_column(df: DataFrame, column: str, *, codec: LogCodec | None = None, chunk_lines: int = 1_000_000) -> DataFrame:
    """Encode ``df[column]`` (one line per row, no ``\\n``) into chunk payloads with a shared template store.

    Returns a DataFrame of (partition, chunk, lines, raw_bytes, mode, payload); each payload decodes to its
    lines joined by ``\\n`` (:func:`decompress_log_chunks`). The store is learnt on a sample when not given.
    """
    codec = codec or learn_codec(df, column)
    store = codec.to_bytes()

    def encode_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        part = TaskContext.get().partitionId() if TaskContext.get() else 0
        local = LogCodec.from_bytes(store)
        pending: list[str] = []
        seq = 0

        def flush() -> pa.RecordBatch:
            nonlocal seq
            data = ("\n".join(pending) + "\n").encode("utf-8")
            result = local.encode_chunk(data)
            seq += 1
            return pa.RecordBatch.from_pylist(
                [{"partition": part, "chunk": seq - 1, "lines": result.lines, "raw_bytes": len(data), "mode": result.mode,
                  "payload": result.payload}],
                schema=CHUNK_ARROW_SCHEMA,
            )

        for batch in batches:
            pending.extend(v if v is not None else "" for v in batch.column(0).to_pylist())
            while len(pending) >= chunk_lines:
                head, rest = pending[:chunk_lines], pending[chunk_lines:]
                pending = head
                yield flush()
                pending = rest
        if pending:
            yield flush()

    return df.select(F.col(column).cast("string")).mapInArrow(encode_partition, CHUNK_SCHEMA)


CHUNK_ARROW_SCHEMA = pa.schema(
    [("partition", pa.int32()), ("chunk", pa.int32()), ("lines", pa.int64()), ("raw_bytes", pa.int64()),
     ("mode", pa.string()), ("payload", pa.binary())]
)


def decompress_log_chunks(chunks: DataFrame) -> DataFrame:
    """Lines back from :func:`compress_log_column`'s output, in (partition, chunk, line) order."""

    def decode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for part, seq, payload in zip(*(batch.column(c).to_pylist() for c in ("partition", "chunk", "payload"))):
                text = LogCodec.decode_chunk(payload).decode("utf-8")
                lines = text.split("\n")[:-1]
                yield pa.RecordBatch.from_pydict(
                    {"partition": [part] * len(lines), "chunk": [seq] * len(lines), "line_no": list(range(len(lines))),
                     "line": lines},
                    schema=pa.schema([("partition", pa.int32()), ("chunk", pa.int32()), ("line_no", pa.int64()),
                                      ("line", pa.string())]),
                )

    schema = "partition int, chunk int, line_no long, line string"
    return chunks.select("partition", "chunk", "payload").mapInArrow(decode, schema).orderBy("partition", "chunk", "line_no")


# ------------------------------------------------------------------------------------------------ files
FILE_CHUNK_SCHEMA = (
    "file int, seq int, payload binary, raw_crc long, raw_bytes long, bloom string, lines long, mode string, "
    "templates map<string,long>, time array<string>, raw_sha256 string, fallback string"
)


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return os.path.realpath(unquote(parsed.path)) if parsed.scheme in ("", "file") else uri


def compress_files_spark(spark: SparkSession, inputs: Sequence[str], archive: str | os.PathLike[str],
                         config: CodecConfig | None = None, *, overwrite: bool = False, exclude: Sequence[str] = ()):
    """Compress files or directories into one archive, encoding chunks in Spark tasks (one task per file).

    Files are read exactly with Spark's ``binaryFile`` source; a file must fit in one task's memory (2 GB).
    """
    from lakeshrink.codecs.logs.archive import ArchiveWriter
    from lakeshrink.codecs.logs.files import (
        STDIN,
        ArchiveChunk,
        CompressReport,
        _codec_for,
        check_archive_target,
        collect_inputs,
        file_meta,
        encode_for_archive,
        iter_chunks,
        open_input,
        write_chunk,
    )
    from lakeshrink.codecs.logs.rotated import open_log
    from lakeshrink.fileio import atomic_file

    config = config or CodecConfig()
    items = collect_inputs(inputs, exclude=exclude)
    if any(item.source == STDIN for item in items):
        raise InputError("stdin ('-') cannot be read by Spark tasks", hint="use --engine local for stdin")
    check_archive_target(archive, items, overwrite=overwrite)
    start = time.perf_counter()
    codecs: dict[str | None, LogCodec] = {}  # as the local engine: one codec per detected format (or --format)
    file_codec: dict[int, str | None] = {}
    first_format: str | None = None
    for n, item in enumerate(items):
        with open_input(item) as fh:
            head = next(iter_chunks(fh, config.chunk_bytes, name=item.source, max_line_bytes=config.max_line_bytes), None)
        if head is None:
            continue
        codec = _codec_for(codecs, config, head, item.source)
        key = None if config.format is not None else (codec.format.spec if codec.format else None)
        file_codec[n] = key
        first_format = first_format or (codec.format.spec if codec.format else None)
    stores = {key: codec.to_bytes() for key, codec in codecs.items()}
    index_of = {os.path.realpath(item.source): n for n, item in enumerate(items)}
    chunk_bytes, max_line = config.chunk_bytes, config.max_line_bytes

    def encode_files(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import io

        local: dict[str | None, LogCodec] = {}
        for batch in batches:
            for uri, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                path = _local_path(uri)
                file_no = index_of[path]
                key = file_codec.get(file_no)
                if key not in local and key in stores:
                    local[key] = LogCodec.from_bytes(stores[key])
                rows = []
                for seq, data in enumerate(iter_chunks(open_log(io.BytesIO(content), path), chunk_bytes, name=path, max_line_bytes=max_line)):
                    c: ArchiveChunk = encode_for_archive(local[key], data, path)
                    rows.append({"file": file_no, "seq": seq, "payload": c.payload, "raw_crc": c.raw_crc,
                                 "raw_bytes": c.raw_bytes, "bloom": c.bloom, "lines": c.lines, "mode": c.mode,
                                 "templates": list(c.templates.items()),
                                 "time": list(c.time_range) if c.time_range else None, "raw_sha256": c.raw_sha256,
                                 "fallback": c.fallback})
                if rows:
                    yield pa.RecordBatch.from_pylist(rows, schema=_FILE_ARROW_SCHEMA)

    paths = [item.source for item in items]
    files_df = spark.read.format("binaryFile").load(paths).select("path", "content")
    encoded = files_df.repartition(max(1, min(len(paths), parallelism(spark) * 2))).mapInArrow(
        encode_files, FILE_CHUNK_SCHEMA
    )
    total = lines = chunks = columnar = 0
    templates: set[str] = set()
    fallbacks = 0
    with atomic_file(archive) as tmp, open(tmp, "wb") as out:
        writer = ArchiveWriter(out)
        rows = encoded.orderBy("file", "seq").toLocalIterator()
        current = -1
        for row in rows:
            while current < row["file"]:
                current += 1
                writer.start_file(items[current].name, **_meta_kw(file_meta(items[current])))
            chunk = ArchiveChunk(bytes(row["payload"]), row["raw_crc"], row["raw_bytes"], row["bloom"], row["lines"],
                                 row["mode"], dict(row["templates"] or {}),
                                 tuple(row["time"]) if row["time"] else None, row["raw_sha256"], row["fallback"])
            write_chunk(writer, chunk)
            total += chunk.raw_bytes
            lines += chunk.lines
            chunks += 1
            columnar += chunk.mode == "columnar"
            templates.update(chunk.templates)
            if chunk.fallback is not None:  # logged here too: the task's log is on an executor
                fallbacks += 1
                _log.warning("%s: chunk %d stored whole, its columnar form failed: %s", items[row["file"]].source,
                             row["seq"], chunk.fallback)
        while current < len(items) - 1:  # empty files at the end
            current += 1
            writer.start_file(items[current].name, **_meta_kw(file_meta(items[current])))
        fmt = first_format or "<Content>"
        writer.finish(fmt)
        out.flush()
        size = out.tell()
    return CompressReport(str(archive), len(items), chunks, lines, total, size, time.perf_counter() - start, fmt,
                          len(templates), columnar, fallbacks)


def _meta_kw(meta: tuple[int | None, int | None]) -> dict[str, int | None]:
    return {"mode": meta[0], "mtime_ns": meta[1]}


_FILE_ARROW_SCHEMA = pa.schema(
    [("file", pa.int32()), ("seq", pa.int32()), ("payload", pa.binary()), ("raw_crc", pa.int64()),
     ("raw_bytes", pa.int64()), ("bloom", pa.string()), ("lines", pa.int64()), ("mode", pa.string()),
     ("templates", pa.map_(pa.string(), pa.int64())), ("time", pa.list_(pa.string())),
     ("raw_sha256", pa.string()), ("fallback", pa.string())]
)


class SparkCompressor:
    """The Spark engine's :class:`~lakeshrink.codecs.logs.ports.LogCompressor`: :func:`compress_files_spark`."""

    def __init__(self, engine):  # type: ignore[no-untyped-def]
        self.engine = engine

    def compress_files(self, inputs: Sequence[str], archive: str | os.PathLike[str], config: CodecConfig | None = None,
                       *, overwrite: bool = False, exclude: Sequence[str] = ()):  # type: ignore[no-untyped-def]
        return compress_files_spark(self.engine.spark, inputs, archive, config, overwrite=overwrite, exclude=exclude)
