"""Writing one Arrow table to one Parquet file with a plan's settings (shared by the rewriters of plain Parquet
(:mod:`.writer`) and of table formats (:mod:`lakeshrink.tables.rewrite`), so neither imports the other)."""

from __future__ import annotations

import logging
import os

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings import duckdb_writer
from lakeshrink.codecs.encodings.plan import EncodingPlan
from lakeshrink.codecs.encodings.profiles import resolve_profile
from lakeshrink.errors import InputError

logger = logging.getLogger(__name__)


def write_table_file(
    table: pa.Table, path: str | os.PathLike[str], plan: EncodingPlan, *, where: str | os.PathLike[str] | None = None
) -> None:
    """Write ``table`` to ``path`` (not atomically) with the plan's settings, checked against the schema first.

    ``where`` names the data in errors (the input file of a rewrite; default ``path``).
    """
    schema = table.schema  # one object for the look-ups of its facts below (found by identity after the first)
    plan.check(schema, where=where or path)
    plan.check_data(table, where=where or path)
    if plan.writer == duckdb_writer.WRITER:
        why_not = duckdb_writer.write_checked(table, path, resolve_profile(plan.readers), row_group_rows=plan.row_group_size)
        if why_not is None:
            return
        logger.info("%s: writing with pyarrow instead: %s", where or path, why_not)
    kwargs = plan.writer_kwargs(schema)
    try:
        pq.write_table(table, path, **kwargs)
    except (pa.ArrowException, ValueError) as exc:  # the plan is checked; this would be a pyarrow refusal
        raise InputError(f"pyarrow refused to write with the plan: {exc}", path=path) from exc
