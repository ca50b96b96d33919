"""The sort order the advisor declares: the first flat column sorted ascending over the whole table and not
constant (``sorting_columns`` in the row-group metadata), and the note that says so.

Checked from the statistics of a sample that is the whole table when it can be (every neighbouring pair in order,
the first and last values different), else over the whole column (:func:`~.stats.is_sorted`: one pass, no
``min_max`` kernel).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pyarrow as pa

from lakeshrink.codecs.encodings.plan import SortKey
from lakeshrink.codecs.encodings.schema import LeafColumn, SchemaFacts, schema_memo, sortable_columns
from lakeshrink.codecs.encodings.stats import ColumnStats, is_sorted


def find_sorted(
    table: pa.Table, sample: pa.Table, leaves: tuple[LeafColumn, ...], stats: Mapping[str, ColumnStats],
    facts: SchemaFacts | None = None,
) -> tuple[SortKey, ...]:
    """The first flat column that is sorted ascending over the whole table and not constant.

    Only columns sorted in the sample (its statistics say so) are checked over the whole table. When the sample
    is the whole table its statistics already say it: every neighbouring pair of non-null values in order and
    more than one distinct value; only where the nulls lie is left to check. The columns whose type can be
    declared sorted are worked out once per schema (``facts``: ``table``'s schema's, when the caller has them).
    """
    whole = sample is table or sample.num_rows == table.num_rows  # (a small table is its own sample)
    sortable = facts.sortable if facts is not None else schema_memo("sortable", table.schema, sortable_columns)
    for name in sortable:
        seen = stats.get(name)
        order = seen.sorted_fraction if whole and seen is not None and seen.nulls == 0 else None  # (read once)
        if order is not None:
            # the sample is the table and holds no null: its statistics say all (the column is not touched)
            if order < 1.0:
                continue
            ends = seen.ends_differ()
            if ends is not None:
                if ends:
                    return ascending(name)
                continue
        column = table.column(name)
        if column.null_count == len(column):
            continue
        if seen is not None and seen.sorted_fraction is not None and seen.sorted_fraction < 1.0:
            continue  # out of order in the sample
        if whole and seen is not None and seen.sorted_fraction == 1.0:
            # the sample is the table: sorted, and not constant when its first and last values differ (no
            # distinct count needed: the cost model may never read it, a sorted integer column's for one)
            if nulls_at_an_end(column) and ends_differ(column, seen):
                return sort_key(column, name)
            continue
        if seen is not None and seen.values == len(column) and seen.distinct <= 1:
            continue  # constant over the whole table
        if is_sorted(column, varying=True):  # (not constant: one pass, no min_max kernel)
            return sort_key(column, name)
    return ()


def nulls_at_an_end(column: pa.ChunkedArray) -> bool:
    """Whether the nulls of ``column`` (if any) all lie at its start or all at its end."""
    k = column.null_count
    if k == 0:
        return True
    n = len(column)
    return column.slice(0, k).null_count == k or column.slice(n - k, k).null_count == k


def ends_differ(column: pa.ChunkedArray, stats: ColumnStats | None = None) -> bool:
    """Whether the first and last non-null values of ``column``, whose nulls (if any) lie at one end, differ
    (from ``stats`` of the whole column when they hold its values: no Arrow scalars)."""
    known = stats.ends_differ() if stats is not None else None
    if known is not None:
        return known
    k, n = column.null_count, len(column)
    if n - k < 2:
        return False
    first, last = (k, n - 1) if k and not column[0].is_valid else (0, n - k - 1)
    return column[first].as_py() != column[last].as_py()


def sort_key(column: pa.ChunkedArray, name: str) -> tuple[SortKey]:
    """``name`` as an ascending sort key, nulls first when ``column`` starts with one."""
    return ascending(name, column.null_count > 0 and not column[0].is_valid)


@functools.lru_cache(maxsize=1024)
def ascending(path: str, nulls_first: bool = False) -> tuple[SortKey]:
    """The sort order of ``path`` ascending, as a plan holds it (one key): one object per column name and null
    placement (immutable), not a frozen dataclass's ``__init__`` per advice (three ``object.__setattr__``)."""
    return (SortKey(path, False, nulls_first),)


def still_sorted(table: pa.Table, path: str | None) -> tuple[SortKey, ...]:
    """``path`` as the sort key when it is a column of ``table`` sorted over the whole table and not constant."""
    if path is None or path not in table.column_names:
        return ()
    column = table.column(path)
    return sort_key(column, path) if is_sorted(column, varying=True) else ()


def noted(notes: tuple[str, ...], sorting: tuple[SortKey, ...], found: tuple[SortKey, ...]) -> tuple[str, ...]:
    """``notes`` and the note on the sort order (a model plan's, made when its notes are first read)."""
    return notes + sorting_note(sorting, found)


def sorting_note(sorting: tuple[SortKey, ...], found: tuple[SortKey, ...]) -> tuple[str, ...]:
    if found:
        return (f"column {found[0].path!r} is sorted over the whole table: declared in sorting_columns",)
    return ("sort order declared by the input kept: " + ", ".join(k.path for k in sorting),) if sorting else ()
