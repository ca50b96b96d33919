"""The containment scan: R2D2's hierarchical pipeline plus exact verification, and its saved output.

R2D2 (Shah et al., "R2D2: Reducing Redundancy and Duplication in Data Lakes", SIGMOD'24) narrows the candidate
pairs of a lake with cheap steps before anything expensive runs. lakeshrink runs four stages:

1. schema containment graph over an inverted column index (:mod:`.schema_graph`), from footers;
2. min-max, null-count and row-count pruning from the same footers or Delta log statistics (:mod:`.minmax`);
3. content pruning with bottom-k hash sketches, one task per table (:mod:`.sketches`);
4. exact verification by hashed anti-join, one parent projection per (parent, column set) (:mod:`.verify`),
   through the engine's :data:`~lakeshrink.containment.scan.ports.CONTAINMENT_VERIFIER` port.

Stages 1-3 only drop pairs that are certainly not contained; stage 4 is the exact judge. A table that cannot be
read, has no columns, or changes during the scan is reported in ``skipped`` and takes no part in any edge.

Output format (``OUT_DIR/containment.json``, written atomically; ``format`` is the magic, ``version`` the
version; readers refuse other values)::

    {"format": "lakeshrink.containment.scan", "version": 1, "lake": "<root>", "types": "exact"|"compatible",
     "engine": "local"|"spark", "tables": N,
     "table_details": [{"table", "format", "bytes", "rows", "columns": [...], "files": [{"path", "size"}]}],
     "edges": [{"child", "parent", "columns", "child_rows", "child_distinct_rows", "multiset_contained"}],
     "reduction": [{"child", "parent"}], "equal_groups": [[id, ...]],
     "stages": [{"name", "pairs_in", "pairs_out", "seconds", "bytes_read", "footer_bytes", "data_bytes", "cache_bytes", "shuffle_bytes"}],
     "skipped": [{"table", "reason"}]}

``OUT_DIR/edges.parquet`` holds the same edges (columns as a list of strings), with the schema metadata
``lakeshrink.format = lakeshrink.containment.edges`` and ``lakeshrink.version = 1``.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.containment import graph, identity
from lakeshrink.containment.scan import footer_guard, minmax, sketches
from lakeshrink.containment.scan.compare import TypesMode, check_types_mode
from lakeshrink.containment.scan.footer_guard import read_footers
from lakeshrink.containment.scan.footers import FooterTask, TableFooter
from lakeshrink.containment.scan.fpcache import FOOTERS_FILE, KNOWN_TABLES_FILE, ScanCache, table_state
from lakeshrink.containment.scan.fused import ReadResult, ReadTask, read_once, without_sketches
from lakeshrink.containment.lake import Lake, TableRef, discover
from lakeshrink.containment.scan.schema_graph import Candidates, Pair, candidate_parents
from lakeshrink.containment.scan.ports import CATALOG_READER, CONTAINMENT_VERIFIER
from lakeshrink.containment.scan.verify import (
    Edge, VerifyOutcome, VerifyPlan, by_representatives, plan_verification, representatives,
)
from lakeshrink.engine import Engine, get_engine
from lakeshrink.errors import CorruptArchive, InputError
from lakeshrink.fileio import atomic_file
from lakeshrink.memory import release_memory
from lakeshrink.serde import write_json
from lakeshrink.tables.discovery import changed

SCAN_FORMAT = "lakeshrink.containment.scan"
EDGES_FORMAT = "lakeshrink.containment.edges"
SCAN_VERSION = 1
SCAN_FILE = "containment.json"
EDGES_FILE = "edges.parquet"


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int


@dataclass(frozen=True)
class TableDetail:
    table: str
    format: str
    bytes: int
    rows: int
    columns: tuple[str, ...]
    files: tuple[FileEntry, ...]


@dataclass(frozen=True)
class StageStats:
    """One stage's funnel: candidate pairs in and out, wall time, bytes read from the lake (footer/log bytes +
    data bytes), bytes of the scan cache read (fingerprints) and bytes moved between partitions (spilled or
    shuffled)."""

    name: str
    pairs_in: int
    pairs_out: int
    seconds: float
    bytes_read: int
    footer_bytes: int = 0
    data_bytes: int = 0
    cache_bytes: int = 0
    shuffle_bytes: int = 0


@dataclass(frozen=True)
class ReductionEdge:
    child: str
    parent: str


@dataclass(frozen=True)
class SkippedTable:
    table: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """Everything a containment scan found; :meth:`save` writes it, :func:`load_scan` reads it back."""

    lake: str
    types: str
    engine: str
    tables: int
    table_details: tuple[TableDetail, ...]
    edges: tuple[Edge, ...]
    reduction: tuple[ReductionEdge, ...]
    equal_groups: tuple[tuple[str, ...], ...]
    stages: tuple[StageStats, ...]
    skipped: tuple[SkippedTable, ...] = ()
    version: int = SCAN_VERSION

    def to_dict(self) -> dict[str, Any]:
        from lakeshrink.serde import to_jsonable

        body = {f: to_jsonable(getattr(self, f)) for f in self.__dataclass_fields__ if f != "version"}
        return {"format": SCAN_FORMAT, "version": self.version, **body}

    @property
    def contained_tables(self) -> tuple[str, ...]:
        """Tables contained in at least one other table."""
        return tuple(sorted({e.child for e in self.edges}))

    @property
    def contained_bytes(self) -> int:
        """Bytes of the tables contained in some other table (what deleting them all could at most save;
        for a group of equal tables, one must stay: see the planner)."""
        sizes = {t.table: t.bytes for t in self.table_details}
        return sum(sizes[t] for t in self.contained_tables)

    @property
    def removable_bytes(self) -> int:
        """Bytes of the contained tables, keeping one table (the representative) of each group of equal tables
        unless it is itself contained in a table outside its group: what deleting the redundant tables frees."""
        sizes = {t.table: t.bytes for t in self.table_details}
        group_of = {member: group for group in self.equal_groups for member in group}
        removable = {e.child for e in self.edges if e.child not in group_of or e.child != group_of[e.child][0]}
        removable |= {e.child for e in self.edges if e.child in group_of and e.parent not in group_of[e.child]}
        return sum(sizes[t] for t in removable)

    def save(self, out_dir: str | Path) -> Path:
        """Write ``containment.json`` and ``edges.parquet`` into ``out_dir`` (created if needed), atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(out / EDGES_FILE) as tmp:
            pq.write_table(edges_table(self.edges), tmp)
        write_json(self, out / SCAN_FILE)
        return out


def edges_table(edges: tuple[Edge, ...] | list[Edge]) -> pa.Table:
    """The edges as an Arrow table carrying the edges format's magic and version in its schema metadata."""
    schema = pa.schema(
        [
            ("child", pa.string()),
            ("parent", pa.string()),
            ("columns", pa.list_(pa.string())),
            ("child_rows", pa.int64()),
            ("child_distinct_rows", pa.int64()),
            ("multiset_contained", pa.bool_()),
        ],
        metadata={"lakeshrink.format": EDGES_FORMAT, "lakeshrink.version": str(SCAN_VERSION)},
    )
    rows = {name: [getattr(e, name) for e in edges] for name in schema.names}
    rows["columns"] = [list(e.columns) for e in edges]
    return pa.table(rows, schema=schema)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def load_scan(out_dir: str | Path) -> ScanResult:
    """Read a scan written by :meth:`ScanResult.save`.

    Raises:
        InputError: ``containment.json`` is missing or not JSON.
        CorruptArchive: it is not a lakeshrink scan, or of an unknown version.
    """
    path = Path(out_dir) / SCAN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the scan: {exc.strerror}", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"the scan is not valid JSON: {exc}", path=path) from exc
    if not isinstance(data, dict) or data.get("format") != SCAN_FORMAT:
        raise CorruptArchive(f"not a lakeshrink containment scan (format {data.get('format')!r})", path=path)
    if data.get("version") != SCAN_VERSION:
        raise CorruptArchive(f"unsupported scan version {data.get('version')!r}; expected {SCAN_VERSION}", path=path)
    details = tuple(
        TableDetail(
            d["table"], d["format"], d["bytes"], d["rows"], tuple(d["columns"]),
            tuple(FileEntry(f["path"], f["size"]) for f in d["files"]),
        )
        for d in data["table_details"]
    )
    edges = tuple(Edge(**{**e, "columns": tuple(e["columns"])}) for e in data["edges"])
    return ScanResult(
        lake=data["lake"],
        types=data["types"],
        engine=data.get("engine", "local"),
        tables=data["tables"],
        table_details=details,
        edges=edges,
        reduction=tuple(_from_dict(ReductionEdge, r) for r in data["reduction"]),
        equal_groups=tuple(tuple(g) for g in data.get("equal_groups", ())),
        stages=tuple(_from_dict(StageStats, s) for s in data["stages"]),
        skipped=tuple(_from_dict(SkippedTable, s) for s in data["skipped"]),
    )


@dataclass
class _Run:
    """Mutable state of one scan while it runs (never leaves this module)."""

    lake: Lake
    root: str
    types: TypesMode
    engine: Engine
    cache: ScanCache
    persistent: bool
    refs: dict[str, TableRef] = field(default_factory=dict)
    states: dict[str, str | None] = field(default_factory=dict)
    footers: dict[str, TableFooter] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stages: list[StageStats] = field(default_factory=list)
    reads: dict[str, tuple[ReadTask, ReadResult]] = field(default_factory=dict)
    touching: set[str] | None = None  # incremental: only pairs touching these tables are computed
    reused: list[Edge] = field(default_factory=list)
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def skip(self, table: str, reason: str) -> None:
        self.skipped.setdefault(table, reason)

    def alive(self, pairs: list[Pair]) -> list[Pair]:
        return [p for p in pairs if p.child not in self.skipped and p.parent not in self.skipped]

    def stage(self, name: str, pairs_in: int, pairs_out: int, start: float, footer: int = 0, data: int = 0, cache: int = 0, shuffle: int = 0) -> None:
        seconds = round(time.perf_counter() - start, 4)
        self.stages.append(StageStats(name, pairs_in, pairs_out, seconds, footer + data, footer, data, cache, shuffle))


REUSE_EDGES = True  # a re-scan decides only the pairs touching a changed table (see tests/test_containment_rescan.py)


def _reuse_previous(run: _Run) -> None:
    """Incremental re-scan: edges between tables unchanged since the previous scan (same state) are taken from
    the cache; the pipeline then runs only on pairs touching a changed or new table (containment of a pair
    depends only on its two tables, and the previous scan decided every pair of the states it recorded).
    A property test (random lakes, random single changes) checks that such a re-scan equals a fresh scan."""
    if not run.persistent or not REUSE_EDGES:
        return
    previous, edges = run.cache.load_edges(run.types)
    if not previous:
        return
    by_state = {s: t for t, s in run.states.items() if s is not None and s in previous}
    run.touching = set(run.refs) - set(by_state.values())
    for child_state, parent_state, columns, rows, distinct, multiset in edges:
        child, parent = by_state.get(child_state), by_state.get(parent_state)
        if child is not None and parent is not None:
            run.reused.append(Edge(child, parent, columns, rows, distinct, multiset))


def _stage_schema(run: _Run) -> Candidates:
    start = time.perf_counter()
    cached = run.cache.load_footers() if run.persistent else {}
    todo = []
    for ref in run.lake.tables:
        if ref.id in run.skipped:
            continue
        state = run.states.get(ref.id)
        if state is not None and state in cached:
            run.footers[ref.id] = replace(cached[state], table=ref.id)
        else:
            todo.append(ref)
    footers = read_footers(run.engine, [FooterTask(run.root, ref) for ref in todo],
                           description="stage 1: footers and schema graph")
    for footer in footers:
        if footer.error is not None:
            run.skip(footer.table, footer.error)
        else:
            run.footers[footer.table] = footer
    schemas = {t: f.schema for t, f in run.footers.items() if f.schema is not None}
    candidates = candidate_parents(schemas, run.types, touching=run.touching)
    n = len(schemas)
    footer_bytes = sum(f.footer_bytes for f in footers if f.error is None)
    run.stage("schema", n * (n - 1), len(candidates), start, footer=footer_bytes)
    return candidates


def _stage_minmax(run: _Run, candidates: Candidates) -> list[Pair]:
    start = time.perf_counter()
    kept, _ = minmax.minmax_prune_candidates(candidates, run.footers)
    run.stage("minmax", len(candidates), len(kept), start)
    return kept


def _stage_sketch(run: _Run, pairs: list[Pair], k: int) -> list[Pair]:
    """Stage 3: the one read of each table (:mod:`.fused`): sketches to prune with, fingerprints for stage 4."""
    start = time.perf_counter()
    release_memory()  # what stages 1-2 freed (the 10,000-table lake: 265 MiB of glibc's heap, held through stage 3)
    tasks = []
    for table, needs in sketches.table_needs(pairs).items():
        state = run.states.get(table)
        key = state if state is not None else f"scan-{run.nonce}-{len(tasks)}"
        tasks.append(ReadTask(run.root, run.refs[table], needs, str(run.cache.root), key, state is not None, k))
    results = run.engine.map(read_once, tasks, description="stage 3: read each table once (sketches, fingerprints)")
    sk = {}
    for task, r in zip(tasks, results):
        if r.error is not None:
            run.skip(r.table, r.error)
        else:
            run.reads[r.table] = (task, r)
            sk[r.table] = r.sketch
    # identical tables (same rows on every column read) have the same sketches: each class pair is checked once
    alive = run.alive(pairs)
    classes, of = by_representatives(alive, representatives(set(sk), run.reads))
    keep = ~sketches.dropped(classes, sk)
    del classes
    release_memory()  # what stage 3's results and the pruning freed, before the reads are slimmed
    kept = [p for p, k in zip(alive, keep[of].tolist()) if k]
    del keep, of
    data = sum(r.bytes_read for r in results)
    del sk, results
    shared: dict[object, object] = {}  # column sets and names as the tasks hold them (built here, shared by the pairs)
    for task, _ in run.reads.values():
        for colset in task.needs.colsets:
            shared.setdefault(colset, colset)
            for name in colset:
                shared.setdefault(name, name)
    for t, (task, r) in run.reads.items():  # stage 4 needs no sketches; in place, each table's freed as it goes
        run.reads[t] = (task, without_sketches(r, shared))
    del shared
    release_memory()
    run.stage("sketch", len(pairs), len(kept), start, data=data)
    return kept


def _verify(run: _Run, plan: VerifyPlan) -> VerifyOutcome:
    return run.engine.port(CONTAINMENT_VERIFIER).verify(plan, spill_dir=str(run.cache.root))


def _stage_verify(run: _Run, pairs: list[Pair]) -> list[Edge]:
    """Stage 4 from the fingerprints stage 3 stored, then the change check."""
    start = time.perf_counter()
    pairs = run.alive(pairs)
    tables = {p.child for p in pairs} | {p.parent for p in pairs}
    plan = plan_verification(pairs, {t: run.reads[t] for t in tables})
    outcome = _verify(run, plan)
    edges = _collect(run, outcome)
    edges = _check_unchanged(run, edges)
    run.stage("verify", len(pairs), len(edges), start, cache=outcome.bytes_read, shuffle=outcome.shuffle_bytes)
    return edges


def _collect(run: _Run, outcome: VerifyOutcome) -> list[Edge]:
    for table, reason in outcome.failed.items():
        run.skip(table, reason or "could not be verified")
    return sorted(outcome.edges, key=lambda e: (e.child, e.parent))


def _check_unchanged(run: _Run, edges: list[Edge]) -> list[Edge]:
    """Drop every edge touching a table whose files changed since discovery (reported as skipped)."""
    involved = {e.child for e in edges} | {e.parent for e in edges}
    for table in sorted(involved - set(run.skipped)):
        reason = changed(run.lake, run.refs[table])  # Delta, Iceberg: one listing of the log folder
        if reason is not None:
            run.skip(table, reason)
    return [e for e in edges if e.child not in run.skipped and e.parent not in run.skipped]


def _save_cache(run: _Run, edges: list[Edge]) -> None:
    """Record what this scan decided, for the next one (see :mod:`.fpcache`)."""
    states = {t: s for t, s in run.states.items() if s is not None and t not in run.skipped and t in run.footers}
    run.cache.save_footers({states[t]: run.footers[t] for t in states})
    run.cache.save_edges(run.types, states, edges)
    run.cache.prune({s for s in run.states.values() if s is not None})


def scan_lake(
    root: str | Path,
    *,
    engine: Engine | str = "local",
    types: TypesMode = "exact",
    tables: list[str] | None = None,
    k: int = sketches.DEFAULT_K,
    iceberg_catalog: Any = None,
    cache: str | Path | None = None,
) -> ScanResult:
    """Find every table of a lake contained in another (R2D2 pipeline plus exact verification).

    Args:
        root: lake root, a local path or a pyarrow filesystem URI.
        engine: an :class:`~lakeshrink.engine.Engine` or its name (``"local"``, ``"spark"``).
        types: ``"exact"`` (same Arrow type) or ``"compatible"`` (same family, see :mod:`.compare`).
        tables: explicit table paths instead of walking the lake.
        k: bottom-k sketch size of stage 3.
        iceberg_catalog: a pyiceberg catalog or its name, for the current metadata of Iceberg tables.
        cache: a directory keeping fingerprints, footers and edges between scans (:mod:`.fpcache`): a re-scan
            reads only the tables that changed. Default: a temporary directory, removed after the scan.

    Returns:
        The :class:`ScanResult` (not yet saved; call :meth:`ScanResult.save`).
    """
    check_types_mode(types)
    if _is_local(engine) and not _is_rescan(cache):
        footer_guard.prestart()  # footers are read in a child process: start it during discovery
    known = Path(cache) / KNOWN_TABLES_FILE if cache is not None else None  # unchanged Delta/Iceberg tables: not reopened
    lake = discover(root, tables=tables, iceberg_catalog=iceberg_catalog, known=known)
    text = str(root)
    task_root = text if "://" in text else lake.root
    return scan_tables(lake, task_root=task_root, label=task_root, engine=engine, types=types, k=k, cache=cache)


def _is_local(engine: Engine | str) -> bool:
    return (engine if isinstance(engine, str) else engine.name) == "local"


def _is_rescan(cache: str | Path | None) -> bool:
    """Whether a previous scan left footers in ``cache``: then only new or changed tables' footers are read, and
    the footer reader's child process is started only if one of them is a Parquet table (often none is)."""
    return cache is not None and (Path(cache) / FOOTERS_FILE).is_file()


def scan_catalog(database: str, *, engine: Engine, types: TypesMode = "exact", k: int = sketches.DEFAULT_K,
                 cache: str | Path | None = None) -> ScanResult:
    """The containment scan of a catalog database's stored tables (``lakeshrink containment scan --catalog DB``),
    listed through the engine's :data:`~lakeshrink.containment.scan.ports.CATALOG_READER` port.

    Raises:
        EngineUnavailable: the engine has no catalog (the local engine).
    """
    lake, root = engine.port(CATALOG_READER).catalog_lake(database)
    return scan_tables(lake, task_root=root, label=f"catalog:{database}", engine=engine, types=types, k=k, cache=cache)


def scan_tables(
    lake: Lake,
    *,
    task_root: str,
    label: str,
    engine: Engine | str = "local",
    types: TypesMode = "exact",
    k: int = sketches.DEFAULT_K,
    cache: str | Path | None = None,
) -> ScanResult:
    """Run the four stages on the tables of ``lake`` (from :func:`discover`, or a Spark catalog).

    Args:
        lake: the tables; ``lake.skipped`` is carried into the result.
        task_root: what each task passes to :func:`~lakeshrink.containment.lake.resolve_root` to get the
            filesystem (a local path or a URI); table paths are in that filesystem.
        label: the lake as recorded in the output.
        cache: the scan cache directory (see :func:`scan_lake`); None for a temporary one.
    """
    types = check_types_mode(types)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    owned = isinstance(engine, str)
    eng = get_engine(engine) if isinstance(engine, str) else engine
    temporary = tempfile.TemporaryDirectory(prefix="lakeshrink-scan-") if cache is None else None
    try:
        store = ScanCache(temporary.name if temporary is not None else cache)
        run = _Run(lake, task_root, types, eng, store, temporary is None, refs={t.id: t for t in lake.tables})
        run.states = {t.id: table_state(t) for t in lake.tables}
        for s in lake.skipped:
            run.skip(s.table, s.reason)
        for alias, kept in identity.alias_groups(lake.filesystem, lake.root, lake.tables).items():
            run.skip(alias, f"same storage as {kept} (a symlink or hard link): a table cannot be its own parent")
        _reuse_previous(run)
        pairs = _stage_minmax(run, _stage_schema(run))
        pairs = _stage_sketch(run, pairs, k)
        edges = _stage_verify(run, pairs)
        edges = sorted(edges + _check_unchanged(run, run.reused), key=lambda e: (e.child, e.parent))
        edges = [e for e in edges if e.child not in run.skipped and e.parent not in run.skipped]
        if run.persistent:
            _save_cache(run, edges)
    finally:
        if owned:
            eng.close()
        if temporary is not None:
            temporary.cleanup()
    return _result(run, label, edges)


def _result(run: _Run, label: str, edges: list[Edge]) -> ScanResult:
    details = tuple(
        TableDetail(
            t, run.refs[t].format, run.refs[t].bytes, f.rows, tuple(f.schema.names) if f.schema else (),
            tuple(FileEntry(d.path, d.size) for d in run.refs[t].files),
        )
        for t, f in sorted(run.footers.items())
        if t not in run.skipped
    )
    pairs = [(e.child, e.parent) for e in edges]
    return ScanResult(
        lake=label,
        types=run.types,
        engine=run.engine.name,
        tables=len(details),
        table_details=details,
        edges=tuple(edges),
        reduction=tuple(ReductionEdge(c, p) for c, p in graph.transitive_reduction(pairs)),
        equal_groups=tuple(graph.equal_groups(pairs)),
        stages=tuple(run.stages),
        skipped=tuple(SkippedTable(t, r) for t, r in sorted(run.skipped.items())),
    )
