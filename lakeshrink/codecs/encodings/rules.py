"""Choices for small tables from statistics alone: no trial encodes.

Trial-encoding a table of a few thousand rows costs more than rewriting it (each candidate is a write and a
read). For such tables the choice is made by rules from the column statistics the advisor computes anyway
(:mod:`~lakeshrink.codecs.encodings.stats`), following what trials pick on real tables and the VLDB'23 study of
Parquet and ORC (Zeng et al., VLDB 2023: dictionary for low-cardinality columns, DELTA encodings for sorted or
slowly varying integers, BYTE_STREAM_SPLIT for high-cardinality floats; under ZSTD-19 a dictionary only pays for
very few long values, zstd finds short repeats in place), within the reader profile:

======================  ==============================================================================
physical type           rule
======================  ==============================================================================
BOOLEAN                 RLE
INT32, INT64            DELTA_BINARY_PACKED when sorted (90% of neighbours in order) or in runs; else
                        dictionary under 10% distinct; else PLAIN
FLOAT, DOUBLE           dictionary under 10% distinct; else BYTE_STREAM_SPLIT if the profile allows it,
                        else PLAIN
BYTE_ARRAY              dictionary for long strings (16 bytes and more) under 5% distinct; else
                        DELTA_BYTE_ARRAY when sorted (shared prefixes); else PLAIN
others                  dictionary under 10% distinct, else PLAIN
======================  ==============================================================================

Every column is compressed with ZSTD at level 19: on a small table the slowest level still writes in
milliseconds, and its decoding is as fast as level 1's. Sizes are not estimated (``None``): measuring them would
cost a write.
"""

from __future__ import annotations

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.profiles import ReaderProfile
from lakeshrink.codecs.encodings.schema import LeafColumn
from lakeshrink.codecs.encodings.stats import ColumnStats

SMALL_TABLE_CELLS = 100_000
"""With the default ``balanced`` objective, tables of at most this many rows x leaf columns are advised by rules
(trial encodes cost more than a rewrite); ``size`` and ``speed`` always measure."""
LEVEL = 19


def _pick(leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile) -> tuple[bool, str | None, str]:
    """(dictionary, encoding, why) for one leaf."""
    ptype = leaf.physical_type
    present = stats.values > stats.nulls
    ordered = stats.sorted_fraction is not None and stats.sorted_fraction >= 0.9
    wanted: list[tuple[bool, str | None, str]] = []
    if ptype == "BOOLEAN":
        wanted.append((False, "RLE", "booleans: RLE"))
    elif leaf.dictionary or ptype == "INT96":
        wanted.append((True, None, "dictionary-typed or INT96: dictionary"))
    elif ptype in ("INT32", "INT64"):
        if ordered or stats.mean_run >= 1.5:
            wanted.append((False, "DELTA_BINARY_PACKED", "sorted or in runs: DELTA_BINARY_PACKED"))
        if present and stats.ndv_ratio < 0.1:
            wanted.append((True, None, f"{stats.ndv_ratio:.0%} distinct: dictionary"))
    elif ptype in ("FLOAT", "DOUBLE"):
        if present and stats.ndv_ratio < 0.1:
            wanted.append((True, None, f"{stats.ndv_ratio:.0%} distinct: dictionary"))
        wanted.append((False, "BYTE_STREAM_SPLIT", "mostly distinct floats: BYTE_STREAM_SPLIT"))
    elif ptype == "BYTE_ARRAY":
        if present and stats.ndv_ratio < 0.05 and stats.width >= 16:
            wanted.append((True, None, f"{stats.ndv_ratio:.0%} distinct long strings: dictionary"))
        if ordered:
            wanted.append((False, "DELTA_BYTE_ARRAY", "sorted strings: DELTA_BYTE_ARRAY (shared prefixes)"))
    elif present and stats.ndv_ratio < 0.1:
        wanted.append((True, None, f"{stats.ndv_ratio:.0%} distinct: dictionary"))
    for dictionary, encoding, why in wanted:
        if dictionary or profile.allows_encoding(ptype, str(encoding)):
            return dictionary, encoding, why
    return False, "PLAIN", "PLAIN (zstd finds the repeats in place)"


def rule_candidate(leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile) -> tuple[Candidate, str]:
    """The candidate the rules give ``leaf`` within ``profile``, and why."""
    dictionary, encoding, why = _pick(leaf, stats, profile)
    codec = "ZSTD" if profile.allows_codec("ZSTD") else "SNAPPY" if profile.allows_codec("SNAPPY") else "NONE"
    candidate = Candidate(dictionary, encoding, codec, LEVEL if codec == "ZSTD" else None)
    return candidate, f"{why}; {codec.lower()}{f'-{LEVEL}' if codec == 'ZSTD' else ''} (small table: rules, no trials)"
