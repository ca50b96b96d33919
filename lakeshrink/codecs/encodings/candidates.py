"""The writer settings that are legal for a Parquet leaf column, as pyarrow 26 accepts them.

Legal encodings per physical type (Parquet format spec, "Encodings"; pyarrow's C++ writer enforces them):

============================  =================================================================
physical type                 encodings (besides dictionary, which falls back to PLAIN)
============================  =================================================================
BOOLEAN                       PLAIN, RLE (pyarrow never dictionary-encodes booleans)
INT32, INT64                  PLAIN, DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT
FLOAT, DOUBLE                 PLAIN, BYTE_STREAM_SPLIT
BYTE_ARRAY                    PLAIN, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
FIXED_LEN_BYTE_ARRAY          PLAIN, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT
INT96                         PLAIN
dictionary-typed Arrow data   PLAIN only (pyarrow rejects other encodings for dictionary arrays)
============================  =================================================================

Codecs: NONE, SNAPPY, LZ4 (LZ4_RAW in the file) and ZSTD at a few levels. Only ZSTD takes a level here (pyarrow
rejects a level for snappy). A :class:`Candidate` is one combination; :func:`candidates_for` lists those a leaf
may use. Nothing outside this table is ever produced, so no plan can make pyarrow raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakeshrink.codecs.encodings.schema import LeafColumn
from lakeshrink.errors import InputError

ENCODINGS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "BOOLEAN": ("PLAIN", "RLE"),
    "INT32": ("PLAIN", "DELTA_BINARY_PACKED", "BYTE_STREAM_SPLIT"),
    "INT64": ("PLAIN", "DELTA_BINARY_PACKED", "BYTE_STREAM_SPLIT"),
    "FLOAT": ("PLAIN", "BYTE_STREAM_SPLIT"),
    "DOUBLE": ("PLAIN", "BYTE_STREAM_SPLIT"),
    "BYTE_ARRAY": ("PLAIN", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY"),
    "FIXED_LEN_BYTE_ARRAY": ("PLAIN", "DELTA_BYTE_ARRAY", "BYTE_STREAM_SPLIT"),
    "INT96": ("PLAIN",),
}
CODECS: tuple[str, ...] = ("NONE", "SNAPPY", "LZ4", "ZSTD")
LEVELLED_CODECS: frozenset[str] = frozenset({"ZSTD"})


@dataclass(frozen=True, order=True)
class Candidate:
    """One writer setting for a leaf: dictionary on (``encoding`` None, falls back to PLAIN) or an encoding,
    plus a codec and, for ZSTD, a level."""

    dictionary: bool
    encoding: str | None
    compression: str
    level: int | None = None

    def __post_init__(self) -> None:
        if self.compression not in CODECS:
            raise InputError(f"unknown compression {self.compression!r}; expected one of {', '.join(CODECS)}")
        if self.dictionary and self.encoding is not None:
            raise InputError("a dictionary-encoded column takes no other encoding (pyarrow needs dictionary off)")
        if not self.dictionary and self.encoding is None:
            raise InputError("an encoding is needed when the dictionary is off")
        if self.level is not None and self.compression not in LEVELLED_CODECS:
            raise InputError(f"{self.compression} takes no compression level")

    @property
    def key(self) -> str:
        """Short name: ``dict/zstd-9``, ``DELTA_BINARY_PACKED/snappy``, ``PLAIN/none``."""
        codec = self.compression.lower() + (f"-{self.level}" if self.level is not None else "")
        return f"{'dict' if self.dictionary else self.encoding}/{codec}"

    def legal_for(self, leaf: LeafColumn) -> bool:
        if self.dictionary:
            return leaf.physical_type != "BOOLEAN"
        if leaf.dictionary:
            return self.encoding == "PLAIN"
        return self.encoding in ENCODINGS_BY_TYPE.get(leaf.physical_type, ("PLAIN",))


@dataclass(frozen=True)
class CandidateSpace:
    """Which codecs and levels the advisor tries.

    Attributes:
        codecs: codecs to try (from ``NONE``, ``SNAPPY``, ``LZ4``, ``ZSTD``).
        zstd_levels: ZSTD levels to try (1-22; higher is smaller and slower to write, decoding barely slower).
    """

    codecs: tuple[str, ...] = CODECS
    zstd_levels: tuple[int, ...] = (1, 6, 19)

    def __post_init__(self) -> None:
        unknown = [c for c in self.codecs if c not in CODECS]
        if unknown or not self.codecs:
            raise InputError(f"unknown codecs {unknown or '(none given)'}; expected some of {', '.join(CODECS)}")
        bad = [lv for lv in self.zstd_levels if not 1 <= lv <= 22]
        if bad or ("ZSTD" in self.codecs and not self.zstd_levels):
            raise InputError(f"zstd levels must be in 1..22, got {list(self.zstd_levels)}")

    def codec_settings(self) -> tuple[tuple[str, int | None], ...]:
        out: list[tuple[str, int | None]] = []
        for codec in self.codecs:
            if codec in LEVELLED_CODECS:
                out.extend((codec, level) for level in self.zstd_levels)
            else:
                out.append((codec, None))
        return tuple(out)


def candidates_for(leaf: LeafColumn, space: CandidateSpace | None = None) -> tuple[Candidate, ...]:
    """Every legal candidate for ``leaf`` within ``space``: dictionary and each legal encoding, times codecs."""
    space = space or CandidateSpace()
    if leaf.dictionary:
        encodings: tuple[str, ...] = ("PLAIN",)
    else:
        encodings = ENCODINGS_BY_TYPE.get(leaf.physical_type, ("PLAIN",))
    out = []
    for codec, level in space.codec_settings():
        if leaf.physical_type != "BOOLEAN":
            out.append(Candidate(True, None, codec, level))
        out.extend(Candidate(False, enc, codec, level) for enc in encodings)
    return tuple(out)


def default_candidate(leaf: LeafColumn) -> Candidate:
    """What ``pq.write_table`` does by default: dictionary (PLAIN for booleans) with snappy."""
    if leaf.physical_type == "BOOLEAN":
        return Candidate(False, "PLAIN", "SNAPPY")
    return Candidate(True, None, "SNAPPY")


def zstd_candidate(leaf: LeafColumn) -> Candidate:
    """``compression="zstd"`` everywhere, pyarrow's default level (1) and dictionary."""
    if leaf.physical_type == "BOOLEAN":
        return Candidate(False, "PLAIN", "ZSTD", 1)
    return Candidate(True, None, "ZSTD", 1)
