"""The encoding advisor: per-column Parquet settings chosen from trial encodes of a sample.

For each leaf column the advisor samples the table in stratified contiguous runs (BtrBlocks, Kuschewski et al.,
SIGMOD 2023), computes cheap statistics, trial-encodes the sample with every setting legal for the column's
physical type (dictionary, PLAIN, RLE, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
BYTE_STREAM_SPLIT; NONE, SNAPPY, LZ4, ZSTD at several levels), scales the measured sizes to the whole table and
picks by an objective:

* ``size``: the smallest estimate;
* ``speed``: the fastest to decode (ties within 10% go to the smaller);
* ``balanced`` (default): the smallest among those that decode within ``budget`` times the fastest, or no slower
  than the column's zstd-everywhere setting (so never estimated larger than zstd everywhere).

Sizes within ``tolerance`` (1%) of the smallest count as equal and the setting cheapest to write wins.

Trials cost about 20 writes of the sample: more than the rewrite itself on tables of up to millions of rows. With
``balanced`` they are only run on tables of at least ``trial_factor`` (256) times the sample's rows; smaller tables
are advised by the cost model of :mod:`~lakeshrink.codecs.encodings.rules` from the sample's statistics alone.

The VLDB'23 evaluation of Parquet and ORC (Zeng et al., "An Empirical Evaluation of Columnar Storage Formats",
VLDB 2023) found that the writers' defaults waste space on real distributions (dictionary tried first on
high-cardinality floats; no DELTA encodings for sorted integers); this advisor measures instead of assuming.

Size scaling: data pages scale with rows (sample -> table). A dictionary page scales with the number of distinct
values, so when the whole column's distinct count is known it is scaled by ``full NDV / sample NDV``; and when
that dictionary would exceed pyarrow's 1 MiB dictionary page limit, the writer falls back to PLAIN, so the
estimate becomes the PLAIN one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings import duckdb_writer
from lakeshrink.codecs.encodings.candidates import (
    Candidate,
    CandidateSpace,
    candidates_for,
    default_candidate,
    zstd_candidate,
)
from lakeshrink.codecs.encodings.plan import OBJECTIVES, ColumnChoice, EncodingPlan, SortKey
from lakeshrink.codecs.encodings.profiles import DEFAULT_PROFILE, ReaderProfile, encoding_name, resolve_profile
from lakeshrink.codecs.encodings.decisions import Decision, decision_key, recall, remember
from lakeshrink.codecs.encodings.model_plan import (
    FOOTER_READ_BYTES,
    rule_reason,
    plan_by_rules,
    plan_from_decision,
    plan_of_choices,
    counted_past_footer_read,
    statistics_kept,
    statistics_setting,
)
from lakeshrink.codecs.encodings.rules import SMALL_TABLE_CELLS, TRIAL_FACTOR, model_choice
from lakeshrink.codecs.encodings.sample import MIN_WIDE_ROWS, Sample, SampleConfig, take_sample
from lakeshrink.codecs.encodings.schema import (
    LeafColumn,
    SchemaFacts,
    column_arrays,
    leaf_arrays,
    leaf_columns,
    needs_arrow_schema,
    schema_facts,
)
from lakeshrink.codecs.encodings.source import (
    declared_sorting,
    int96_of,
    open_input,
    read_row_group_sample,
    sorting_of,
    total_rows,
    uses_int96,
)
from lakeshrink.codecs.encodings.sorting import find_sorted, noted, sorting_note, still_sorted
from lakeshrink.codecs.encodings.stats import ColumnStats, column_stats, estimate_distinct
from lakeshrink.codecs.encodings.trial import MAX_ROWS_PER_PAGE, TrialResult, footer_overhead, run_trials
from lakeshrink.errors import InputError
from lakeshrink.units import human_bytes

READ_FACTOR = 16  # a path is advised from row groups holding at least 16x the sample's rows (or all of it)
DICTIONARY_PAGE_LIMIT = 1024 * 1024  # pyarrow's dictionary_pagesize_limit default
MAX_ROW_GROUP_ROWS = 64 * 1024 * 1024  # pyarrow caps row groups at 64 Mi rows
DUCKDB_TRY_FACTOR = 16  # the cost model tries DuckDB's writer on tables of at least 16x the sample's rows


@dataclass(frozen=True)
class AdvisorConfig:
    """How the advisor samples, what it tries and what it optimises.

    Attributes:
        objective: ``size``, ``speed`` or ``balanced``.
        budget: for ``balanced``, allowed decode time as a multiple of the column's fastest candidate.
        slack_seconds: absolute decode-time slack added to the budget (timer noise on small samples).
        sample: sampling settings.
        space: codecs and zstd levels tried.
        repeats: decode timing repetitions (minimum kept).
        exact_ndv: count distinct values of whole columns when the whole table is at hand (exactly up to
            250,000 values, estimated above).
        row_group_bytes: target compressed bytes per row group for the row-group advice.
        declare_sorted: declare ``sorting_columns`` for a column found sorted over the whole table.
        tolerance: sizes within this fraction of the smallest count as equal, and the candidate cheapest to
            write among them wins (a higher zstd level must save more than this to be chosen).
        emulate_levels: estimate ZSTD levels above 1 from ``zstandard`` compressions of the uncompressed trial
            (fast, see :mod:`~lakeshrink.codecs.encodings.trial`) instead of writing each level.
        readers: the reader profile the output must open in (``--readers``: ``portable``, the default, every
            engine of :mod:`~lakeshrink.codecs.encodings.profiles`; ``latest``; or reader names joined by commas).
        small_table_cells: with the ``balanced`` objective, a whole table of at most this many rows x leaf
            columns is always advised by the cost model (:mod:`~lakeshrink.codecs.encodings.rules`) from its
            statistics, not trial encodes (0: always trial-encode; ``size`` and ``speed`` always measure).
        trial_factor: with ``balanced``, trial encodes are run only on tables of at least this many times the
            sample's rows, where they cost a few % of a rewrite; smaller tables get the cost model too.
        other_writers: also try DuckDB's writer on the sample when the profile allows V2 data pages, and name
            it the plan's writer when it is smaller (:mod:`~lakeshrink.codecs.encodings.duckdb_writer`).
        reuse_decisions: a table the cost model advises reuses the choices made earlier in this process for a
            table of the same schema, settings and size class, without computing statistics
            (:mod:`~lakeshrink.codecs.encodings.decisions`).
    """

    objective: str = "balanced"
    budget: float = 2.0
    slack_seconds: float = 20e-6
    sample: SampleConfig = field(default_factory=SampleConfig)
    space: CandidateSpace = field(default_factory=CandidateSpace)
    repeats: int = 3
    exact_ndv: bool = True
    row_group_bytes: int = 128 * 1024 * 1024
    declare_sorted: bool = True
    tolerance: float = 0.01
    emulate_levels: bool = True
    readers: str = DEFAULT_PROFILE
    small_table_cells: int = SMALL_TABLE_CELLS
    trial_factor: int = TRIAL_FACTOR
    other_writers: bool = True
    reuse_decisions: bool = True

    def __post_init__(self) -> None:
        resolve_profile(self.readers)  # raises on an unknown reader name
        if self.objective not in OBJECTIVES:
            raise InputError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.budget < 1.0:
            raise InputError(f"budget must be at least 1.0 (a multiple of the fastest decode), got {self.budget}")
        if self.repeats < 1:
            raise InputError(f"repeats must be at least 1, got {self.repeats}")


@dataclass(frozen=True)
class Estimate:
    """A candidate's whole-table size estimate and sample decode time."""

    candidate: Candidate
    bytes: int
    decode_seconds: float | None
    falls_back: bool = False


def estimate(
    trial: TrialResult, candidate: Candidate, stats: ColumnStats, scale: float, plain_bytes: int | None
) -> Estimate:
    """Scale one trial result from the sample to the whole table (see the module docstring)."""
    if not candidate.dictionary or scale == 1.0:
        return Estimate(candidate, int(round(trial.bytes * scale)), trial.decode_seconds)
    data = trial.bytes - trial.dict_bytes
    dict_scale = scale
    full = stats.full_distinct
    if full is not None and stats.distinct > 0:
        dict_scale = min(scale, max(1.0, full / stats.distinct))
        if full * (stats.width + 4) > DICTIONARY_PAGE_LIMIT and plain_bytes is not None:
            return Estimate(candidate, plain_bytes, trial.decode_seconds, True)
    return Estimate(candidate, int(round(data * scale + trial.dict_bytes * dict_scale)), trial.decode_seconds)


_WRITE_COST = {"NONE": 0, "LZ4": 1, "SNAPPY": 1, "ZSTD": 2}


def _write_cost(c: Candidate) -> tuple[int, int]:
    return _WRITE_COST[c.compression], c.level or 0


def _cheapest_close(pool: list[Estimate], tolerance: float) -> Estimate:
    """The smallest estimate, or a cheaper-to-write one (lower codec/level) within ``tolerance`` of its size."""
    best = min(pool, key=lambda e: (e.bytes, e.candidate.key))
    close = [e for e in pool if e.bytes <= best.bytes * (1 + tolerance)]
    return min(close, key=lambda e: (_write_cost(e.candidate), e.bytes, e.candidate.key))


def choose(
    estimates: list[Estimate],
    objective: str,
    *,
    budget: float,
    slack: float,
    reference: Candidate | None = None,
    tolerance: float = 0.0,
) -> tuple[Estimate, str]:
    """Pick one estimate by ``objective``; also return a short note on the decode-time rule applied.

    With ``tolerance``, a size within that fraction of the smallest counts as equal and the one cheapest to
    write wins (NONE, then LZ4/SNAPPY, then ZSTD by level): level 19 is slow to write and must earn its keep.

    For ``balanced``, a candidate is allowed when it decodes within ``budget`` times the fastest (plus ``slack``)
    *or* no slower than ``reference`` (zstd everywhere) does: the reference itself is always allowed, so the pick
    is never estimated larger than zstd everywhere, and nothing that decodes as fast as it is turned away.
    """
    by_size = sorted(estimates, key=lambda e: (e.bytes, e.decode_seconds or 0.0, e.candidate.key))
    timed = [e for e in estimates if e.decode_seconds is not None]
    if objective == "size" or not timed:
        return _cheapest_close(estimates, tolerance), ""
    fastest = min(e.decode_seconds for e in timed)  # type: ignore[type-var]
    if objective == "speed":
        close = [e for e in timed if e.decode_seconds <= fastest * 1.10 + slack / 4]  # type: ignore[operator]
        return min(close, key=lambda e: (e.bytes, e.candidate.key)), "fastest decode"
    limit = fastest * budget + slack
    ref = next((e for e in timed if e.candidate == reference), None)
    if ref is not None:
        limit = max(limit, ref.decode_seconds)  # type: ignore[type-var]
    allowed = [e for e in timed if e.decode_seconds <= limit]  # type: ignore[operator]
    pick = _cheapest_close(allowed, tolerance)
    note = ""
    if by_size[0].bytes < pick.bytes / (1 + tolerance):
        note = f"smallest ({by_size[0].candidate.key}) decodes over {budget:g}x the fastest and slower than zstd"
    return pick, note


def _constraint(profile: ReaderProfile, leaf: LeafColumn, pick: Estimate, latest: Estimate) -> tuple[str, ...]:
    """Readers of ``profile`` that turned away the pick ``latest`` (no constraint) would have made."""
    if not profile.readers or latest.candidate == pick.candidate or latest.bytes >= pick.bytes:
        return ()
    return profile.candidate_refused_by(latest.candidate, leaf.physical_type)


def _constraint_note(leaf: LeafColumn, pick: Estimate, latest: Estimate, who: tuple[str, ...]) -> str:
    if not who:
        return ""
    c = latest.candidate
    what = f"{encoding_name(c)} on {leaf.physical_type}" if not c.dictionary else "dictionary"
    return (f"{', '.join(who)} cannot read {c.key} ({what}); latest would take ~{human_bytes(latest.bytes)} "
            f"({latest.bytes / pick.bytes - 1:+.0%})")


def _reason(stats: ColumnStats, pick: Estimate, default: Estimate | None, note: str) -> str:
    text = f"{stats.describe()}: {pick.candidate.key} ~{human_bytes(pick.bytes)}"
    if default is not None and default.bytes > 0:
        text += f" vs default ~{human_bytes(default.bytes)} ({pick.bytes / default.bytes:.2f}x)"
    if pick.falls_back or (default is not None and default.falls_back):
        text += "; dictionary would overflow its 1 MiB page and fall back to PLAIN"
    if note:
        text += f"; {note}"
    return text


def _row_group_rows(total_bytes: int, rows: int, target: int) -> int | None:
    if rows == 0 or total_bytes <= 0:
        return None
    per_row = total_bytes / rows
    advised = int(min(MAX_ROW_GROUP_ROWS, max(64 * 1024, target / per_row)))
    return None if advised >= rows else advised


def by_model(config: AdvisorConfig, sample_rows: int, total_rows: int, leaves: int) -> bool:
    """Whether a table is advised by the cost model rather than trial encodes (see :class:`AdvisorConfig`).

    The size test is against the sample the trials would take (``config.sample``), whatever sample the model
    itself is given (it needs fewer rows: :data:`MODEL_MIN_ROWS`).
    """
    if config.objective != "balanced" or config.small_table_cells <= 0:
        return False
    if sample_rows == total_rows and sample_rows * leaves <= config.small_table_cells:
        return True
    sampling = config.sample
    # that sample holds at least min(rows, min_rows, MIN_WIDE_ROWS) rows: a table under trial_factor times that is
    # the model's without working the sample out (a table of thousands of rows)
    if total_rows < config.trial_factor * max(1, min(total_rows, sampling.min_rows, MIN_WIDE_ROWS)):
        return True
    return total_rows < config.trial_factor * max(1, sampling.target_rows(total_rows, leaves))


MODEL_MIN_ROWS = 2_048  # the cost model's statistics need fewer rows than trial encodes: 1% of the table within
MODEL_MAX_ROWS = 8_192  # 2,048-8,192 rows gave the same choices as 8,192-32,768 (and 4,096-8,192) rows on every
# benchmark table under both profiles, in less time (statistics of `weather`'s sample: 2.6 ms against 3.4 ms)


def _model_sampling(sampling: SampleConfig) -> SampleConfig:
    """The sample the cost model takes: ``sampling`` within :data:`MODEL_MIN_ROWS`-:data:`MODEL_MAX_ROWS` rows
    (the last settings' found by identity: the default settings are one object, and hashing the dataclass for a
    cache cost more than the look-up saved)."""
    global _LAST_MODEL_SAMPLING
    last = _LAST_MODEL_SAMPLING
    if last is not None and last[0] is sampling:
        return last[1]
    found = _model_sampling_of(sampling)
    _LAST_MODEL_SAMPLING = (sampling, found)  # (one tuple: read and replaced whole by any thread)
    return found


@functools.lru_cache(maxsize=16)
def _model_sampling_of(sampling: SampleConfig) -> SampleConfig:
    return replace(sampling, min_rows=min(sampling.min_rows, MODEL_MIN_ROWS),
                   max_rows=min(sampling.max_rows, max(MODEL_MAX_ROWS, sampling.min_rows, MODEL_MIN_ROWS)))


_LAST_MODEL_SAMPLING: tuple[SampleConfig, SampleConfig] | None = None


def sample_stats(
    sample: Sample, leaves: tuple[LeafColumn, ...], full_distinct: Mapping[str, int | None] | None = None,
    *, facts: SchemaFacts | None = None, columns: list[pa.Array] | None = None,
) -> dict[str, ColumnStats]:
    """Statistics of every leaf of the sample (:func:`~lakeshrink.codecs.encodings.stats.column_stats`);
    ``facts`` are those of the sample's schema, when the caller has them; ``columns``, each column as one array
    when the caller has them and each column is its own leaf (:func:`~.schema.column_arrays`)."""
    arrays = (dict(zip([leaf.path for leaf in leaves], columns)) if columns is not None
              else leaf_arrays(sample.table, leaves, facts=facts))
    full = full_distinct or {}
    return {leaf.path: column_stats(arrays[leaf.path], full_distinct=full.get(leaf.path)) for leaf in leaves}


def advise_sample(
    sample: Sample,
    leaves: tuple[LeafColumn, ...] | None = None,
    *,
    config: AdvisorConfig | None = None,
    full_distinct: Mapping[str, int | None] | None = None,
    sorting: tuple[SortKey, ...] = (),
    notes: tuple[str, ...] = (),
    int96: bool = False,
    stats: Mapping[str, ColumnStats] | None = None,
) -> EncodingPlan:
    """Choose settings from a sample whose whole table has ``sample.total_rows`` rows.

    This is the engine-independent core: the local advisor and the Spark advisor both end here.

    Args:
        sample: the sampled rows and the whole table's row count.
        leaves: the Parquet leaves (computed from the sample's schema when omitted).
        config: advisor settings.
        full_distinct: leaf path -> distinct values of the whole column, when known.
        sorting: a sort order to declare (already verified or declared by the input).
        notes: remarks to carry into the plan.
        int96: timestamps are kept as legacy INT96 (the input stores them so).
        stats: the sample's statistics when already computed (:func:`sample_stats` with ``full_distinct``).
    """
    config = config or AdvisorConfig()
    profile = resolve_profile(config.readers)
    leaves = leaves if leaves is not None else leaf_columns(sample.table.schema, int96=int96)
    full_distinct = full_distinct or {}
    if stats is None:
        stats = sample_stats(sample, leaves, full_distinct)
    if by_model(config, sample.rows, sample.total_rows, len(leaves)):
        if sample.rows < sample.total_rows:  # distinct counts of the whole table, estimated from the sample's own
            stats = {p: st if st.full_distinct is not None else st.with_full_distinct(functools.partial(st.chao1, sample.total_rows))
                     for p, st in stats.items()}  # (as _model_stats does)
        plan = plan_by_rules(sample, leaves, stats, profile, config, sorting, notes, int96)
        # DuckDB's writer is tried on the sample only where that costs a few % of the rewrite (16x the rows)
        return _choose_writer(plan, sample.table, profile) if _writer_tried(config, sample) else plan
    candidates = {leaf.path: candidates_for(leaf, config.space) for leaf in leaves}
    for leaf in leaves:  # the baselines are always measured, for the "vs default" figures
        extra = tuple(c for c in (default_candidate(leaf), zstd_candidate(leaf)) if c not in candidates[leaf.path])
        candidates[leaf.path] = candidates[leaf.path] + extra
    space_keys = {leaf.path: set(candidates_for(leaf, config.space)) for leaf in leaves}
    trials = run_trials(sample.table, leaves, candidates, time_decode=config.objective != "size", repeats=config.repeats,
                        emulate_levels=config.emulate_levels)
    scale = sample.scale
    choices = []
    for leaf in leaves:
        st = stats[leaf.path]
        results = trials[leaf.path]
        plain = {c.compression + str(c.level): r for c, r in results.items() if c.encoding == "PLAIN"}
        ests = {}
        for cand, trial in results.items():
            plain_trial = plain.get(cand.compression + str(cand.level))
            plain_bytes = int(round(plain_trial.bytes * scale)) if plain_trial is not None else None
            ests[cand] = estimate(trial, cand, st, scale, plain_bytes)
        pool = [e for c, e in ests.items() if c in space_keys[leaf.path]]
        allowed = [e for e in pool if profile.allows(e.candidate, leaf.physical_type)]
        if not allowed:
            raise InputError(f"no setting tried for column {leaf.path!r} can be read by {profile.describe()} "
                             f"(codecs tried: {', '.join(config.space.codecs)})")
        kwargs = dict(budget=config.budget, slack=config.slack_seconds, reference=zstd_candidate(leaf),
                      tolerance=config.tolerance)
        pick, note = choose(allowed, config.objective, **kwargs)
        latest = choose(pool, config.objective, **kwargs)[0] if len(allowed) < len(pool) else pick
        who = _constraint(profile, leaf, pick, latest)
        note = "; ".join(n for n in (note, _constraint_note(leaf, pick, latest, who)) if n)
        default = ests.get(default_candidate(leaf))
        zstd = ests.get(zstd_candidate(leaf))
        choices.append(ColumnChoice.of(
            leaf, pick.candidate,
            estimated_bytes=pick.bytes,
            default_bytes=default.bytes if default else None,
            zstd_bytes=zstd.bytes if zstd else None,
            decode_seconds=pick.decode_seconds,
            reason=_reason(st, pick, default, note),
            latest_bytes=min(latest.bytes, pick.bytes),
            constrained_by=who,
        ))
    total = sum(c.estimated_bytes or 0 for c in choices)
    store_schema = needs_arrow_schema(sample.table.schema, int96=int96)
    rg_rows = _row_group_rows(total, sample.total_rows, config.row_group_bytes)
    rg_note = (f"row groups of {rg_rows:,} rows (~{human_bytes(config.row_group_bytes)} compressed each)" if rg_rows
               else "one row group: the table fits the row-group target")
    profile_note = f"reader profile {profile.describe()}"
    schema_note = ("the Arrow schema is stored in the footer (Parquet types alone would not restore it)" if store_schema
                   else "no copy of the Arrow schema in the footer: Parquet's own types restore it exactly")
    if profile.unverified:
        profile_note += f"; not checked against a real reader (from documentation): {', '.join(profile.unverified)}"
    statistics, stats_note = statistics_setting(sample)
    plan = EncodingPlan(
        columns=tuple(choices),
        objective=config.objective,
        rows=sample.total_rows,
        sample_rows=sample.rows,
        row_group_size=rg_rows,
        data_page_size=1024 * 1024,
        sorting_columns=sorting,
        int96_timestamps=int96,
        overhead_bytes=footer_overhead(sample.table, leaves, store_schema=store_schema)
        * max(1, -(-sample.total_rows // rg_rows) if rg_rows else 1),
        notes=notes + (profile_note, schema_note, rg_note,
                       "data pages of 1 MiB (pyarrow's default; smaller pages only help point lookups), without "
                       "pyarrow's cap of 20,000 rows a page (it multiplies page headers on columns that encode "
                       "to almost nothing)") + stats_note,
        readers=profile.name,
        statistics=statistics,
        store_schema=store_schema,
        max_rows_per_page=MAX_ROWS_PER_PAGE,
    )
    plan = _choose_page_version(plan, sample.table, profile)
    return _choose_writer(plan, sample.table, profile) if config.other_writers else plan


PAGE_V2_MARGIN = 0.005  # V2 data pages must write the sample 0.5% smaller to be chosen (V1 is read everywhere)


def _choose_page_version(plan: EncodingPlan, table: pa.Table, profile: ReaderProfile) -> EncodingPlan:
    """The plan with V2 data pages when the profile allows them and they write the sample smaller (measured:
    one write of the sample per version, the trial path only, where that costs well under 1% of a rewrite)."""
    if not profile.allows_page_version("2.0") or table.num_rows == 0:
        return plan
    sizes = {}
    for version in ("1.0", "2.0"):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **replace(plan, data_page_version=version).writer_kwargs(table.schema))
        sizes[version] = sink.getvalue().size
    v1, v2 = sizes["1.0"], sizes["2.0"]
    if v2 < v1 * (1 - PAGE_V2_MARGIN):
        return replace(plan, data_page_version="2.0", notes=plan.notes + (
            f"data pages V2: the sample wrote {v2:,} B against {v1:,} B with V1 pages",))
    return replace(plan, notes=plan.notes + (f"data pages V1: the sample wrote {v1:,} B against {v2:,} B with V2 "
                                             "pages (V1 is read by every engine)",))


def _choose_writer(plan: EncodingPlan, table: pa.Table, profile: ReaderProfile) -> EncodingPlan:
    """The plan with DuckDB as its writer when DuckDB writes the sample smaller within the profile."""
    scale = plan.rows / table.num_rows if table.num_rows else 1.0
    sizes = duckdb_writer.compare_on_sample(table, plan.writer_kwargs(table.schema), profile, scale)
    if sizes is None:
        return plan
    mine, duck = sizes
    if duck >= mine * (1 - duckdb_writer.MARGIN):
        return replace(plan, notes=plan.notes + (f"DuckDB's writer was tried on the sample: ~{human_bytes(duck)} "
                                                 f"against ~{human_bytes(mine)} with these settings; pyarrow writes it",))
    return replace(plan, writer=duckdb_writer.WRITER, notes=plan.notes + (
        f"DuckDB's writer (V2 pages, ZSTD-{duckdb_writer.LEVEL}) would take ~{human_bytes(duck)} (from the sample) "
        f"against ~{human_bytes(mine)} with the per-column settings ({duck / mine - 1:+.0%}): DuckDB writes this table, "
        "checked against the profile and read back; pyarrow with the settings below if its file would not do",))



def advise_table(
    table: pa.Table,
    *,
    config: AdvisorConfig | None = None,
    sorting: tuple[SortKey, ...] = (),
    notes: tuple[str, ...] = (),
    int96: bool = False,
    total_rows: int | None = None,
    schema: pa.Schema | None = None,
) -> EncodingPlan:
    """Advise on an in-memory Arrow table (the whole table is at hand: distinct counts and sortedness are exact).

    ``total_rows`` says the table is only a part (whole row groups) of a larger one with that many rows: sizes
    are then scaled to it, distinct counts estimated, and no sort order is declared that was not declared.
    ``schema`` is ``table.schema`` when the caller already holds that object (its facts, looked up last, are then
    found by identity: ``table.schema`` makes a new object each time, compared field by field).
    """
    facts = schema_facts(schema if schema is not None else table.schema, int96=int96)  # one look-up
    return _advise_table(table, config or AdvisorConfig(), sorting, notes, int96, total_rows, facts)


def advise_read(table: pa.Table, footer: pq.FileMetaData, *, config: AdvisorConfig | None = None) -> EncodingPlan:
    """:func:`advise_table` of the rows of one Parquet file read whole, with the footer read with them: the sort
    order the file declares and whether it stores timestamps as INT96 are taken from that footer
    (:func:`~.source.sorting_of`, :func:`~.source.int96_of`; INT96 is looked for only when the schema holds a
    timestamp), and the schema's facts are looked up once for both (``table.schema`` is a new object each time:
    the look-up compares it with the last schema, field by field)."""
    schema = table.schema
    facts = schema_facts(schema)
    int96 = facts.timestamps and int96_of(footer)
    if int96:
        facts = schema_facts(schema, int96=True)  # (the same object: found by identity)
    return _advise_table(table, config or AdvisorConfig(), sorting_of(footer), (), int96, None, facts)


def _advise_table(
    table: pa.Table,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
    total_rows: int | None,
    facts: SchemaFacts,
) -> EncodingPlan:
    """:func:`advise_table` with the facts of the table's schema (and ``int96``) looked up."""
    leaves = facts.leaves
    whole = total_rows is None or total_rows <= table.num_rows
    rows = table.num_rows if whole else total_rows
    sampling = config.sample
    model = by_model(config, -1, rows, len(leaves))
    key = decision_key(leaves, config, rows, whole) if model and config.reuse_decisions else None
    known = recall(key) if key is not None else None
    if model:
        sampling = _model_sampling(sampling)
        if (known is None and whole and facts.one_leaf_per_column and 0 < rows <= 2 * sampling.min_rows
                and rows * len(leaves) <= sampling.max_cells):  # the sample would be the table itself
            plan = _small_by_model(table, leaves, config, key, sorting, notes, int96, facts)
            if plan is not None:
                return plan
    sample = take_sample(table, sampling, num_leaves=len(leaves))
    if not whole:
        sample = Sample(sample.table, total_rows)  # type: ignore[arg-type]
    if known is not None:
        return _reuse(known, table, sample, leaves, config, sorting, notes, int96, whole, facts)
    if model:
        return _by_model(table, sample, leaves, config, key, sorting, notes, int96, whole, facts)
    full: dict[str, int | None] = {}
    if (config.exact_ndv and sample.rows < sample.total_rows
            and not by_model(config, sample.rows, sample.total_rows, len(leaves))):  # the model estimates from the sample
        for path, arr in leaf_arrays(table, leaves).items():
            full[path] = estimate_distinct(arr, total_rows=sample.total_rows)
    stats = sample_stats(sample, leaves, full)
    found: tuple[SortKey, ...] = ()
    if not sorting and config.declare_sorted and whole:
        sorting = found = find_sorted(table, sample.table, leaves, stats)
    notes = notes + sorting_note(sorting, found)
    plan = advise_sample(sample, leaves, config=config, full_distinct=full, sorting=sorting, notes=notes, int96=int96,
                         stats=stats)
    if key is not None and plan.estimated_bytes is None and not _writer_tried(config, sample):
        _remember_model(key, plan, rows, found)
    return plan


def _by_model(
    table: pa.Table,
    sample: Sample,
    leaves: tuple[LeafColumn, ...],
    config: AdvisorConfig,
    key: Hashable | None,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
    whole: bool,
    facts: SchemaFacts | None = None,
) -> EncodingPlan:
    """:func:`advise_table`'s plan for a table the cost model advises (what :func:`advise_sample` makes of the
    same sample and statistics, without asking again what the caller knows: the model, the profile, no whole
    column's distinct counts), remembered under ``key`` when a later advice could make every figure of it
    again."""
    # each column as one array, when each is its own leaf: the statistics' arrays, and, when they are the table's
    # own chunks, what the statistics setting counts the bytes of (model_plan.statistics_kept)
    columns, own = column_arrays(sample.table) if facts is not None and facts.one_leaf_per_column else (None, False)
    chunks = columns if own else None
    stats = _model_stats(sample, leaves, facts, columns)
    found: tuple[SortKey, ...] = ()
    if not sorting and config.declare_sorted and whole:
        sorting = found = find_sorted(table, sample.table, leaves, stats, facts)
    profile = resolve_profile(config.readers)
    plan = plan_by_rules(sample, leaves, stats, profile, config, sorting,
                         functools.partial(noted, notes, sorting, found), int96, facts=facts, chunks=chunks)
    if _writer_tried(config, sample):  # DuckDB's writer is tried where that costs a few % of the rewrite
        return _choose_writer(plan, sample.table, profile)
    if key is not None:
        _remember_model(key, plan, sample.total_rows, found)
    return plan


def _remember_model(key: Hashable, plan: EncodingPlan, rows: int, found: tuple[SortKey, ...]) -> None:
    """Remember a cost-model plan whose every figure a later advice can make again, for ``key``: its settings,
    not its reasons (a reused decision makes its own, and theirs would keep this sample)."""
    columns = tuple((c.candidate, c.constrained_by) for c in plan.columns)
    remember(key, Decision.of(columns, plan.writer, rows, found[0].path if found else None))


def _small_by_model(
    table: pa.Table,
    leaves: tuple[LeafColumn, ...],
    config: AdvisorConfig,
    key: Hashable | None,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
    facts: SchemaFacts,
) -> EncodingPlan | None:
    """:func:`_by_model`'s plan for a whole table small enough to be its own sample (at most twice the model's
    fewest sample rows; not empty) whose columns are each its own leaf, made in one pass over the columns: each
    column is taken once, as its one chunk, and its statistics, its choice and its buffers' bytes (what
    :func:`~.model_plan.statistics_kept` counts) are worked out there, instead of a pass for the arrays, one for
    the statistics, one for the choices and one for the bytes, each with its own look-ups. The same statistics,
    sort order, choices and plan (DuckDB's writer is never tried on a table that is its own sample, and the
    decision is remembered as :func:`_by_model` remembers it). ``None``, nothing made, when a column has several
    chunks (the caller takes the general path)."""
    rows = table.num_rows
    profile = resolve_profile(config.readers)
    stats: dict[str, ColumnStats] = {}
    columns: list[ColumnChoice] = []
    decided: list[tuple[Candidate, tuple[str, ...]]] = []  # what a decision remembers of each column
    kept, total = False, 0
    for leaf, column in zip(leaves, table.columns):
        if column.num_chunks != 1:
            return None
        chunk = column.chunk(0)
        stats[leaf.path] = st = column_stats(chunk)
        choice = model_choice(leaf, st, profile, rows)[1]  # (model_plan.model_column's choice, made in place)
        candidate, refused = choice.pick.candidate, choice.refused_by
        columns.append(ColumnChoice.modelled(leaf, candidate, functools.partial(rule_reason, leaf, st, profile, rows),
                                             refused))
        decided.append((candidate, refused))
        size = chunk.get_total_buffer_size()
        kept = kept or size > FOOTER_READ_BYTES
        total += size
    sample = Sample.of(table, rows)
    if not kept and total > FOOTER_READ_BYTES:  # in between: the table's own count (columns counted above)
        kept = counted_past_footer_read(sample)
    found: tuple[SortKey, ...] = ()
    if not sorting and config.declare_sorted:
        sorting = found = find_sorted(table, table, leaves, stats, facts)
    plan = plan_of_choices(tuple(columns), sample, profile, config, sorting,
                           functools.partial(noted, notes, sorting, found), int96, facts=facts, statistics=kept)
    if key is not None:
        remember(key, Decision.of(tuple(decided), plan.writer, rows, found[0].path if found else None))
    return plan


def _writer_tried(config: AdvisorConfig, sample: Sample) -> bool:
    """Whether the cost model tries DuckDB's writer on this sample (only where that costs a few % of the
    rewrite: 16x the rows). Its note gives the sizes it measured on this table's sample, which a decision reused
    for another table could not give: such plans are not remembered."""
    return config.other_writers and sample.total_rows >= DUCKDB_TRY_FACTOR * sample.rows



def _reuse(
    known: Decision,
    table: pa.Table,
    sample: Sample,
    leaves: tuple[LeafColumn, ...],
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
    whole: bool,
    facts: SchemaFacts | None = None,
) -> EncodingPlan:
    """The plan of a table whose key has a remembered decision (:mod:`~lakeshrink.codecs.encodings.decisions`):
    its choices, with the sort order checked on this table's rows (only the column found sorted before), and
    reasons made from this table's sample if they are read (:func:`~.model_plan.plan_from_decision`)."""
    found: tuple[SortKey, ...] = ()
    if not sorting and config.declare_sorted and whole:
        sorting = found = still_sorted(table, known.sorted_path)
    return plan_from_decision(known, sample, leaves, resolve_profile(config.readers), config, sorting,
                              functools.partial(noted, notes, sorting, found), int96, _model_stats, facts=facts)


def _model_stats(
    sample: Sample, leaves: tuple[LeafColumn, ...], facts: SchemaFacts | None = None,
    columns: list[pa.Array] | None = None,
) -> dict[str, ColumnStats]:
    """The statistics the cost model chooses from (:func:`advise_sample`): the sample's, with distinct counts of
    the whole table estimated from it when it is a part (``facts``: of the sample's schema, when at hand;
    ``columns``: see :func:`sample_stats`)."""
    stats = sample_stats(sample, leaves, facts=facts, columns=columns)
    if sample.rows < sample.total_rows:
        stats = {p: st if st.full_distinct is not None else st.with_full_distinct(functools.partial(st.chao1, sample.total_rows))
                 for p, st in stats.items()}
    return stats


@functools.lru_cache(maxsize=1)
def _default_config() -> AdvisorConfig:
    """The default settings, one object (immutable): a decision's key hashes it once, not per advice."""
    return AdvisorConfig()


def advisor_config(config: AdvisorConfig | None, objective: str | None, readers: str | None = None) -> AdvisorConfig:
    """``config`` (default settings when ``None``) with ``objective`` and ``readers`` put in, when given."""
    config = config or _default_config()
    if objective is not None:
        config = replace(config, objective=objective)
    if readers is not None:
        config = replace(config, readers=readers)
    return config


def to_arrow(data: Any) -> pa.Table:
    """Arrow table from a pyarrow Table/RecordBatch or a polars DataFrame (anything with ``to_arrow``)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow"):
        table = data.to_arrow()
        return table if isinstance(table, pa.Table) else pa.table(table)
    raise InputError(f"cannot advise on a {type(data).__name__}: give an Arrow table, a polars DataFrame or a path")


@dataclass(frozen=True)
class Advice:
    """A plan with what it cost to make."""

    plan: EncodingPlan
    seconds: float
    input_bytes: int | None = None


def advise(
    data: Any, *, objective: str | None = None, config: AdvisorConfig | None = None, readers: str | None = None
) -> Advice:
    """Advise per-column Parquet settings for an Arrow table, a polars DataFrame, or a Parquet file/directory.

    Args:
        data: a ``pa.Table``, ``pa.RecordBatch``, ``polars.DataFrame``, or a path to a Parquet file or directory.
        objective: ``size``, ``speed`` or ``balanced`` (overrides ``config.objective``).
        config: advisor settings.
        readers: reader profile the output must open in (overrides ``config.readers``; default ``portable``).

    Returns:
        The plan and the seconds spent (reading a path included). A large path is not read whole: evenly spaced
        row groups holding at least 16 times the sample's rows are (see
        :func:`~lakeshrink.codecs.encodings.source.read_row_group_sample`).

    Example:
        >>> import pyarrow as pa
        >>> advice = advise(pa.table({"id": list(range(10_000))}), objective="size")
        >>> advice.plan.columns[0].encoding
        'DELTA_BINARY_PACKED'
    """
    config = advisor_config(config, objective, readers)
    start = time.perf_counter()
    if isinstance(data, (str, Path)):
        source = open_input(data)
        rows = total_rows(source)
        table, _ = read_row_group_sample(source, config.sample.target_rows(rows) * READ_FACTOR)
        first = source.path(source.files[0])
        sorting = declared_sorting(first) if len(source.files) == 1 else ()
        plan = advise_table(table, config=config, sorting=sorting, int96=uses_int96(first), total_rows=rows)
        return Advice(plan, time.perf_counter() - start, source.bytes)
    plan = advise_table(to_arrow(data), config=config)
    return Advice(plan, time.perf_counter() - start)



class LocalAdvisor:
    """The local engine's :class:`~lakeshrink.codecs.encodings.ports.EncodingAdvisor`: :func:`advise` on a path."""

    def __init__(self, engine: Any = None):
        self.engine = engine

    def advise_path(self, path: str, *, objective: str | None = None, readers: str | None = None) -> Advice:
        return advise(Path(path), objective=objective, readers=readers)
