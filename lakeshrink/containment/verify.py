"""Stage 4: exact verification of the remaining pairs (polars hashed anti-join in process), with inference.

**Grouping.** Pairs are grouped by (parent, column set), so each parent projection is read and normalised
(:mod:`.compare`) **once** for all of its candidate children, and only if some child still needs it.

**The judge** (:func:`judge`). The child's projection is reduced to its distinct rows with counts
(``group_by(columns).len()``). A polars anti-join (a hash join that compares the actual values, so hash
collisions cannot fake a match) of those rows against the parent projection, with ``nulls_equal=True``, finds
child rows the parent lacks: none means contained. Multiset containment follows without counting the whole
parent: a child without duplicate rows is a multiset subset as soon as it is a subset; otherwise only the
duplicated rows are counted in the parent (a semi-join, then ``group_by``) and compared.

**Inference** (:class:`Verifier`). Containment is transitive and preserved by projection, so some verdicts
follow from others without reading data:

* *positive*: C in M and M in P give C in P (C's columns are in M's, which are in P's; every row of C is a row
  of M, whose projection is a row of P's). Both as multisets give C in P as a multiset (projecting a
  sub-multiset gives a sub-multiset); otherwise the multiset flag is unknown and the pair is verified.
* *negative*: A in C and A not in P give C not in P (if C were in P, A would be, by the rule above). "A not in
  P" is any certain non-containment: a pair that stage 1, 2 or 3 dropped or stage 4 rejected.

Groups run in ascending parent size, children in descending size, so the small, close containments are
decided first and the far ones inferred. An inferred edge records its witness M; if M changes during the scan,
the edge is dropped with it.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from lakeshrink.containment.compare import normalize_frame
from lakeshrink.containment.footers import failure_reason
from lakeshrink.containment.lake import TableRef, projection_bytes, read_table, resolve_root
from lakeshrink.containment.schema_graph import Pair, group_by_parent
from lakeshrink.progress import progress

COUNT = "\x00lakeshrink_count"
PARENT_COUNT = "\x00lakeshrink_parent_count"
CACHE_CELLS = 20_000_000  # counted child frames kept for reuse across groups (rows x columns)


@dataclass(frozen=True)
class Edge:
    """A verified containment: every row of ``child`` (on ``columns``, all of its columns) is a row of ``parent``."""

    child: str
    parent: str
    columns: tuple[str, ...]
    child_rows: int
    child_distinct_rows: int
    multiset_contained: bool


@dataclass(frozen=True)
class Verdict:
    """Stage 4's answer for one pair: an edge, a rejection, or an error naming the table that failed.
    ``witness`` names the table M an inferred verdict came through (None when the data was compared)."""

    pair: Pair
    edge: Edge | None = None
    error_table: str | None = None
    error: str | None = None
    witness: str | None = None


def counted(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Distinct rows of ``frame`` on ``columns`` with their counts in column :data:`COUNT`."""
    return frame.group_by(list(columns)).len(name=COUNT)


def judge(pair: Pair, child: pl.DataFrame, child_rows: int, parent: pl.DataFrame) -> Verdict:
    """Decide one pair from the child's counted rows (:func:`counted`) and the parent's projection."""
    columns = list(pair.columns)
    if child.select(columns).join(parent, on=columns, how="anti", nulls_equal=True).height:
        return Verdict(pair)
    dups = child.filter(pl.col(COUNT) > 1)
    multiset = True
    if dups.height:
        in_parent = counted(parent.join(dups.select(columns), on=columns, how="semi", nulls_equal=True), pair.columns)
        joined = dups.join(in_parent.rename({COUNT: PARENT_COUNT}), on=columns, how="left", nulls_equal=True)
        multiset = bool((joined[COUNT] <= joined[PARENT_COUNT]).all())
    return Verdict(pair, Edge(pair.child, pair.parent, pair.columns, child_rows, child.height, multiset))


class Verifier:
    """Stage 4's bookkeeping, shared by the engines: order of work, inference, and the verdicts so far.

    Args:
        survivors: the pairs that reached stage 4; any other ordered pair is certainly not a containment.
        infer: False to compare the data of every pair (when ``survivors`` is not the whole stage-4 input).
    """

    def __init__(self, survivors: Iterable[Pair], *, infer: bool = True):
        self.enabled = infer
        self.pending = list(survivors)
        self.possible = {(p.child, p.parent) for p in self.pending}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.rejected: set[tuple[str, str]] = set()
        self.parents_of: dict[str, set[str]] = defaultdict(set)
        self.children_of: dict[str, set[str]] = defaultdict(set)
        self.verdicts: list[Verdict] = []

    def groups(self, refs: dict[str, TableRef]) -> list[tuple[str, tuple[str, ...], list[Pair]]]:
        """(parent, columns, children) in the order that lets inference do the most."""
        out = []
        for (parent, columns), pairs in group_by_parent(self.pending).items():
            pairs = sorted(pairs, key=lambda p: (-refs[p.child].bytes, p.child))
            out.append((parent, columns, pairs))
        out.sort(key=lambda g: (refs[g[0]].bytes, g[0], -len(g[1]), g[1]))
        return out

    def _not_contained(self, child: str, parent: str) -> bool:
        return (child, parent) not in self.possible or (child, parent) in self.rejected

    def infer(self, pair: Pair) -> Verdict | None:
        """The verdict transitivity gives for ``pair``, or None when the data must be compared."""
        if not self.enabled:
            return None
        c, p = pair.child, pair.parent
        for a in self.children_of[c]:
            if a != p and self._not_contained(a, p):
                return Verdict(pair, witness=a)
        for m in self.parents_of[c]:
            first, second = self.edges[(c, m)], self.edges.get((m, p))
            if m != p and second is not None and first.multiset_contained and second.multiset_contained:
                edge = Edge(c, p, pair.columns, first.child_rows, first.child_distinct_rows, True)
                return Verdict(pair, edge, witness=m)
        return None

    def record(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)
        key = (verdict.pair.child, verdict.pair.parent)
        if verdict.edge is not None:
            self.edges[key] = verdict.edge
            self.parents_of[key[0]].add(key[1])
            self.children_of[key[1]].add(key[0])
        elif verdict.error is None:
            self.rejected.add(key)


@dataclass(frozen=True)
class VerifyOutcome:
    verdicts: tuple[Verdict, ...]
    bytes_read: int


class _ChildCache:
    """Counted child frames by table id, least recently used dropped past :data:`CACHE_CELLS`."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[pl.DataFrame, int]] = OrderedDict()
        self._cells = 0

    def get(self, table: str) -> tuple[pl.DataFrame, int] | None:
        if table in self._items:
            self._items.move_to_end(table)
            return self._items[table]
        return None

    def put(self, table: str, frame: pl.DataFrame, rows: int) -> None:
        self._items[table] = (frame, rows)
        self._cells += frame.height * frame.width
        while self._cells > CACHE_CELLS and len(self._items) > 1:
            _, (old, _) = self._items.popitem(last=False)
            self._cells -= old.height * old.width


class ParentUnreadable(Exception):
    """Raised by :meth:`GroupJudge.judge_many` when the parent, not a child, turned out unreadable (engines
    that read lazily only find out while judging)."""


class GroupJudge(ABC):
    """What an engine provides to stage 4: open a parent projection, judge children against it, release it.
    :func:`run_verification` owns the order, the inference and the error reporting.

    ``batch_size`` > 1 lets an engine judge several children of one group in one go (:meth:`judge_many`, one
    Spark job instead of one per child); inference then runs before each batch rather than before each child.
    """

    bytes_read: int = 0
    batch_size: int = 1

    @abstractmethod
    def open_parent(self, parent: str, columns: tuple[str, ...]) -> Any:
        """The parent's projection on ``columns``, ready for :meth:`judge` (raises if it cannot be read)."""

    @abstractmethod
    def judge(self, pair: Pair, parent: Any) -> Verdict:
        """The verdict on one pair (raises if the child cannot be read)."""

    def judge_many(self, pairs: list[Pair], parent: Any) -> list[Verdict]:
        """Verdicts on several pairs of one group (raises if any child cannot be read)."""
        return [self.judge(pair, parent) for pair in pairs]

    def close_parent(self, parent: Any) -> None:
        """Release what :meth:`open_parent` holds."""


def _judge_batch(engine_judge: GroupJudge, batch: list[Pair], parent: Any) -> list[Verdict]:
    """A batch's verdicts; when a batch fails, its pairs are judged one by one so the error names its table."""
    if len(batch) > 1:
        try:
            return engine_judge.judge_many(batch, parent)
        except ParentUnreadable:
            raise
        except Exception:  # noqa: BLE001 - retried pair by pair below
            pass
    verdicts = []
    for pair in batch:
        try:
            verdicts.append(engine_judge.judge(pair, parent))
        except ParentUnreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - reported for the child table
            verdicts.append(Verdict(pair, error_table=pair.child, error=failure_reason(exc)))
    return verdicts


def run_verification(verifier: Verifier, refs: dict[str, TableRef], engine_judge: GroupJudge) -> VerifyOutcome:
    """Stage 4: every pair inferred or judged, each parent projection opened at most once per group."""
    with progress("stage 4: verify", total=len(verifier.pending)) as bar:
        for parent_id, columns, group in verifier.groups(refs):
            parent = None
            queue = list(group)
            try:
                while queue:
                    batch: list[Pair] = []
                    while queue and len(batch) < engine_judge.batch_size:
                        pair = queue.pop(0)
                        bar.advance()
                        inferred = verifier.infer(pair)
                        if inferred is None:
                            batch.append(pair)
                        else:
                            verifier.record(inferred)
                    if not batch:
                        continue
                    if parent is None:
                        try:
                            parent = engine_judge.open_parent(parent_id, columns)
                        except Exception as exc:  # noqa: BLE001 - reported for the parent table
                            for rest in batch + queue:
                                verifier.record(Verdict(rest, error_table=parent_id, error=failure_reason(exc)))
                            break
                    try:
                        verdicts = _judge_batch(engine_judge, batch, parent)
                    except ParentUnreadable as exc:
                        for rest in batch + queue:
                            verifier.record(Verdict(rest, error_table=parent_id, error=str(exc)))
                        break
                    for verdict in verdicts:
                        verifier.record(verdict)
            finally:
                if parent is not None:
                    engine_judge.close_parent(parent)
    return VerifyOutcome(tuple(verifier.verdicts), engine_judge.bytes_read)


class _PolarsJudge(GroupJudge):
    """The local engine: a parent table is read once (all the columns its groups need), children are counted
    once and kept in a bounded cache."""

    def __init__(self, root: str, refs: dict[str, TableRef], verifier: Verifier):
        self.fs, _ = resolve_root(root)
        self.refs = refs
        self.cache = _ChildCache()
        self.needed: dict[str, set[str]] = defaultdict(set)
        for pair in verifier.pending:
            self.needed[pair.parent].update(pair.columns)
        self.loaded: tuple[str, pa.Table] | None = None  # groups of one parent are consecutive

    def open_parent(self, parent: str, columns: tuple[str, ...]) -> pl.DataFrame:
        if self.loaded is None or self.loaded[0] != parent:
            wanted = sorted(self.needed[parent])
            self.loaded = (parent, read_table(self.fs, self.refs[parent], wanted))
            self.bytes_read += projection_bytes(self.fs, self.refs[parent], wanted)
        return normalize_frame(self.loaded[1], columns)

    def judge(self, pair: Pair, parent: pl.DataFrame) -> Verdict:
        hit = self.cache.get(pair.child)
        if hit is None:
            table = read_table(self.fs, self.refs[pair.child], list(pair.columns))
            self.bytes_read += projection_bytes(self.fs, self.refs[pair.child], pair.columns)
            hit = (counted(normalize_frame(table, pair.columns), pair.columns), table.num_rows)
            self.cache.put(pair.child, *hit)
        return judge(pair, hit[0], hit[1], parent)


def verify_local(root: str, refs: dict[str, TableRef], pairs: list[Pair], *, infer: bool = True) -> VerifyOutcome:
    """Stage 4 in this process (polars)."""
    verifier = Verifier(pairs, infer=infer)
    return run_verification(verifier, refs, _PolarsJudge(root, refs, verifier))


class LocalVerifier:
    """The local engine's :class:`~lakeshrink.containment.ports.ContainmentVerifier`: :func:`verify_local`."""

    def __init__(self, engine: Any = None):
        self.engine = engine

    def verify(self, root: str, refs: dict[str, TableRef], pairs: list[Pair], *, infer: bool = True) -> VerifyOutcome:
        return verify_local(root, refs, pairs, infer=infer)
