"""Stage 4: every surviving pair decided at once from the fingerprints stage 3 wrote (no second read of the lake).

Stage 3 read each table once and stored its deduplicated 128-bit row fingerprints, with counts, for every column
set a candidate pair needs (:mod:`.fused`, :mod:`.fingerprints`). Stage 4 gathers the fingerprint rows
``(colset, hi, lo, table, count)`` of the tables in surviving pairs, partitions them by fingerprint (so each
``(colset, fingerprint)`` group is whole in one partition: SINDY's one shuffle), and decides every pair with
:func:`lakeshrink.containment.scan.fingerprints.decide`; the partial counts add up to each pair's verdict:
contained when no child fingerprint is missing from the parent, a multiset subset when also no fingerprint has
more copies in the child.

**Local engine, bounded memory** (:func:`verify_local`). Two passes over the fingerprint files: the children's
rows on their own column sets first, which fill a :class:`ChildFilter`; then the parents' other column sets,
keeping only the fingerprints some child of the same column set may have (a semi-join: no other parent row can
change a verdict). The rows stay in memory while they fit :data:`BUCKET_ROWS` and are decided as one partition;
beyond that they go to Parquet files, one per partition (the top bits of the fingerprint), decided one after
another. The Spark engine runs the same plan with one shuffle (:mod:`lakeshrink.spark_ext.containment`).

A table whose fingerprints cannot be read makes its pairs fail with an error naming it (reported as skipped).
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.containment.scan.fingerprints import PAIRS_SCHEMA, ROWS_SCHEMA, KeepFn, bucket_of, decide, grouped, pieces, sum_totals
from lakeshrink.containment.scan.footers import failure_reason
from lakeshrink.containment.scan.fused import ReadResult, ReadTask, read_fingerprint_rows
from lakeshrink.containment.scan.schema_graph import Pair
from lakeshrink.errors import InputError
from lakeshrink.memory import release_memory
from lakeshrink.progress import progress

BUCKET_ROWS = 6_000_000  # fingerprint rows plus joined child rows one partition may hold in memory
FLUSH_ROWS = 4 << 20  # rows buffered (all partitions together) before a spill writes them
MAX_SPILL_BITS = 10  # at most 1,024 spill partitions (one open file each)
SPILL_RESERVE = 1 << 30  # free bytes a spill leaves on its disk: it stops with an error rather than fill it
GROUP_ROWS = 4 << 20  # about the most fingerprint rows of one table folded at once
DECIDE_ROWS = 1 << 18  # about the most fingerprint rows joined at once (the joins' memory grows with them)
FILTER_MAX_BITS = 32  # the child filter's bitmap holds at most 2**32 bits (512 MiB)
_SALT = np.uint64(0x9E3779B97F4A7C15)  # mixes the column set into the filter's slot

J = TypeVar("J")
O = TypeVar("O")


@dataclass(frozen=True, slots=True)  # slots: 2.2 million of them on the 10,000-table lake
class Edge:
    """A verified containment: every row of ``child`` (on ``columns``, all of its columns) is a row of ``parent``."""

    child: str
    parent: str
    columns: tuple[str, ...]
    child_rows: int
    child_distinct_rows: int
    multiset_contained: bool


@dataclass(frozen=True)
class VerifyOutcome:
    """Stage 4's answer: the edges (every pair asked about that is contained), the tables whose fingerprints
    could not be read (table -> why; none of their pairs has an edge), the fingerprint bytes read and the bytes
    moved between partitions (spilled or shuffled). Only contained pairs become objects: on the 10,000-table
    lake a verdict object per pair was 2 million of them, held at the end of stage 4 with the edges."""

    edges: tuple[Edge, ...]
    failed: dict[str, str] = field(default_factory=dict)
    bytes_read: int = 0
    shuffle_bytes: int = 0


@dataclass(frozen=True)
class VerifyPlan:
    """Stage 4's input, the same for every engine: pairs numbered (:data:`PAIRS_SCHEMA`), tables and column
    sets numbered, and each table's read task and stage-3 result (its fingerprint file)."""

    pairs: tuple[Pair, ...]
    tables: tuple[str, ...]
    colsets: tuple[tuple[str, ...], ...]
    pair_rows: pa.Table
    reads: dict[str, tuple[ReadTask, ReadResult]] = field(repr=False)
    fingerprint_rows: int
    joined_rows: int
    numbers: dict[str, int] = field(repr=False, default_factory=dict)
    colsets_of: dict[str, dict[tuple[str, ...], int]] = field(repr=False, default_factory=dict)
    child_rows: int = 0  # the children's fingerprint rows on their own column sets (the :class:`ChildFilter`'s)
    filtered_rows: int = 0  # at most the rows the local engine keeps: the children's, and parents' after the filter
    originals: tuple[Pair, ...] = ()  # every pair asked about (default: ``pairs``)...
    deciding: np.ndarray | None = field(repr=False, default=None)  # ...and the index in ``pairs`` of the pair deciding each

    @property
    def asked(self) -> tuple[tuple[Pair, ...], np.ndarray]:
        """Every pair asked about, and for each the index in ``pairs`` of the pair whose counts decide it (as
        an array: on the 10,000-table lake, a tuple per pair was 2 million tuples and ints)."""
        if self.deciding is None:
            return self.pairs, np.arange(len(self.pairs), dtype=np.int64)
        return self.originals, self.deciding

    def partition_bits(self, budget_rows: int) -> int:
        """How many top fingerprint bits the local engine partitions by so one partition holds about
        ``budget_rows`` (its rows after the semi-join, plus the joined rows)."""
        work, bits = self.filtered_rows + self.joined_rows, 0
        while work > budget_rows << bits and bits < MAX_SPILL_BITS:
            bits += 1
        return bits


def representatives(tables: set[str] | list[str], reads: dict[str, tuple[ReadTask, ReadResult]]) -> dict[str, str]:
    """Each table's representative: the first (by name) of the tables whose fingerprint files hold the same
    column sets and the same rows (:func:`~lakeshrink.containment.scan.fingerprints.multiset_digest` over all
    their columns), else the table itself. Identical tables have identical fingerprints on every column set,
    so a pair's verdict is that of its tables' representatives, and a table whose representative is its
    parent's is contained in it, as a multiset. A lake holding the same table in many places (dimension
    tables copied into every project) otherwise repeats the same joins once per copy: on the 10,000-table lake,
    33.6 billion joined rows for 2.5 million pairs."""
    first: dict[tuple[object, ...], str] = {}
    out = {}
    for table in sorted(tables):
        fp = reads[table][1].fingerprints
        key = None if fp is None or not fp.digest else (fp.colsets, fp.digest)
        out[table] = table if key is None else first.setdefault(key, table)
    return out


def by_representatives(pairs: list[Pair], rep: dict[str, str]) -> tuple[list[Pair], np.ndarray]:
    """The distinct pairs between the tables' representatives (``rep``, see :func:`representatives`; a table
    absent stands for itself), in order of first appearance, and for each of ``pairs`` the index of its
    representatives' pair, which has the same verdict (and the same sketches, for stage 3's pruning). Pairs are
    told apart by one integer key each, not in a dict of :class:`Pair` objects (3.5 million entries on the
    10,000-table lake)."""
    if not pairs:
        return [], np.zeros(0, np.int64)
    tables: dict[str, int] = {}
    colsets: dict[tuple[str, ...], int] = {}
    n = len(pairs)
    key = np.fromiter((tables.setdefault(rep.get(p.child, p.child), len(tables)) for p in pairs), np.int64, n)
    parent = np.fromiter((tables.setdefault(rep.get(p.parent, p.parent), len(tables)) for p in pairs), np.int32, n)
    key *= len(tables)
    key += parent
    del parent
    colset = np.fromiter((colsets.setdefault(p.columns, len(colsets)) for p in pairs), np.int32, n)
    key *= len(colsets)
    key += colset  # < 2**63 below about 2 million tables and column sets
    del colset
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    del key
    order = np.argsort(first)  # the distinct pairs in order of first appearance
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    first = first[order]
    del order
    of = rank[inverse.reshape(-1)]
    del rank, inverse
    # a slice of indices at a time as Python ints (all at once: 3.4 million ints on the 10,000-table lake)
    distinct = [_represented(pairs[i], rep) for at in range(0, len(first), 1 << 16) for i in first[at:at + (1 << 16)].tolist()]
    return distinct, of


def _represented(pair: Pair, rep: dict[str, str]) -> Pair:
    """``pair`` between its tables' representatives; ``pair`` itself when they are its own tables (no second
    object for each of the millions of pairs whose tables stand for themselves)."""
    child, parent = rep.get(pair.child, pair.child), rep.get(pair.parent, pair.parent)
    return pair if child == pair.child and parent == pair.parent else Pair(child, parent, pair.columns)


def plan_verification(pairs: list[Pair], reads: dict[str, tuple[ReadTask, ReadResult]], *, collapse: bool = True) -> VerifyPlan:
    """Number the pairs, tables and column sets; estimate the work from the fingerprint files' metadata. With
    ``collapse``, the pairs decided are those of the tables' :func:`representatives` (each once); the verdicts
    (:func:`verdicts_from`) are given for every pair of ``pairs``."""
    originals = sorted(pairs)
    rep = representatives({p.child for p in originals} | {p.parent for p in originals}, reads) if collapse else {}
    pairs, mapping = by_representatives(originals, rep)
    tables = tuple(sorted({p.child for p in pairs} | {p.parent for p in pairs}))
    colsets = tuple(sorted({p.columns for p in pairs}))
    t_index = {t: i for i, t in enumerate(tables)}
    c_index = {c: i for i, c in enumerate(colsets)}
    pair_rows = pa.table(
        {
            "pair": pa.array(range(len(pairs)), pa.int32()),
            "colset": pa.array([c_index[p.columns] for p in pairs], pa.int32()),
            "child": pa.array([t_index[p.child] for p in pairs], pa.int32()),
            "parent": pa.array([t_index[p.parent] for p in pairs], pa.int32()),
        },
        schema=PAIRS_SCHEMA,
    )

    def distinct(table: str, colset: tuple[str, ...]) -> int:
        fp = reads[table][1].fingerprints
        if fp is None or colset not in fp.colsets:
            return 0
        return fp.distinct[fp.colsets.index(colset)]

    colsets_of: dict[str, dict[tuple[str, ...], int]] = defaultdict(dict)
    for p in pairs:
        colsets_of[p.child][p.columns] = colsets_of[p.parent][p.columns] = c_index[p.columns]
    rows = sum(distinct(t, c) for t, used in colsets_of.items() for c in used)
    joined = sum(distinct(p.child, p.columns) for p in pairs)
    as_child = {(p.child, p.columns) for p in pairs}
    per_colset: dict[tuple[str, ...], int] = defaultdict(int)
    for t, c in as_child:
        per_colset[c] += distinct(t, c)
    children = sum(per_colset.values())
    # a parent keeps at most its fingerprints that some child of the column set has (plus false positives)
    parents = sum(min(distinct(t, c), per_colset[c]) for t, used in colsets_of.items() for c in used if (t, c) not in as_child)
    return VerifyPlan(tuple(pairs), tables, colsets, pair_rows, {t: reads[t] for t in tables}, rows, joined, t_index, dict(colsets_of),
                      children, children + parents, tuple(originals), mapping)


def verdicts_from(plan: VerifyPlan, totals: np.ndarray, failed: dict[str, str], bytes_read: int = 0, shuffle_bytes: int = 0) -> VerifyOutcome:
    """The outcome from the summed counts of each decided pair (:func:`~.fingerprints.sum_totals`: rows distinct,
    rows, missing, over; zeros for a pair no partition counted: its child is empty): every pair asked about
    whose deciding pair misses nothing is an edge, unless the deciding pair touches a table in ``failed``."""
    originals, deciding = plan.asked
    distinct, rows, missing, over = totals
    ok = missing == 0
    if failed:
        bad = np.array([p.child in failed or p.parent in failed for p in plan.pairs], dtype=bool)
        ok &= ~bad
    kept = np.flatnonzero(ok[deciding]) if len(deciding) else np.zeros(0, np.int64)
    at = deciding[kept]
    edges = tuple(
        Edge(pair.child, pair.parent, pair.columns, r, d, not o)
        for pair, r, d, o in zip((originals[i] for i in kept.tolist()), rows[at].tolist(), distinct[at].tolist(), over[at].tolist())
    )
    return VerifyOutcome(edges, dict(failed), bytes_read, shuffle_bytes)


def table_rows(
    plan: VerifyPlan, table: str, colsets: dict[tuple[str, ...], int] | None = None, keep: KeepFn | None = None
) -> tuple[pa.Table, int]:
    """One table's fingerprint rows for the plan (:data:`ROWS_SCHEMA`, ``table`` = its number), on ``colsets``
    (default: all the plan needs of it), only those ``keep`` keeps when given, and the bytes of its fingerprint
    file. Raises when they cannot be read (even after one rebuild)."""
    task, result = plan.reads[table]
    rows, result = read_fingerprint_rows(task, result, plan.colsets_of[table] if colsets is None else colsets, keep)
    rows = rows.append_column("table", pa.array(np.full(rows.num_rows, plan.numbers[table], np.int32)))
    size = result.fingerprints.file_bytes if result.fingerprints is not None else 0
    return rows.select(ROWS_SCHEMA.names).cast(ROWS_SCHEMA), size


def colset_groups(plan: VerifyPlan, table: str, limit: int | None, used: dict[tuple[str, ...], int] | None = None) -> list[dict[tuple[str, ...], int]]:
    """The column sets ``used`` of ``table`` (default: all the plan needs of it), in groups of at most about
    ``limit`` fingerprint rows (one group when ``limit`` is None or the table stores fingerprints, not value
    hashes): a parent of many differently-shaped children is folded a group at a time, so its fingerprints
    never sit in memory at once."""
    used = plan.colsets_of[table] if used is None else used
    fp = plan.reads[table][1].fingerprints
    if limit is None or fp is None or fp.layout != "columns":
        return [used] if used else []
    groups: list[dict[tuple[str, ...], int]] = []
    current: dict[tuple[str, ...], int] = {}
    rows = 0
    for colset, number in sorted(used.items()):  # sorted: a group's column sets share prefixes
        size = fp.distinct[fp.colsets.index(colset)] if colset in fp.colsets else 0
        if current and rows + size > limit:
            groups.append(current)
            current, rows = {}, 0
        current[colset] = number
        rows += size
    return groups + [current] if current else groups


def child_colsets(plan: VerifyPlan) -> dict[str, dict[tuple[str, ...], int]]:
    """The column sets on which each table is the child of some pair (its own columns)."""
    out: dict[str, dict[tuple[str, ...], int]] = defaultdict(dict)
    for p in plan.pairs:
        out[p.child][p.columns] = plan.colsets_of[p.child][p.columns]
    return dict(out)


class ChildFilter:
    """The semi-join before stage 4's join: which ``(colset, fingerprint)`` some candidate child has.

    Only a parent's fingerprints that a child of the same column set also has can change a verdict (``missing``
    counts the child's fingerprints the parent lacks; ``over`` compares the counts of a child's fingerprint), so
    a parent's other fingerprints are dropped before they are deduplicated, spilled or joined. On the
    10,000-table lake the parents (large base tables needed on dozens of column sets) were most of stage 4's
    rows. A one-hash Bloom filter: a bitmap indexed by the top bits of the fingerprint's ``hi`` (a mixed hash)
    mixed with its column set. It has no false negatives, so no row that can change a verdict is dropped; a
    false positive only keeps a row that changes nothing. About 16 bits per child fingerprint (about 6% false
    positives), at most ``2**FILTER_MAX_BITS`` bits."""

    def __init__(self, expected: int):
        self.bits = int(min(FILTER_MAX_BITS, max(16, np.ceil(np.log2(max(expected, 1) * 16)))))
        self.bitmap = np.zeros(1 << (self.bits - 3), np.uint8)

    def _slots(self, colset: int | np.ndarray, hi: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            salt = np.asarray(colset, dtype=np.uint64) * _SALT
        return (hi ^ salt) >> np.uint64(64 - self.bits)

    def add(self, colset: np.ndarray, hi: np.ndarray) -> None:
        """Add fingerprints (``colset`` ids and ``hi`` halves, arrays of the same length)."""
        if not len(hi):
            return
        slots = np.unique(self._slots(colset, hi))  # sorted: each byte's bits are set together
        byte = slots >> np.uint64(3)
        bit = np.left_shift(np.uint8(1), (slots & np.uint64(7)).astype(np.uint8))
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        self.bitmap[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)

    def keep(self, colset: int, hi: np.ndarray) -> np.ndarray:
        """A mask of the fingerprints of ``colset`` some child may have (:data:`~.fingerprints.KeepFn`)."""
        slots = self._slots(colset, hi)
        return (self.bitmap[slots >> np.uint64(3)] >> (slots & np.uint64(7)).astype(np.uint8)) & 1 != 0


def _tables_rows(
    plan: VerifyPlan, jobs: list[tuple[str, dict[tuple[str, ...], int]]], failed: dict[str, str], *, label: str,
    keep: KeepFn | None = None, workers: int = 1,
) -> Iterator[tuple[pa.Table, int]]:
    """The fingerprint rows of each job (a table and a group of its column sets, see :func:`colset_groups`)
    with the bytes of its fingerprint file (counted once per table), in order. With ``workers`` > 1 the next
    jobs are read (and folded) on that many threads while the caller takes the current one; at most
    ``workers + 1`` jobs are held at once. A table that fails is recorded in ``failed`` (its pairs get an error)."""
    numbered = [(table, i, group) for i, (table, group) in enumerate(jobs)]
    first = {}
    for table, i, _ in numbered:
        first.setdefault(table, i)
    last = {table: i for table, i, _ in numbered}

    def read(job: tuple[str, int, dict[tuple[str, ...], int]]) -> tuple[pa.Table, int] | None:
        table, _, group = job
        if table in failed:  # an earlier group of it failed
            return None
        try:
            return table_rows(plan, table, group, keep)
        except Exception as exc:  # noqa: BLE001 - reported for the table (its pairs get an error verdict)
            failed.setdefault(table, failure_reason(exc))
            return None

    with progress(label, total=len(last)) as bar:
        for (table, i, _), got in _ordered(read, numbered, workers):
            if got is not None and table not in failed:
                rows, size = got
                yield rows, size if first[table] == i else 0
            if last[table] == i:
                bar.advance()


def _ordered(fn: Callable[[J], O], jobs: list[J], workers: int) -> Iterator[tuple[J, O]]:
    """``(job, fn(job))`` in the order of ``jobs``, computed on ``workers`` threads at most ``workers + 1`` ahead."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, fn(job)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="lakeshrink-verify") as pool:
        todo = iter(jobs)
        window = deque((job, pool.submit(fn, job)) for job in itertools.islice(todo, workers + 1))
        while window:
            job, future = window.popleft()
            following = next(todo, None)
            if following is not None:
                window.append((following, pool.submit(fn, following)))
            yield job, future.result()


def verify_local(plan: VerifyPlan, *, budget_rows: int | None = None, spill_dir: str | None = None, workers: int = 1) -> VerifyOutcome:
    """Stage 4 in this process (see the module). Two passes over the fingerprint files: first each child's
    rows on its own column set, which also fill the :class:`ChildFilter`; then the other column sets the plan
    needs (the parents'), only the fingerprints the filter keeps. The rows stay in memory up to
    ``budget_rows`` (default :data:`BUCKET_ROWS`), then go to a spill partitioned by fingerprint.
    ``workers``: threads reading (and folding) the tables' fingerprints."""
    failed: dict[str, str] = {}
    budget = budget_rows or BUCKET_ROWS
    as_child = child_colsets(plan)
    child_jobs = [(t, g) for t in plan.tables if t in as_child for g in colset_groups(plan, t, GROUP_ROWS, as_child[t])]
    parent_jobs = [
        (t, g) for t in plan.tables
        for g in colset_groups(plan, t, GROUP_ROWS, {c: i for c, i in plan.colsets_of[t].items() if c not in as_child.get(t, {})})
    ]
    flt = ChildFilter(plan.child_rows)
    read = 0
    with contextlib.ExitStack() as stack:
        held: list[pa.Table] = []
        count = 0
        spill: _Spill | None = None

        def put(rows: pa.Table) -> None:
            nonlocal count, spill
            if spill is not None:
                spill.add(rows)
                return
            held.append(rows)
            count += rows.num_rows
            if count > budget:  # more than one partition holds: from now on, spill
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lakeshrink-verify-", dir=spill_dir))
                spill = stack.enter_context(_Spill(Path(tmp), plan.partition_bits(budget)))
                for part in held:
                    spill.add(part)
                held.clear()

        for rows, size in _tables_rows(plan, child_jobs, failed, label="stage 4: children's fingerprints", workers=workers):
            read += size
            flt.add(rows.column("colset").to_numpy(), rows.column("hi").to_numpy())
            put(rows)
        release_memory()  # what the children's reading freed (each thread's arena keeps its pages otherwise)
        for rows, size in _tables_rows(plan, parent_jobs, failed, label="stage 4: parents' fingerprints (semi-join)",
                                       keep=flt.keep, workers=workers):
            read += size
            put(rows)
        del flt
        release_memory()
        if spill is None:
            rows = pa.concat_tables(held) if held else ROWS_SCHEMA.empty_table()
            held.clear()
            totals = sum_totals(decided(rows, pl.from_arrow(plan.pair_rows)), len(plan.pairs))
            return verdicts_from(plan, totals, failed, read)
        spill.close()
        pairs = pl.from_arrow(plan.pair_rows)
        totals = sum_totals((t for part in _trimmed(spill.partitions(), every=32) for t in decided(part, pairs)), len(plan.pairs))
        return verdicts_from(plan, totals, failed, read, spill.bytes)


def decided(rows: pa.Table | pl.DataFrame, pairs: pl.DataFrame, most: int | None = None) -> Iterator[pa.Table]:
    """:func:`~lakeshrink.containment.scan.fingerprints.decide` on ``rows`` (whole fingerprint groups), a piece of
    about ``most`` (default :data:`DECIDE_ROWS`) rows at a time
    (:func:`~lakeshrink.containment.scan.fingerprints.pieces`). Measured on 4 million rows where each child
    table has about 15 candidate parents: joined whole, 6.0 GB above the rows themselves; in pieces of 262,144
    rows, 1.0 GB, and 5x faster."""
    for piece in pieces(rows.to_arrow() if isinstance(rows, pl.DataFrame) else rows, most or DECIDE_ROWS):
        yield decide(piece, pairs)


def _trimmed(parts: Iterator[J], every: int) -> Iterator[J]:
    """``parts``, giving freed memory back to the system after every ``every`` of them."""
    for i, part in enumerate(parts, 1):
        yield part
        if i % every == 0:
            release_memory()


class _Spill:
    """Fingerprint rows spilled to one Parquet file per partition (the top ``bits`` bits of ``hi``).

    Rows are buffered as they come, whatever their partition, and written when :data:`FLUSH_ROWS` are held in
    all: sorted by partition, each partition's run appended to its file as one row group. Memory is bounded by
    the buffer, not by the number of partitions (buffering each partition until it alone held FLUSH_ROWS rows
    kept nearly the whole plan in memory on the 10,000-table lake: 21 GB after 3% of its tables)."""

    def __init__(self, directory: Path, bits: int):
        self.directory, self.bits = directory, bits
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.bytes = 0

    def add(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        self.buffer.append(rows)
        self.buffered += rows.num_rows
        if self.buffered >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        self._check_space()
        table = pa.concat_tables(self.buffer).combine_chunks()
        self.buffer, self.buffered = [], 0
        order, bounds = grouped(bucket_of(table.column("hi").to_numpy(), self.bits), self.bits)
        table = table.take(pa.array(order))
        del order
        for part in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            start, end = int(bounds[part]), int(bounds[part + 1])
            if part not in self.writers:
                path = self.directory / f"part-{part:05d}.parquet"
                self.writers[part] = pq.ParquetWriter(path, ROWS_SCHEMA, compression="lz4")
            self.writers[part].write_table(table.slice(start, end - start))

    def _check_space(self) -> None:
        """Stop before the spill fills its disk (one on the 10,000-table lake filled 78 GB after a third of its
        tables): the error names the directory and what was written; the spill files are removed."""
        import shutil

        free = shutil.disk_usage(self.directory).free
        need = self.buffered * 34  # about what a row takes in a spill file (hashes do not compress)
        if free - need < SPILL_RESERVE:
            written = sum(p.stat().st_size for p in self.directory.glob("part-*.parquet"))
            raise InputError(
                f"stage 4's spill stopped with {written / 1e9:,.1f} GB written and {free / 1e9:,.1f} GB left on its disk "
                f"(it leaves {SPILL_RESERVE / 2**30:g} GiB free)",
                path=self.directory.parent,
                hint="scan with --cache on a disk with more room, or scan fewer tables at once",
            )

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close what a failure left open (before the directory is removed: an open file's disk space is only
        freed when it is closed, and a kept traceback would keep it open)."""
        self.buffer, self.buffered = [], 0
        for writer in self.writers.values():
            try:
                writer.close()
            except OSError:
                pass  # e.g. no room left for its footer: the file is removed next
        self.writers = {}

    def close(self) -> None:
        self._flush()
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
        self.bytes = sum(p.stat().st_size for p in self.directory.glob("part-*.parquet"))

    def partitions(self) -> Iterator[pl.DataFrame]:
        for path in sorted(self.directory.glob("part-*.parquet")):
            yield pl.read_parquet(path)


VerifyFn = Callable[[VerifyPlan], VerifyOutcome]


class LocalVerifier:
    """The local engine's :class:`~lakeshrink.containment.scan.ports.ContainmentVerifier`: :func:`verify_local`."""

    def __init__(self, engine: object = None):
        self.engine = engine

    def verify(self, plan: VerifyPlan, *, spill_dir: str | None = None) -> VerifyOutcome:
        return verify_local(plan, spill_dir=spill_dir, workers=getattr(self.engine, "workers", 1))
