"""Plans made by the cost model: from column statistics, or from a decision remembered for the same schema.

The choices themselves are :mod:`~lakeshrink.codecs.encodings.rules`'; this module turns them into an
:class:`~lakeshrink.codecs.encodings.plan.EncodingPlan` (no size estimates: the model does not measure), and
rebuilds such a plan for another table of the same key from :mod:`~lakeshrink.codecs.encodings.decisions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from lakeshrink.codecs.encodings.decisions import Decision
from lakeshrink.codecs.encodings.plan import ColumnChoice, EncodingPlan, SortKey
from lakeshrink.codecs.encodings.profiles import LATEST, ReaderProfile, encoding_name, resolve_profile
from lakeshrink.codecs.encodings.rules import rule_candidate
from lakeshrink.codecs.encodings.sample import Sample
from lakeshrink.codecs.encodings.schema import LeafColumn, needs_arrow_schema
from lakeshrink.codecs.encodings.stats import ColumnStats
from lakeshrink.codecs.encodings.trial import MAX_ROWS_PER_PAGE
from lakeshrink.units import human_bytes

if TYPE_CHECKING:
    from lakeshrink.codecs.encodings.advisor import AdvisorConfig

FOOTER_READ_BYTES = 64 * 1024  # Arrow's Parquet reader fetches a file's last 64 KiB to find the footer
# (parquet/file_reader.cc, kDefaultFooterReadSize): a smaller file is read whole by that first read


def statistics_setting(sample: Sample) -> tuple[bool, tuple[str, ...]]:
    """Whether to write statistics, and a note when not: they cannot save a read of a file that small."""
    held = sample.table.get_total_buffer_size() * sample.scale  # the sample is contiguous: its buffers are its size
    if held > FOOTER_READ_BYTES:
        return True, ()
    return False, (f"no statistics: the table holds {human_bytes(int(held))} in memory, "
                   f"less than the {human_bytes(FOOTER_READ_BYTES)} a reader fetches to find the footer, so they could "
                   "not save a read (page headers and footer would carry each column's bounds twice)",)


def _model_plan(
    columns: tuple[ColumnChoice, ...],
    sample: Sample,
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
    *,
    how: str,
    writer: str = "pyarrow",
    sample_rows: int | None = None,
) -> EncodingPlan:
    statistics, stats_note = statistics_setting(sample)
    return EncodingPlan(
        columns=columns, objective=config.objective, rows=sample.total_rows,
        sample_rows=sample.rows if sample_rows is None else sample_rows,
        data_page_size=1024 * 1024, sorting_columns=sorting, int96_timestamps=int96,
        notes=notes + (f"reader profile {profile.describe()}", how) + stats_note,
        readers=profile.name, store_schema=needs_arrow_schema(sample.table.schema, int96=int96),
        max_rows_per_page=MAX_ROWS_PER_PAGE, statistics=statistics, writer=writer,
    )


def plan_by_rules(
    sample: Sample,
    leaves: tuple[LeafColumn, ...],
    stats: Mapping[str, ColumnStats],
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
) -> EncodingPlan:
    """A plan from the cost model: statistics alone (no trial encodes, no size estimates).

    Each column also gets the model's choice under ``latest``: where the profile turned it away, the column
    names the readers that did (``constrained_by``) and its reason what ``latest`` would write instead.
    """
    choices = []
    unconstrained = resolve_profile(LATEST)
    for leaf in leaves:
        candidate, why = rule_candidate(leaf, stats[leaf.path], profile, sample.total_rows)
        who: tuple[str, ...] = ()
        if profile.readers:
            latest, _ = rule_candidate(leaf, stats[leaf.path], unconstrained, sample.total_rows)
            who = profile.candidate_refused_by(latest, leaf.physical_type) if latest != candidate else ()
            if who:
                why += (f"; {', '.join(who)} cannot read {encoding_name(latest)} on {leaf.physical_type}: latest "
                        f"would write {latest.key} (no size estimate: the model does not measure)")
        choices.append(ColumnChoice.of(leaf, candidate, reason=f"{stats[leaf.path].describe()}: {why}",
                                       constrained_by=who))
    how = (f"{sample.total_rows:,} rows x {len(leaves)} columns: chosen by the cost model from column statistics "
           f"(of {sample.rows:,} rows), without trial encodes (on a table under {config.trial_factor}x its sample "
           "they would cost more than a few % of the rewrite)")
    return _model_plan(tuple(choices), sample, profile, config, sorting, notes, int96, how=how)


def plan_from_decision(
    decision: Decision,
    sample: Sample,
    profile: ReaderProfile,
    config: AdvisorConfig,
    sorting: tuple[SortKey, ...],
    notes: tuple[str, ...],
    int96: bool,
) -> EncodingPlan:
    """The cost model's plan for ``sample``'s table, with the choices of an earlier table of the same key.

    ``sample`` is the table itself (no rows were sampled: ``sample_rows`` is 0); ``sorting`` must already be
    verified on it.
    """
    how = (f"{sample.total_rows:,} rows x {len(decision.columns)} columns: the cost model's choices for an earlier "
           f"table of the same schema, settings and size class ({decision.rows:,} rows) in this process, reused "
           "without computing statistics (reasons describe that table)")
    if decision.writer != "pyarrow":
        how += ("; DuckDB's writer, as for that table (its file is checked against the profile and read back; "
                "pyarrow with the settings below if it would not do)")
    return _model_plan(decision.columns, sample, profile, config, sorting, notes, int96, how=how,
                       writer=decision.writer, sample_rows=0)
