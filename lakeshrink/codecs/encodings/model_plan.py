"""Plans made by the cost model: from column statistics, or from a decision remembered for the same schema.

The choices themselves are :mod:`~lakeshrink.codecs.encodings.rules`'; this module turns them into an
:class:`~lakeshrink.codecs.encodings.plan.EncodingPlan` (no size estimates: the model does not measure), and
rebuilds such a plan for another table of the same key from :mod:`~lakeshrink.codecs.encodings.decisions`: the
same plan a fresh advice of that table makes when its choices are the same (reasons, sample size and notes all
describe that table), with the statistics behind the reasons computed only if a reason is read.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.decisions import Decision
from lakeshrink.codecs.encodings.plan import ColumnChoice, EncodingPlan, SortKey, plan_settings
from lakeshrink.codecs.encodings.profiles import ReaderProfile
from lakeshrink.codecs.encodings.rules import choice_text, model_choice
from lakeshrink.codecs.encodings.sample import Sample
from lakeshrink.codecs.encodings.schema import LeafColumn, SchemaFacts, needs_arrow_schema
from lakeshrink.codecs.encodings.stats import ColumnStats
from lakeshrink.codecs.encodings.trial import MAX_ROWS_PER_PAGE
from lakeshrink.units import human_bytes

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeshrink.codecs.encodings.advisor import AdvisorConfig

FOOTER_READ_BYTES = 64 * 1024  # Arrow's Parquet reader fetches a file's last 64 KiB to find the footer
# (parquet/file_reader.cc, kDefaultFooterReadSize): a smaller file is read whole by that first read


def statistics_setting(sample: Sample) -> tuple[bool, tuple[str, ...]]:
    """Whether to write statistics, and a note when not: they cannot save a read of a file that small."""
    held = _held_bytes(sample)
    return held > FOOTER_READ_BYTES, _statistics_note(held)


def _held_bytes(sample: Sample) -> float:
    """Bytes the whole table holds in memory (the sample is contiguous: its buffers are its size)."""
    return sample.table.get_total_buffer_size() * sample.scale


def statistics_kept(sample: Sample, chunks: Sequence[pa.Array] | None = None) -> bool:
    """Whether to write statistics (:func:`statistics_setting`, without its note).

    ``chunks``, when given, are the sample table's columns, each its one chunk (its own arrays, not copies:
    :func:`~.schema.column_arrays`). Their buffers are then counted column by column first: the table's count
    (``Table.get_total_buffer_size``) counts a buffer two columns share once, so it lies between the largest
    column's and the sum of all, and a largest column past :data:`FOOTER_READ_BYTES`, or a sum within it,
    decides without it. (The table's count first checks
    that every column is in CPU memory through a Python wrapper per column: more work than the rest of a small
    table's statistics setting.) Only in between is the table counted, as the one record batch it is.
    """
    if chunks is not None:
        scale, total = sample.scale, 0
        for chunk in chunks:
            size = chunk.get_total_buffer_size()
            if size * scale > FOOTER_READ_BYTES:
                return True  # the table holds at least this column's buffers
            total += size
        if total * scale <= FOOTER_READ_BYTES:
            return False  # the table holds at most every column's
        return counted_past_footer_read(sample)  # in between: the table's own count
    return _held_bytes(sample) > FOOTER_READ_BYTES


def counted_past_footer_read(sample: Sample) -> bool:
    """Whether the sample's table, counted as a whole, holds more than :data:`FOOTER_READ_BYTES` (scaled to the
    whole table): :func:`statistics_kept` between the largest column's count and the sum of all. When each
    column is its one chunk the table is one record batch of those very arrays (Arrow's TableBatchReader slices
    nothing then), counted the same way without the table's check of every column."""
    batches = sample.table.to_batches()
    if len(batches) == 1:
        return batches[0].get_total_buffer_size() * sample.scale > FOOTER_READ_BYTES
    return _held_bytes(sample) > FOOTER_READ_BYTES


def _statistics_note(held: float) -> tuple[str, ...]:
    """The note of :func:`statistics_setting` for a table holding ``held`` bytes (none when statistics are kept)."""
    if held > FOOTER_READ_BYTES:
        return ()
    return (f"no statistics: the table holds {human_bytes(int(held))} in memory, "
            f"less than the {_FOOTER_READ} a reader fetches to find the footer, so they could "
            "not save a read (page headers and footer would carry each column's bounds twice)",)


_FOOTER_READ = human_bytes(FOOTER_READ_BYTES)


Notes = tuple[str, ...] | Callable[[], tuple[str, ...]]
"""A plan's notes, or a zero-argument callable that makes them when first read."""


def plan_of_choices(
    columns: tuple[ColumnChoice, ...],
    sample: Sample,
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: Notes,
    int96: bool,
    *,
    writer: str = "pyarrow",
    facts: SchemaFacts | None = None,
    chunks: Sequence[pa.Array] | None = None,
    statistics: bool | None = None,
) -> EncodingPlan:
    """The plan of the model's ``columns``, its notes (``notes``, then the profile, how it was chosen and why
    statistics are dropped, if they are) made when first read: a rewrite reads none. ``chunks``: the sample
    table's columns, each its one chunk, when the caller has them (see :func:`statistics_kept`); ``statistics``:
    whether to write statistics, when the caller has already decided it (:func:`statistics_kept`)."""
    statistics = statistics_kept(sample, chunks) if statistics is None else statistics
    made_notes = functools.partial(_model_notes, notes, profile, sample.total_rows, sample.rows, len(columns),
                                   config.trial_factor, None if statistics else sample)
    store_schema = facts.store_schema if facts is not None else needs_arrow_schema(sample.table.schema, int96=int96)
    settings = plan_settings(config.objective, profile.name, store_schema, writer, 1024 * 1024, MAX_ROWS_PER_PAGE)
    return EncodingPlan.of_settings(settings, columns, sample.total_rows, sample.rows, sorting, int96, made_notes,
                                    statistics)


def _model_notes(
    notes: Notes, profile: ReaderProfile, total_rows: int, sample_rows: int, leaves: int, trial_factor: int,
    unkept: Sample | None,
) -> tuple[str, ...]:
    """A model plan's notes (:func:`plan_of_choices`); ``unkept``: the sample, when statistics are not written (its
    table counted for the note's figure)."""
    first = notes() if callable(notes) else notes
    return (first + (_profile_note(profile), _how(total_rows, sample_rows, leaves, trial_factor))
            + (_statistics_note(_held_bytes(unkept)) if unkept is not None else ()))


def _rule_choice(
    leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile, total_rows: int
) -> tuple[Candidate, str, tuple[str, ...]]:
    """The model's candidate for one leaf within ``profile``, its reason, and the readers that turned away what
    ``latest`` would have written instead."""
    wanted, choice = model_choice(leaf, stats, profile, total_rows)
    return choice.pick.candidate, choice_text(leaf, wanted, choice, stats, total_rows), choice.refused_by


def _reason(stats: ColumnStats, why: str) -> str:
    return f"{stats.describe()}: {why}"


def rule_reason(leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile, total_rows: int) -> str:
    """The reason of a column the model chose (made when first read: a rewrite reads none)."""
    return _reason(stats, _rule_choice(leaf, stats, profile, total_rows)[1])


def _profile_note(profile: ReaderProfile) -> str:
    note = profile.memo.get("model_plan.note")
    if note is None:
        note = profile.memo["model_plan.note"] = f"reader profile {profile.describe()}"  # type: ignore[assignment]
    return note  # type: ignore[return-value]


def _how(total_rows: int, sample_rows: int, leaves: int, trial_factor: int) -> str:
    return (f"{total_rows:,} rows x {leaves} columns: chosen by the cost model from column statistics "
            f"(of {sample_rows:,} rows), without trial encodes (on a table under {trial_factor}x its sample "
            "they would cost more than a few % of the rewrite)")


def plan_by_rules(
    sample: Sample,
    leaves: tuple[LeafColumn, ...],
    stats: Mapping[str, ColumnStats],
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: Notes,
    int96: bool,
    *,
    facts: SchemaFacts | None = None,
    chunks: Sequence[pa.Array] | None = None,
) -> EncodingPlan:
    """A plan from the cost model: statistics alone (no trial encodes, no size estimates).

    Each column also gets the model's choice under ``latest``: where the profile turned it away, the column
    names the readers that did (``constrained_by``) and its reason what ``latest`` would write instead.
    ``facts`` are those of the sample's schema, when the caller has them (:func:`~.schema.schema_facts`).
    ``notes`` (the caller's, first in the plan's) may be a callable: they are made when first read. ``chunks``:
    the sample table's columns, each its one chunk, when the caller has them (:func:`statistics_kept`).
    """
    rows = sample.total_rows
    choices = tuple(model_column(leaf, stats[leaf.path], profile, rows) for leaf in leaves)
    return plan_of_choices(choices, sample, profile, config, sorting, notes, int96, facts=facts, chunks=chunks)


def model_column(leaf: LeafColumn, stats: ColumnStats, profile: ReaderProfile, total_rows: int) -> ColumnChoice:
    """The model's choice for one leaf within ``profile`` (:func:`plan_by_rules`), its reason made when first read
    (a rewrite reads none)."""
    choice = model_choice(leaf, stats, profile, total_rows)[1]
    reason = functools.partial(rule_reason, leaf, stats, profile, total_rows)
    return ColumnChoice.modelled(leaf, choice.pick.candidate, reason, choice.refused_by)


class _Reasons:
    """The reasons of a reused decision's columns, made from the statistics of the table the plan is for, when
    the first of them is read (the statistics are what a fresh advice of that table computes: the same sample)."""

    def __init__(self, decision: Decision, sample: Sample, leaves: tuple[LeafColumn, ...], profile: ReaderProfile,
                 stats_of: Callable[[Sample, tuple[LeafColumn, ...]], Mapping[str, ColumnStats]]):
        self._args: tuple | None = (decision, sample, leaves, profile, stats_of)
        self._text: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, path: str) -> str:
        with self._lock:
            if self._args is not None:
                self._text = self._make(*self._args)
                self._args = None  # the sample is no longer held
        return self._text[path]

    @staticmethod
    def _make(decision: Decision, sample: Sample, leaves: tuple[LeafColumn, ...], profile: ReaderProfile,
              stats_of: Callable[[Sample, tuple[LeafColumn, ...]], Mapping[str, ColumnStats]]) -> dict[str, str]:
        stats = stats_of(sample, leaves)
        out = {}
        for leaf, (kept, _) in zip(leaves, decision.columns):
            candidate, why, _ = _rule_choice(leaf, stats[leaf.path], profile, sample.total_rows)
            if candidate != kept:  # another table of the key: its own statistics would choose otherwise
                why = (f"{kept.key}, the cost model's choice for an earlier table of the same schema, "
                       f"settings and size class ({decision.rows:,} rows) in this process, kept; this table's "
                       f"statistics alone would give {candidate.key} ({why})")
            out[leaf.path] = _reason(stats[leaf.path], why)
        return out


def plan_from_decision(
    decision: Decision,
    sample: Sample,
    leaves: tuple[LeafColumn, ...],
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: Notes,
    int96: bool,
    stats_of: Callable[[Sample, tuple[LeafColumn, ...]], Mapping[str, ColumnStats]],
    *,
    facts: SchemaFacts | None = None,
) -> EncodingPlan:
    """The cost model's plan for ``sample``'s table, with the choices of an earlier table of the same key.

    ``sample`` is the sample a fresh advice of the table takes (``stats_of`` its statistics, as the fresh advice
    computes them); ``sorting`` must already be verified on the table. The plan is the one a fresh advice makes
    when its model picks the same choices (the same table advised twice gives the same plan, JSON and checksum):
    the reasons describe this table, from its statistics, computed only when a reason is first read; a column
    whose choice this table's statistics would not make says so in its reason.
    """
    reasons = _Reasons(decision, sample, leaves, profile, stats_of)
    columns = tuple(ColumnChoice.modelled(leaf, candidate, functools.partial(reasons.of, leaf.path), who)
                    for leaf, (candidate, who) in zip(leaves, decision.columns))
    return plan_of_choices(columns, sample, profile, config, sorting, notes, int96, writer=decision.writer, facts=facts)
