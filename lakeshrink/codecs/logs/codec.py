"""``LogCodec``: the Arrow API of log template compression, holding the header format and template store.

Example:
    >>> import pyarrow as pa
    >>> codec = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>"))
    >>> lines = pa.array(["2024-01-01 10:00:00 INFO open file a.txt", "2024-01-01 10:00:01 INFO open file b.txt"])
    >>> table = codec.encode(lines)
    >>> table.column("template").to_pylist()
    ['open file <*>', 'open file <*>']
    >>> codec.decode(table).equals(lines)
    True
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.chunk import ChunkResult, decode_chunk, encode_chunk
from lakeshrink.codecs.logs.events import detection_sample
from lakeshrink.codecs.logs.header import (
    CONTENT,
    FormatError,
    KnownFormat,
    LogFormat,
    detect_format,
    known_format,
    parse_format,
    split_header,
)
from lakeshrink.codecs.logs.lines import extract_params, fill_template, template_literals
from lakeshrink.codecs.logs.miner import DEFAULT_MASKS, UUID_MASK, MinerConfig, TemplateMiner
from lakeshrink.codecs.logs.packing import PackOptions

if TYPE_CHECKING:  # pyarrow is imported by the Arrow API only: the CLI starts faster without it
    import pyarrow as pa

STORE_VERSION = 1
#: Lines read from the start of an input to detect its format (continuation lines are dropped from them first).
DETECTION_SCAN = 2000
DEFAULT_CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class CodecConfig:
    """Settings of a :class:`LogCodec`.

    Args:
        format: a Loghub-style format string, the name of a known format (``"HDFS"``), or None to detect it
            from the first lines.
        level: zstd level (1-22) for every column; LZMA2 is tried as well unless ``try_lzma`` is false.
        lzma_preset: LZMA2 preset (0-9) of the columns' sections; whole chunks are always tried at 9e.
        chunk_bytes: target chunk size; peak memory grows with it (about 20x while a chunk is encoded).
        max_line_bytes: longer lines are refused (:class:`~lakeshrink.errors.InputError`); 0 for no limit.
        allow_binary: store inputs that look like binary data instead of refusing them.
        masks, similarity, depth: Drain settings; None takes them from the known format, else defaults.
        workers: processes encoding chunks in parallel (0: one per core, at most 4, or ``$LAKESHRINK_WORKERS``);
            each worker's template miner learns from the chunks it encodes.
    """

    format: str | None = None
    level: int = 19
    try_lzma: bool = True
    lzma_preset: int = 6
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    max_line_bytes: int = 4 << 20
    allow_binary: bool = False
    masks: tuple[str, ...] | None = None
    similarity: float | None = None
    depth: int | None = None
    workers: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 22:
            raise ValueError(f"level must be in 1..22, got {self.level}")
        if self.chunk_bytes < 1024:
            raise ValueError(f"chunk_bytes must be at least 1024, got {self.chunk_bytes}")

    @property
    def pack_options(self) -> PackOptions:
        return PackOptions(zstd_level=self.level, try_lzma=self.try_lzma, lzma_preset=self.lzma_preset)


class LogCodec:
    """Header format + template store (a Drain miner); encodes chunks of bytes or Arrow arrays of lines.

    The store grows as data is encoded; :meth:`to_bytes` / :meth:`from_bytes` carry it to Spark executors.
    """

    def __init__(self, config: CodecConfig | None = None):
        self.config = config or CodecConfig()
        self._format: LogFormat | None = None
        self._known: KnownFormat | None = None
        self.miner: TemplateMiner | None = None
        if self.config.format is not None:
            fmt = parse_format(self.config.format)
            known = next((k for k in _known() if k.spec == fmt.spec), None)
            self._set_format(fmt, known)

    # ------------------------------------------------------------------------------------------- format
    def _set_format(self, fmt: LogFormat, known: KnownFormat | None) -> None:
        self._format, self._known = fmt, known
        cfg = self.config
        self.miner = TemplateMiner(
            MinerConfig(
                masks=cfg.masks if cfg.masks is not None else ((UUID_MASK, *known.masks) if known else DEFAULT_MASKS),
                similarity=cfg.similarity if cfg.similarity is not None else (known.similarity if known else 0.5),
                depth=cfg.depth if cfg.depth is not None else (known.depth if known else 4),
            )
        )

    @property
    def format(self) -> LogFormat | None:
        return self._format

    @property
    def known_format(self) -> KnownFormat | None:
        return self._known

    def ensure_format(self, sample: list[str] | pl.Series, *, path: str | None = None) -> LogFormat:
        """Detect the format from ``sample`` unless one is set; check that a given format matches something."""
        if not isinstance(sample, pl.Series):
            sample = detection_sample(sample)  # continuation lines (stack frames) left out
        if self._format is None:
            fmt, known = detect_format(sample)
            self._set_format(fmt, known)
        elif self.config.format is not None and len(sample):
            lines = sample if isinstance(sample, pl.Series) else pl.Series("l", list(sample), dtype=pl.String)
            if not split_header(self._format, lines.str.strip_chars_end("\r")).matched.any():
                raise FormatError(
                    f"the log format {self._format.spec!r} matches none of the first {len(lines)} lines",
                    path=path,
                    hint="check the format string, or leave --format out to detect it",
                )
        assert self._format is not None
        return self._format

    # -------------------------------------------------------------------------------------------- chunks
    def encode_chunk(self, data: bytes) -> ChunkResult:
        """Encode one chunk of bytes (whole lines); the result is checked to decode to ``data``."""
        if self._format is None:
            sample = data[: 1 << 16].decode("utf-8", "replace").split("\n")[:DETECTION_SCAN]
            self.ensure_format(sample)
        assert self._format is not None and self.miner is not None
        return encode_chunk(data, self._format, self.miner, self.config.pack_options)

    @staticmethod
    def decode_chunk(payload: bytes) -> bytes:
        return decode_chunk(payload)

    # ------------------------------------------------------------------------------------------- arrow API
    def encode(self, lines: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Encode lines (string or UTF-8 binary, no ``\\n``) into columns, one row per line.

        Columns: ``cr`` (the line ended with ``\\r``), one per header part (fields by name, separators as
        ``_gap<k>``; null where the header did not match), ``template_id`` and ``template`` (null when the
        content is kept whole), ``params`` (list of strings), and ``line`` (the whole line when the header did
        not match). :meth:`decode` gives the lines back exactly.
        """
        series = _to_series(lines)
        if self._format is None:
            self.ensure_format(series.head(200))
        assert self._format is not None and self.miner is not None
        cr = series.str.ends_with("\r").fill_null(False)
        text = series.str.strip_suffix("\r")
        split = split_header(self._format, text)
        matched = split.matched
        content_group = next((p.group for p in self._format.parts if p.name == CONTENT), None)
        out: dict[str, pl.Series] = {"cr": cr}
        for part in self._format.parts:
            name = part.name if part.kind == "field" else f"_{part.name}"
            out[name] = pl.select(pl.when(pl.lit(matched)).then(pl.lit(split.parts[part.group])))[:, 0].alias(name)
        n = len(series)
        ids: list[int | None] = [None] * n
        params: list[list[str] | None] = [None] * n
        if content_group is not None and matched.any():
            rows = matched.arg_true()
            contents = split.parts[content_group].gather(rows)
            cluster = self.miner.add(contents)
            frame = pl.DataFrame({"c": contents, "id": cluster, "r": rows})
            for (cid,), group in frame.partition_by("id", as_dict=True).items():
                ok, groups = extract_params(self.miner.template(cid), group["c"])
                values = groups.select(pl.concat_list(pl.all()).alias("p"))["p"].to_list()
                for r, good, vals in zip(group["r"].to_list(), ok.to_list(), values):
                    if good:
                        ids[r], params[r] = cid, vals
        id_series = pl.Series("template_id", ids, dtype=pl.Int64)
        out["template_id"] = id_series
        out["template"] = pl.Series("template", [self.miner.template(i) if i is not None else None for i in ids], dtype=pl.String)
        out["params"] = pl.Series("params", params, dtype=pl.List(pl.String))
        if content_group is not None:
            name = CONTENT
            out[name] = pl.select(pl.when(id_series.is_null()).then(pl.lit(out[name])))[:, 0].alias(name)
        out["line"] = pl.select(pl.when(~matched).then(pl.lit(text)))[:, 0].alias("line")
        return pl.DataFrame(out).to_arrow()

    def decode(self, table: pa.Table) -> pa.Array:
        """Inverse of :meth:`encode`: the exact lines, as a string array."""
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if self._format is None:
            raise FormatError("decode needs the format the table was encoded with (set CodecConfig.format)")
        contents = []
        for tpl, vals in zip(frame["template"].to_list(), frame["params"].to_list()):
            if tpl is None:
                contents.append(None)
            else:
                literals = template_literals(tpl)
                contents.append(fill_template(literals, [pl.Series([v]) for v in vals], 1)[0])
        content = pl.Series("c", contents, dtype=pl.String)
        parts = []
        for part in self._format.parts:
            name = part.name if part.kind == "field" else f"_{part.name}"
            column = frame[name]
            if part.name == CONTENT:
                column = column.fill_null(content)
            parts.append(column.fill_null(""))
        joined = pl.DataFrame({f"c{i}": p for i, p in enumerate(parts)}).select(pl.concat_str(pl.all()).alias("l"))["l"]
        joined = pl.select(pl.when(pl.lit(frame["line"]).is_not_null()).then(pl.lit(frame["line"])).otherwise(pl.lit(joined)))[:, 0]
        lines = pl.select(pl.when(pl.lit(frame["cr"])).then(pl.lit(joined) + "\r").otherwise(pl.lit(joined)))[:, 0]
        import pyarrow as pa

        return lines.to_arrow().cast(pa.string())

    def templates(self) -> list[str]:
        return self.miner.templates() if self.miner is not None else []

    # ------------------------------------------------------------------------------------------- store
    def to_bytes(self) -> bytes:
        """The codec's settings, format and template store (versioned)."""
        fmt = self._format.spec if self._format is not None else None
        miner = self.miner.to_bytes() if self.miner is not None else None
        return pickle.dumps((STORE_VERSION, self.config, fmt, miner))

    @classmethod
    def from_bytes(cls, data: bytes) -> LogCodec:
        version, config, fmt, miner = pickle.loads(data)
        if version != STORE_VERSION:
            raise ValueError(f"template store version {version} is not supported (expected {STORE_VERSION})")
        codec = cls(replace(config, format=fmt) if fmt is not None else config)
        if miner is not None:
            codec.miner = TemplateMiner.from_bytes(miner)
        return codec


def _known() -> tuple[KnownFormat, ...]:
    from lakeshrink.codecs.logs.header import known_formats

    return known_formats()


def _to_series(lines: pa.Array | pa.ChunkedArray) -> pl.Series:
    import pyarrow as pa

    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if pa.types.is_binary(lines.type) or pa.types.is_large_binary(lines.type):
        try:
            lines = lines.cast(pa.string())
        except pa.ArrowInvalid as exc:
            from lakeshrink.errors import InputError

            raise InputError(f"lines must be UTF-8 for the Arrow API ({exc}); use the archive API for raw bytes") from exc
    series = pl.from_arrow(lines)
    assert isinstance(series, pl.Series)
    return series.cast(pl.String).fill_null("")


__all__ = ["CodecConfig", "LogCodec", "known_format"]
