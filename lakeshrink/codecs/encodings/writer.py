"""Writing Parquet with an :class:`~lakeshrink.codecs.encodings.plan.EncodingPlan`, and rewriting existing files.

``write_parquet`` writes Arrow or polars data with a plan (advising one first when none is given).
``rewrite`` re-encodes a Parquet file or directory: every data file keeps its relative path (hive partitions
``key=value/`` stay), its rows in order, its schema and its key-value metadata; other files (``_SUCCESS``) are
copied. Each rewritten file is read back and compared with its input before anything is renamed into place, so a
rewrite either completes verified or leaves the target as it was (temporary path, then an atomic rename, via
:mod:`lakeshrink.fileio`).

A directory rewritten in place is never replaced as a whole: each data file is replaced by its verified
re-encoding, one atomic rename at a time, and nothing else in the directory is touched (folders such as
``_checkpoints/`` or ``.snapshots/``, other files, the directory's own mode and owner). At every moment each file
is either its old or its new encoding of the same rows, so a kill at any point leaves a complete table.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakeshrink.codecs.encodings.advisor import (
    AdvisorConfig,
    advise,
    advise_read,
    advise_table,
    advisor_config,
    to_arrow,
)
from lakeshrink.codecs.encodings.plan import EncodingPlan
from lakeshrink.codecs.encodings.plan_write import write_table_file  # noqa: F401  (re-exported)
from lakeshrink.codecs.encodings.profiles import resolve_profile
from lakeshrink.codecs.encodings.source import (
    foreign_entries,
    open_input,
    read_file,
    read_parquet,
    uses_int96,
)
from lakeshrink.codecs.encodings.verify import verify_equal
from lakeshrink.errors import InputError
from lakeshrink.fileio import atomic_dir, atomic_file, replace_file_in_place
from lakeshrink.progress import progress


@dataclass(frozen=True)
class WriteResult:
    """What :func:`write_parquet` wrote."""

    path: str
    bytes: int
    rows: int
    plan: EncodingPlan


def write_parquet(
    data: Any,
    path: str | os.PathLike[str],
    plan: EncodingPlan | None = None,
    *,
    objective: str | None = None,
    config: AdvisorConfig | None = None,
    verify: bool = False,
    readers: str | None = None,
) -> WriteResult:
    """Write an Arrow table, record batch or polars DataFrame to one Parquet file with per-column settings.

    Args:
        data: the rows (``pa.Table``, ``pa.RecordBatch`` or ``polars.DataFrame``).
        path: the file to write; replaced atomically (a temporary beside it, then a rename).
        plan: the settings; advised from ``data`` when omitted.
        objective: objective of that advice (``size``, ``speed``, ``balanced``; default ``config``'s).
        config: advisor settings of that advice.
        verify: read the file back and compare with ``data`` before the rename.
        readers: reader profile the file must open in (default ``portable``, see
            :mod:`~lakeshrink.codecs.encodings.profiles`): the advice stays inside it, and a given plan outside it
            is refused.

    Raises:
        InputError: ``plan`` uses a setting a reader of the profile cannot read.
        SchemaMismatch: the plan does not fit the data's schema.
        VerificationFailed: ``verify`` found a difference (nothing was written).
    """
    table = to_arrow(data)
    config = advisor_config(config, objective, readers)
    if plan is None:
        plan = advise_table(table, config=config)
    else:
        resolve_profile(config.readers).check_plan(plan, where=path)
    with atomic_file(path) as tmp:
        write_table_file(table, tmp, plan, where=path)
        if verify:
            verify_equal(table, read_file(tmp), path=path)
        size = tmp.stat().st_size
    return WriteResult(str(path), size, table.num_rows, plan)


@dataclass(frozen=True)
class RewriteResult:
    """What :func:`rewrite` did. ``verified`` is always true for a returned result (a failure raises)."""

    input: str
    output: str
    files: int
    rows: int
    input_bytes: int
    output_bytes: int
    plan: EncodingPlan
    advise_seconds: float
    write_seconds: float
    verified: bool = True
    table_format: str | None = None  # "delta" | "iceberg": committed through the table's log
    committed: str | None = None  # the version or snapshot committed, e.g. "Delta version 3 (was 2)"
    notes: tuple[str, ...] = ()

    @property
    def saved_bytes(self) -> int:
        return self.input_bytes - self.output_bytes

    @property
    def ratio(self) -> float:
        return self.output_bytes / self.input_bytes if self.input_bytes else 1.0


def rewrite(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    plan: EncodingPlan | None = None,
    objective: str | None = None,
    config: AdvisorConfig | None = None,
    overwrite: bool = False,
    readers: str | None = None,
    iceberg_catalog: Any = None,
) -> RewriteResult:
    """Re-encode a Parquet file or directory with a plan, verify it, and put it in place atomically.

    A Delta or Iceberg table is rewritten in place through its own log, as one new version or snapshot
    (:mod:`lakeshrink.tables.rewrite`).

    Args:
        input: a Parquet file, a directory of data files (Spark ``part-*`` files, hive partitions), or a Delta
            or Iceberg table's folder.
        output: where to write; ``None`` or the input's own path replaces the input (atomically; for a table
            format, the only choice).
        plan: settings to use; advised from the input's rows when omitted.
        objective: objective of that advice.
        config: advisor settings of that advice.
        overwrite: replace an existing ``output`` other than the input.
        readers: reader profile the output must open in (default ``portable``): the advice stays inside it, and
            a given plan outside it is refused before anything is written.
        iceberg_catalog: the pyiceberg catalog (or its name) an Iceberg table is committed through.

    Raises:
        InputError: the input is missing or not Parquet, ``output`` exists and ``overwrite`` is false, or the
            plan uses a setting a reader of the profile cannot read.
        SchemaMismatch: the plan does not fit a file's schema (or directory files disagree on their schema).
        VerificationFailed: a rewritten file did not read back equal to its input; nothing was replaced.
    """
    source = open_input(input)
    in_place = output is None or Path(output).resolve() == source.root.resolve()
    target = source.root if in_place else Path(output)  # type: ignore[arg-type]
    if source.table_format is not None and not in_place:
        raise InputError(f"a {source.table_format} table is rewritten in place, as a new version of itself; give "
                         "the table's own folder as the output", path=output)
    if not in_place and target.exists() and not overwrite:
        raise InputError("output already exists (pass overwrite to replace it)", path=target)
    if not in_place and target.is_dir() and not target.is_symlink():
        refuse_foreign(target)
    if source.table_format is not None:
        from lakeshrink.tables.rewrite import check_rewritable

        check_rewritable(str(source.root), source.table_format, iceberg_catalog=iceberg_catalog)
    input_bytes = source.bytes
    first = source.path(source.files[0])
    config = advisor_config(config, objective, readers)
    read_seconds, table, int96 = 0.0, None, False
    if plan is None and not source.is_dir and source.table_format is None:
        # one file: the rewrite reads it whole anyway, so the advice is made on those rows and that footer (no
        # second read); what the footer says (declared order, INT96) is worked out in the advice's time
        start = time.perf_counter()
        table, footer = read_parquet(source.root)
        read_seconds = time.perf_counter() - start
    start = time.perf_counter()
    if table is not None:
        plan = advise_read(table, footer, config=config)  # (the declared order and INT96 from the footer)
        int96 = plan.int96_timestamps
    elif plan is None:  # advised like `advise(path)`: a large input from spread row groups, not read whole
        plan = advise(source.root, config=config).plan
    else:
        resolve_profile(config.readers).check_plan(plan, where=input)
    if plan.int96_timestamps != (int96 if table is not None else uses_int96(first)):
        raise InputError(f"the plan {'keeps' if plan.int96_timestamps else 'does not keep'} INT96 timestamps but the "
                         "input does the opposite; advise again on this input", path=first)
    advise_seconds = time.perf_counter() - start
    start = time.perf_counter() - read_seconds  # reading the rows is part of the rewrite, not of the advice
    if source.table_format is not None:
        from lakeshrink.tables.rewrite import rewrite_table

        done = rewrite_table(str(source.root), source.table_format, plan, iceberg_catalog=iceberg_catalog)
        return RewriteResult(
            input=str(input), output=str(target), files=done.files, rows=done.rows, input_bytes=done.input_bytes,
            output_bytes=done.output_bytes, plan=plan, advise_seconds=advise_seconds,
            write_seconds=time.perf_counter() - start, table_format=done.format, committed=done.describe(),
            notes=done.notes,
        )
    rows = 0
    # progress in bytes of the input files rewritten (and verified); the step under way names its file
    if not source.is_dir:
        with progress("rewriting", total=input_bytes, unit="bytes") as bar, atomic_file(target) as tmp:
            rows = _rewrite_one(source.root, tmp, plan, step=bar.step, table=table)
            out_bytes = tmp.stat().st_size
            bar.advance(input_bytes)
    elif in_place:
        out_bytes = 0
        with progress("rewriting", total=input_bytes, unit="bytes") as bar:
            for rel in source.files:
                size = source.path(rel).stat().st_size
                with replace_file_in_place(source.path(rel)) as tmp:
                    rows += _rewrite_one(source.path(rel), tmp, plan, step=bar.step)
                    out_bytes += tmp.stat().st_size
                stale_crc = source.path(rel).with_name(f".{source.path(rel).name}.crc")
                stale_crc.unlink(missing_ok=True)  # Hadoop's checksum of the old bytes would fail on the new ones
                bar.advance(size)
    else:
        with atomic_dir(target, overwrite=True) as tmp, progress("rewriting", total=input_bytes, unit="bytes") as bar:
            out_bytes = 0
            for rel in source.files:
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                rows += _rewrite_one(source.path(rel), dest, plan, step=bar.step)
                out_bytes += dest.stat().st_size
                bar.advance(source.path(rel).stat().st_size)
            for rel in source.extras:
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source.path(rel), dest)
    return RewriteResult(
        input=str(input), output=str(target), files=len(source.files), rows=rows,
        input_bytes=input_bytes, output_bytes=out_bytes, plan=plan,
        advise_seconds=advise_seconds, write_seconds=time.perf_counter() - start,
    )


def refuse_foreign(target: Path) -> None:
    """Refuse to replace a directory holding entries lakeshrink did not write (see ``foreign_entries``).

    Raises:
        InputError: naming the first few such entries.
    """
    foreign = foreign_entries(target)
    if foreign:
        raise InputError(f"replacing this directory would delete {', '.join(foreign[:3])}"
                         f"{' and more' if len(foreign) > 3 else ''}, which lakeshrink did not write", path=target,
                         hint="write to a new path, or move them away first")


def _rewrite_one(
    src: Path, dest: Path, plan: EncodingPlan, *, step: Callable[[str], None] | None = None,
    table: pa.Table | None = None,
) -> int:
    """Rewrite one data file with the plan and check it reads back equal; return its row count.

    ``step`` is told each step as it starts ("reading x.parquet", "writing ...", "verifying ...": progress).
    ``table`` is the file's rows when they were already read (to be advised on).
    """
    step = step or (lambda _: None)
    step(f"reading {src.name}")  # (already done when ``table`` is given: the step passes at once)
    table = read_file(src) if table is None else table
    step(f"writing {src.name}")
    write_table_file(table, dest, plan, where=src)
    step(f"verifying {src.name}")
    verify_equal(table, read_file(dest), path=src)
    return table.num_rows


class LocalRewriter:
    """The local engine's :class:`~lakeshrink.codecs.encodings.ports.EncodingRewriter`: :func:`rewrite`."""

    def __init__(self, engine: object = None):
        self.engine = engine

    def rewrite(self, input: str, output: str, *, plan: EncodingPlan | None = None, objective: str | None = None,
                overwrite: bool = False, readers: str | None = None, iceberg_catalog: Any = None) -> RewriteResult:
        return rewrite(input, output, plan=plan, objective=objective, overwrite=overwrite, readers=readers,
                       iceberg_catalog=iceberg_catalog)
