"""Files in, archive out, and back: what ``lakeshrink logs compress`` / ``decompress`` run.

Inputs are read in chunks of about ``chunk_bytes`` cut after a ``\\n`` (a chunk never splits a line, and never
spans two files), so memory stays bounded whatever the input size. The archive is written to a temporary path
and renamed into place only when complete (:func:`lakeshrink.fileio.atomic_file`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import stat
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lakeshrink.codecs.logs.archive import ArchiveReader, ArchiveWriter, make_bloom
from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs.chunk import run_beside
from lakeshrink.codecs.logs.codec import DETECTION_SCAN, CodecConfig, LogCodec
from lakeshrink.codecs.logs.lazy import polars as pl
from lakeshrink.codecs.logs.parallel import Ordered, decode_plan, default_workers, tune_allocator
from lakeshrink.memory import release_memory
from lakeshrink.codecs.logs.rotated import LogInput, archived_name, open_log, sniff_file
from lakeshrink.errors import InputError
from lakeshrink.fileio import atomic_dir, atomic_file, current_umask
from lakeshrink.progress import progress

STDIN = "-"
#: Inputs smaller than this are encoded in this process unless ``CodecConfig.workers`` asks for more.
MIN_PARALLEL_BYTES = 8 << 20
#: With several workers, chunks are made small enough that the whole process tree stays under about this: each
#: worker holds about :data:`WORKING_SET` times its chunk while encoding it, and the parent holds the chunks in
#: flight (one per worker, one ready, two being read). Measured on 1 GB of a PostgreSQL text log with two
#: workers: 32 MiB chunks peaked at 1,231 MiB for the tree (and rising); see docs/logs.md for the bounded run.
PARALLEL_MEMORY = 768 << 20
WORKING_SET = 20
#: A chunk's Bloom filter is stored only when it is at most this share of the chunk's payload.
BLOOM_SHARE = 0.01


@dataclass(frozen=True)
class InputFile:
    """One input: where to read it and the relative path recorded in the archive."""

    source: str  # a filesystem path, or "-" for stdin
    name: str  # a compressed input's name lacks its compression suffix
    compression: str | None = None  # "gzip", "zstd", "xz", "bzip2" (read decompressed), or None


@dataclass(frozen=True)
class CompressReport:
    archive: str
    files: int
    chunks: int
    lines: int
    input_bytes: int
    archive_bytes: int
    seconds: float
    format: str
    templates: int  # distinct templates used by the archive's lines
    columnar_chunks: int
    fallback_chunks: int = 0  # chunks whose columnar form failed and were stored whole (reasons logged)

    @property
    def ratio(self) -> float:
        return self.input_bytes / self.archive_bytes if self.archive_bytes else 0.0


@dataclass(frozen=True)
class DecompressReport:
    archive: str
    output: str
    files: int
    bytes: int
    seconds: float


def excluded(name: str, patterns: Sequence[str]) -> bool:
    """Whether an input named ``name`` (its path relative to the directory given, or as given) is excluded.

    Like ``tar --exclude``: a glob without ``/`` is matched against every component of the name (``*.tmp`` skips
    such files at any depth, ``old`` skips a directory ``old/``); a glob with ``/`` against the whole name.
    """
    parts = name.split("/")
    return any(fnmatchcase(name, g) if "/" in g else any(fnmatchcase(part, g) for part in parts) for g in patterns)


def collect_inputs(inputs: Sequence[str], *, exclude: Sequence[str] = ()) -> list[InputFile]:
    """Expand files, directories (recursively, sorted) and ``-`` into :class:`InputFile` s.

    Files matching an ``exclude`` glob (:func:`excluded`) are left out. A compressed input (gzip, zstd, xz,
    bzip2: :mod:`lakeshrink.codecs.logs.rotated`) is named without its compression suffix.

    Raises:
        InputError: a path that does not exist or is not readable, an empty directory, every input excluded,
            or two inputs that would be archived under one name.
    """
    out: list[InputFile] = []
    skipped = 0
    for item in inputs:
        if item == STDIN:
            out.append(InputFile(STDIN, "stdin"))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise InputError("directory holds no files", path=path)
            for p in files:
                rel = p.relative_to(path).as_posix()
                if excluded(rel, exclude) or excluded(p.as_posix(), [g for g in exclude if "/" in g]):
                    skipped += 1
                else:
                    out.append(InputFile(str(p), rel))
        elif path.is_file():
            if not os.access(path, os.R_OK):
                raise InputError("file is not readable (permission denied)", path=path)
            if excluded(path.name, exclude) or excluded(path.as_posix(), [g for g in exclude if "/" in g]):
                skipped += 1
            else:
                out.append(InputFile(str(path), path.name))
        else:
            raise InputError("no such file or directory", path=path)
    if not out and skipped:
        raise InputError(f"every input ({skipped} file(s)) is excluded by --exclude {' '.join(exclude)}")
    out = [f if f.source == STDIN else _with_compression(f) for f in out]
    names = [f.name for f in out]
    if len(set(names)) != len(names):  # same base name from two places: keep the paths as given
        out = [InputFile(f.source, archived_name(f.source.lstrip("/"), f.compression), f.compression) for f in out]
    seen: dict[str, tuple[str, str | None]] = {}
    for f in out:
        if f.name in seen:
            why = " (a compressed input is archived without its suffix)" if f.compression or seen[f.name][1] else ""
            raise InputError(f"{seen[f.name][0]} and {f.source} would both be archived as {f.name!r}{why}",
                             path=f.source, hint="give each input once, or leave one out with --exclude")
        seen[f.name] = (f.source, f.compression)
    return out


def _with_compression(item: InputFile) -> InputFile:
    kind = sniff_file(item.source)
    return InputFile(item.source, archived_name(item.name, kind), kind)


def parallel_chunk_bytes(chunk_bytes: int, workers: int) -> int:
    """The chunk size with ``workers`` encoding in parallel: ``chunk_bytes``, or less so that the process tree
    stays within :data:`PARALLEL_MEMORY` (whole MiB, at least 4 MiB); one worker keeps ``chunk_bytes``."""
    if workers <= 1:
        return chunk_bytes
    bound = PARALLEL_MEMORY // (WORKING_SET * workers + workers + 3)
    return min(chunk_bytes, max(4 << 20, bound >> 20 << 20))


def iter_chunks(stream: BinaryIO, chunk_bytes: int, *, name: str, max_line_bytes: int) -> Iterator[bytes]:
    """Chunks of whole lines of about ``chunk_bytes`` (the last may lack its ``\n``).

    One block of look-ahead: a chunk is cut at its last ``\n`` only when more data follows, so a file
    without a final newline does not end with a one-line chunk.
    """
    buf = stream.read(chunk_bytes)
    while buf:
        nxt = stream.read(chunk_bytes)
        if not nxt:
            yield buf
            return
        cut = buf.rfind(b"\n")
        if cut < 0:
            if max_line_bytes and len(buf) > max_line_bytes:
                raise InputError(
                    f"a line longer than {max_line_bytes} bytes (no newline in {len(buf)} bytes)",
                    path=name,
                    hint="raise --max-line-bytes, or is this a log file at all?",
                )
            buf += nxt
            continue
        head, buf = buf[: cut + 1], buf[cut + 1 :]  # the whole block is not kept while the chunk is out
        yield head
        del head
        buf += nxt


def _check_text(data: bytes, name: str, config: CodecConfig) -> None:
    if config.allow_binary or not data:
        return
    sample = data[: 1 << 16]
    control = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 13, 12, 27))
    if b"\x00" in sample or control > len(sample) // 10:
        raise InputError("looks like binary data, not a text log", path=name, hint="use --allow-binary to store it anyway")
    if config.max_line_bytes and len(data) > config.max_line_bytes:
        longest = _longest_line(data)
        if longest > config.max_line_bytes:
            raise InputError(
                f"a line of {longest} bytes is longer than the limit of {config.max_line_bytes}",
                path=name,
                hint="raise --max-line-bytes to compress it anyway",
            )


def _longest_line(data: bytes) -> int:
    """The length of the longest piece of ``data.split(b"\\n")``, from the positions of its newlines (numpy)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return int(np.diff(ends, prepend=-1, append=len(data)).max()) - 1


def open_input(item: InputFile) -> LogInput:
    """The log bytes of an input: a file or stdin, decompressed when compressed (closed by the caller, not stdin)."""
    if item.source == STDIN:
        return open_log(sys.stdin.buffer, "stdin")
    try:
        raw = open(item.source, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=item.source) from exc
    return open_log(raw, item.source)


@dataclass(frozen=True)
class ArchiveChunk:
    """A chunk ready for :meth:`ArchiveWriter.add_encoded` (made locally or in a Spark task)."""

    payload: bytes
    raw_crc: int
    raw_bytes: int
    bloom: str
    lines: int
    mode: str
    templates: dict[str, int]
    time_range: tuple[str, str] | None = None
    raw_sha256: str = ""  # hex SHA-256 of the original bytes
    fallback: str | None = None  # why the columnar form failed, if it did


#: The start of a file's first chunk its format is detected on (:func:`start_codec`).
DETECTION_BYTES = 1 << 16


def start_codec(codec: LogCodec, first_chunk: bytes, name: str) -> None:
    """Detect the format on the first chunk of the first file, or check that a given format matches it."""
    sample = first_chunk[:DETECTION_BYTES].decode("utf-8", "replace").split("\n")[:DETECTION_SCAN]
    codec.ensure_format(sample, path=name)


def _codec_for(codecs: dict[str | None, LogCodec], config: CodecConfig, data: bytes, name: str) -> LogCodec:
    if config.format is not None:
        if None not in codecs:
            codecs[None] = LogCodec(config)
            start_codec(codecs[None], data, name)
        return codecs[None]
    probe = LogCodec(config)
    start_codec(probe, data, name)
    assert probe.format is not None
    return codecs.setdefault(probe.format.spec, probe)


# ------------------------------------------------------------------------- jobs of the encoding workers
_WORKER_CODECS: dict[object, LogCodec] = {}


def _warm_worker() -> None:
    """A worker process's initializer: unpickling this reference imports this module, so the codec (polars,
    numpy) is loaded when the worker starts, not while its first chunk waits; and the allocator is set to
    give memory back between chunks (:func:`~lakeshrink.codecs.logs.parallel.tune_allocator`)."""
    tune_allocator()
    pl.Series  # noqa: B018 - import polars now (this module holds it lazily), before the first chunk waits
    # the workers keep every core busy with chunks: checking a chunk beside its LZMA2 would save no time there,
    # and would hold the decoder's memory and LZMA2's at once (round 8: +25 MiB per worker on the text log)
    chunk_mod.CHECK_BESIDE = False


def detect_job(config: CodecConfig, head: bytes, name: str) -> tuple[str, bytes]:
    """In a worker: the format of a log from the start of its first chunk (:func:`start_codec`), as its spec and
    the pickled codec that encodes it, before it has encoded anything (the parent then needs no polars)."""
    codec = LogCodec(config)
    start_codec(codec, head, name)
    assert codec.format is not None
    return codec.format.spec, pickle.dumps(codec)


class Handed:
    """A chunk handed to a worker process: the parent's reference is dropped as soon as it is pickled, so the
    parent does not hold the chunk while the worker encodes it (the executor keeps a job's arguments until
    its result is back). Unpickled, it is the plain ``bytes``; run inline (one worker), :attr:`data` is read.
    Measured on 68 MB with two workers: 108 MiB traced in the parent at its peak, 38 of them pickles
    waiting to be sent and 51 the chunks and read blocks (see docs/logs.md for the 1 GB tree)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data: bytes | None = data

    def __reduce__(self):
        data, self.data = self.data, None
        if data is None:
            raise RuntimeError("a handed chunk was pickled twice")
        return _same, (data,)


def _same(data: bytes) -> bytes:
    return data


def encode_job(token: object, codec_blob: bytes, data: bytes | Handed, name: str) -> ArchiveChunk:
    """In a worker: encode one chunk with this worker's codec for ``token`` (made from ``codec_blob``, the
    parent's codec before it encoded anything, the first time; it then learns templates chunk by chunk)."""
    if isinstance(data, Handed):  # run inline, not pickled
        data = data.data
        assert data is not None
    codec = _WORKER_CODECS.get(token)
    if codec is None:
        codec = _WORKER_CODECS[token] = pickle.loads(codec_blob)
    try:
        return encode_for_archive(codec, data, name)
    finally:
        release_memory()


def encode_for_archive(codec: LogCodec, data: bytes, name: str) -> ArchiveChunk:
    """Check and encode one chunk of the input ``name`` (raises :class:`InputError` for binary or huge lines)."""
    _check_text(data, name, codec.config)
    bloom_job = run_beside(make_bloom, data)  # numpy, beside the encoding
    result = codec.encode_chunk(data)
    assert codec.miner is not None
    names = {codec.miner.template(cid): n for cid, n in result.template_counts.items()}
    bloom = bloom_job.result()
    if len(bloom) > BLOOM_SHARE * len(result.payload):
        bloom = ""  # it would cost more of the archive than it can save a search: kept out (never worse than xz)
    return ArchiveChunk(result.payload, zlib.crc32(data), len(data), bloom, result.lines, result.mode, names,
                        result.time_range, hashlib.sha256(data).hexdigest(), result.fallback)


def _size(item) -> int | None:
    """Bytes of an input file (None for stdin or anything that cannot say)."""
    try:
        return None if item.source == STDIN else os.path.getsize(item.source)
    except OSError:
        return None


def write_chunk(writer: ArchiveWriter, chunk: ArchiveChunk) -> None:
    writer.add_encoded(chunk.payload, raw_crc=chunk.raw_crc, raw_bytes=chunk.raw_bytes, bloom=chunk.bloom,
                       lines=chunk.lines, mode=chunk.mode, templates=chunk.templates, time_range=chunk.time_range,
                       raw_sha256=chunk.raw_sha256)


def file_meta(item: InputFile) -> tuple[int | None, int | None]:
    """Permission bits and modification time (ns) of an input, recorded in the archive (None for stdin)."""
    if item.source == STDIN:
        return None, None
    try:
        st = os.stat(item.source)
    except OSError:
        return None, None
    return stat.S_IMODE(st.st_mode), st.st_mtime_ns


def check_archive_target(archive: str | os.PathLike[str], items: Sequence[InputFile], *, overwrite: bool) -> None:
    """Refuse to write an archive over an existing file (unless ``overwrite``) and, always, over an input.

    Raises:
        InputError: the target exists and ``overwrite`` is false, or it is one of the inputs.
    """
    target = Path(archive)
    if not (target.exists() or target.is_symlink()):
        return
    for item in items:
        if item.source != STDIN and os.path.exists(item.source) and os.path.samefile(item.source, target):
            raise InputError("the archive would replace one of its own inputs", path=target)
    if not overwrite:
        raise InputError("output already exists", path=target, hint="remove it or pass --overwrite")


def compress_files(inputs: Sequence[str], archive: str | os.PathLike[str], config: CodecConfig | None = None, *,
                   overwrite: bool = False, exclude: Sequence[str] = ()) -> CompressReport:
    """Compress files, directories or ``-`` into one archive at ``archive`` (atomically).

    An existing ``archive`` is replaced only with ``overwrite`` (and never when it is one of the inputs). Files
    matching an ``exclude`` glob are left out (:func:`collect_inputs`); compressed inputs are read decompressed
    (:mod:`lakeshrink.codecs.logs.rotated`).
    """
    config = config or CodecConfig()
    items = collect_inputs(inputs, exclude=exclude)
    check_archive_target(archive, items, overwrite=overwrite)
    codecs: dict[str | None, LogCodec] = {}  # with no --format, one codec (format + templates) per detected format
    codec: LogCodec | None = None
    first_format: str | None = None
    start = time.perf_counter()
    total_in = lines = chunks = columnar = 0
    templates: set[str] = set()
    fallbacks = 0
    first = True
    sizes = [_size(item) for item in items]  # None for stdin: the bar then counts bytes without a total
    # several chunks: encoded on every core; a single chunk gains nothing from a worker process, and below
    # MIN_PARALLEL_BYTES starting one (about a second of CPU to import polars) costs more than it saves
    workers = config.workers or default_workers()
    known = sum(s for s in sizes if s is not None)
    if None not in sizes and (known <= config.chunk_bytes or (not config.workers and known < MIN_PARALLEL_BYTES)):
        workers = 1
    chunk_bytes = parallel_chunk_bytes(config.chunk_bytes, workers)
    # with workers and inputs of known size, this process only reads input and writes chunks: the formats are
    # detected on a worker too, so it never imports polars (about 0.4 s of CPU and 50 MiB more; see lazy.py).
    # From stdin a lone chunk is encoded here, without starting any worker.
    detect_remotely = workers > 1 and None not in sizes
    token: str | None = None  # the codec a chunk is encoded with (its format's spec), for the workers
    with atomic_file(archive) as tmp, open(tmp, "wb") as out, Ordered(workers, initializer=_warm_worker, ahead=-1) as pool:
        writer = ArchiveWriter(out)
        blobs: dict[str, bytes] = {}  # format spec -> its codec's pickled state before any chunk, for the workers

        def record(chunk: ArchiveChunk) -> None:
            nonlocal total_in, lines, chunks, columnar, fallbacks
            write_chunk(writer, chunk)
            total_in += chunk.raw_bytes
            lines += chunk.lines
            chunks += 1
            columnar += chunk.mode == "columnar"
            templates.update(chunk.templates)
            fallbacks += chunk.fallback is not None

        with progress("compressing logs", total=None if None in sizes else sum(sizes), unit="bytes") as bar:
            for item in items:
                mode, mtime_ns = file_meta(item)
                pool.then(functools.partial(writer.start_file, item.name, mode=mode, mtime_ns=mtime_ns))
                new_file = True
                stream = open_input(item)
                read = 0  # bytes of the input itself read so far (compressed bytes for a compressed input)
                try:
                    for data in iter_chunks(stream, chunk_bytes, name=item.source, max_line_bytes=config.max_line_bytes):
                        if (first or (config.format is None and new_file)) and detect_remotely:
                            token, blob = pool.call(detect_job, config, data[:DETECTION_BYTES], item.source)
                            blobs.setdefault(token, blob)  # the first codec of a format encodes all its files
                            first_format = first_format or token
                        elif first or (config.format is None and new_file):
                            codec = _codec_for(codecs, config, data, item.source)
                            token = codec.format.spec if codec.format else None
                            first_format = first_format or token
                            if workers > 1 and token not in blobs:
                                blobs[token] = pickle.dumps(codec)
                        first = new_file = False
                        if workers == 1:
                            assert codec is not None
                            record(encode_for_archive(codec, data, item.source))
                        else:
                            pool.submit(encode_job, token, blobs[token], Handed(data), item.source, then=record)
                        del data  # held by the worker's queue until sent, no longer here
                        bar.advance(stream.consumed - read)  # input read (the chunks encode behind it)
                        read = stream.consumed
                except OSError as exc:
                    raise InputError(f"cannot read: {exc.strerror or exc}", path=item.source) from exc
                finally:
                    if item.source != STDIN:
                        stream.close()
            pool.flush()
        fmt = first_format or "<Content>"
        writer.finish(fmt)
        out.flush()
        size = out.tell()
    return CompressReport(
        str(archive), len(items), chunks, lines, total_in, size, time.perf_counter() - start, fmt,
        len(templates), columnar, fallbacks,
    )


def _restored_mode(entry) -> int | None:
    """The permission bits a restored file gets: the archived ones within the umask (None: not archived)."""
    return None if entry.mode is None else entry.mode & 0o777 & ~current_umask()


def _restore_meta(path: Path, entry) -> None:
    """Give a restored file the permission bits (within the umask) and modification time it was archived with."""
    if entry.mode is not None:
        os.chmod(path, _restored_mode(entry))
    if entry.mtime_ns is not None:
        os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))


def _iter_file(reader: ArchiveReader, file_index: int) -> Iterator[bytes | memoryview]:
    """The chunks of a file, decoded as :func:`~lakeshrink.codecs.logs.parallel.decode_plan` says for its size,
    as views of Arrow's buffers where they can be (written out as they are: no copy into ``bytes``)."""
    plan = decode_plan([reader.index.chunks[c].raw_bytes for c in reader.index.files[file_index].chunks])
    return reader.iter_file(file_index, plan.workers, threads=plan.threads, copy=False)


def decompress_archive(archive: str | os.PathLike[str], output: str | os.PathLike[str], *, overwrite: bool = False) -> DecompressReport:
    """Write back the exact bytes: one file archived gives the file ``output``; several, a directory."""
    start = time.perf_counter()
    total = 0
    output = Path(output)
    with ArchiveReader(archive) as reader:
        files = reader.index.files
        if len(files) == 1:
            if (output.exists() or output.is_symlink()) and not overwrite:
                raise InputError("output already exists", path=output, hint="remove it or pass --overwrite")
            with atomic_file(output, mode=_restored_mode(files[0])) as tmp:
                with open(tmp, "wb") as out:
                    for data in _iter_file(reader, 0):
                        out.write(data)
                        total += len(data)
                _restore_meta(tmp, files[0])
        else:
            try:
                with atomic_dir(output, overwrite=overwrite) as tmp_dir:
                    for i, entry in enumerate(files):  # paths were validated with the index (relative, unique)
                        target = tmp_dir / entry.path
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with open(target, "xb") as out:
                            for data in _iter_file(reader, i):
                                out.write(data)
                                total += len(data)
                        _restore_meta(target, entry)
            except FileExistsError as exc:
                raise InputError("output already exists", path=output, hint="remove it or pass --overwrite") from exc
    return DecompressReport(str(archive), str(output), len(files), total, time.perf_counter() - start)


class LocalCompressor:
    """The local engine's :class:`~lakeshrink.codecs.logs.ports.LogCompressor`: :func:`compress_files`."""

    def __init__(self, engine: object = None):
        self.engine = engine

    def compress_files(self, inputs: Sequence[str], archive: str | os.PathLike[str],
                       config: CodecConfig | None = None, *, overwrite: bool = False,
                       exclude: Sequence[str] = ()) -> CompressReport:
        return compress_files(inputs, archive, config, overwrite=overwrite, exclude=exclude)
