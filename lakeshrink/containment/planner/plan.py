"""Making a deletion plan from a containment scan: solve, write recipes, audit, and say why for every table.

:func:`make_plan` reads a scan (``SCAN_DIR/containment.json``, :mod:`lakeshrink.containment.scan`), prices every
table and edge (:mod:`.costs`), chooses the marks (:mod:`.solver`), builds an exact recipe for each chosen table
(:mod:`.recipes`, one engine task per parent), rebuilds and audits it (:mod:`.audit`). A table whose recipe
or audit fails is not marked; its edge is dropped and the choice is solved again (at most ``max_rounds`` times),
so the plan never relies on an unproven rebuild.

Plan directory (written to a temporary directory and renamed into place)::

    PLAN_DIR/plan.json            sealed document, magic "lakeshrink-plan", version 1 (see :mod:`lakeshrink.sealed`)
    PLAN_DIR/recipes/<name>.json  one sealed recipe per marked table ("lakeshrink-recipe", version 1)
    PLAN_DIR/audit/<name>.json    validation results; audit/data_docs/index.html: GX data docs (--gx-data-docs)
    PLAN_DIR/report.html          the self-contained report (:mod:`.report`)

``plan.json`` holds ``marked`` (``table, parent, bytes, reason, rebuild_seconds_estimate``, the recipe's path and
checksum, the audit's files), ``kept`` (every other table with the reason), ``bytes_saved``, ``solver``, the
cost model, the MILP-vs-greedy comparison, the savings-versus-latency-bound curve, and ``lake`` (the root).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lakeshrink.containment import identity
from lakeshrink.containment.planner import audit as audit_mod
from lakeshrink.containment.planner import keep_rules, recipes
from lakeshrink.containment.planner.costs import (
    AccessProfile, CostModel, ThroughputMeasurement, load_access, load_costs, measure_throughput, with_throughput,
)
from lakeshrink.containment.lake import discover
from lakeshrink.containment.planner.solver import MILP_MAX_EDGES, MILP_TIME_LIMIT, PlanProblem, SolverName, solve, solve_greedy
from lakeshrink.containment.scan import ScanResult, load_scan
from lakeshrink.containment.planner.table_paths import check_table_id
from lakeshrink.sealed import build, read_sealed, write_sealed
from lakeshrink.engine import Engine, LocalEngine
from lakeshrink.errors import CorruptArchive, InputError, LakeshrinkError, TableError
from lakeshrink.fileio import atomic_dir
from lakeshrink.progress import progress

PLAN_FORMAT = "lakeshrink-plan"
PLAN_VERSION = 1
PLAN_FILE = "plan.json"
CURVE_MILP_MAX_EDGES = 5_000


@dataclass(frozen=True)
class PlanOptions:
    """How to plan. ``gx`` False audits with row count and checksum only (no Great Expectations)."""

    solver: SolverName = "auto"
    gx: bool = True
    gx_data_docs: bool = False
    keep: tuple[str, ...] = ()  # glob patterns of table ids never to mark (``--keep``)
    milp_max_edges: int = MILP_MAX_EDGES
    time_limit: float = MILP_TIME_LIMIT
    max_rounds: int = 3
    curve_points: int = 12
    report: bool = True


@dataclass(frozen=True)
class MarkedTable:
    table: str
    parent: str
    bytes: int
    reason: str
    rebuild_seconds_estimate: float
    monthly_saving: float
    selector: str
    recipe: str
    recipe_sha256: str
    audit: str | None
    data_docs: str | None


@dataclass(frozen=True)
class KeptTable:
    table: str
    bytes: int
    reason: str


@dataclass(frozen=True)
class Rejected:
    """An edge the plan could not use: its recipe or its audit failed."""

    child: str
    parent: str
    reason: str


@dataclass(frozen=True)
class SolverRun:
    solver: str
    net_saving: float
    seconds: float
    optimal: bool
    tables_marked: int
    bytes_saved: int


@dataclass(frozen=True)
class CurvePoint:
    max_rebuild_seconds: float
    tables_marked: int
    bytes_saved: int


@dataclass(frozen=True)
class Plan:
    lake: str
    scan: str
    created: str
    solver: str
    solver_note: str
    optimal: bool
    marked: tuple[MarkedTable, ...]
    kept: tuple[KeptTable, ...]
    bytes_total: int
    bytes_saved: int
    monthly_storage_saved: float
    monthly_rebuild_cost: float
    monthly_net_saving: float
    currency: str
    cost_model: CostModel
    throughput: ThroughputMeasurement | None
    access_file: str | None
    audit_tool: str
    data_docs: str | None
    comparison: tuple[SolverRun, ...]
    curve: tuple[CurvePoint, ...]
    rejected: tuple[Rejected, ...]
    edges: tuple[tuple[str, str], ...]
    rounds: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Candidate:
    child: str
    parent: str


def _problem(scan: ScanResult, model: CostModel, access: AccessProfile, edges: list[_Candidate]) -> PlanProblem:
    names = tuple(t.table for t in scan.table_details)
    index = {t: i for i, t in enumerate(names)}
    nbytes = np.array([t.bytes for t in scan.table_details], dtype=np.float64)
    child = np.array([index[e.child] for e in edges], dtype=np.int64)
    parent = np.array([index[e.parent] for e in edges], dtype=np.int64)
    seconds = np.array([model.rebuild_seconds(nbytes[p]) for p in parent], dtype=np.float64)
    reads = np.array([access.get(e.child).reads_per_month for e in edges], dtype=np.float64)
    cost = reads * seconds / 3600.0 * model.compute_per_hour
    storage = np.array([model.storage_cost(b) for b in nbytes])
    bound = np.array([access.get(t).max_rebuild_seconds for t in names], dtype=np.float64)
    return PlanProblem(names, storage, bound, child, parent, seconds, cost)


def _candidates(scan: ScanResult, root: str | None = None) -> tuple[list[_Candidate], list[Rejected]]:
    """Edges whose columns are all of the child's columns (only those can rebuild the child), between tables
    that are different storage (checked on the lake at ``root`` when given: see :mod:`lakeshrink.containment.identity`)."""
    columns = {t.table: set(t.columns) for t in scan.table_details}
    usable, rejected = [], []
    keys: dict[str, frozenset[str]] = {}

    def key(table: str) -> frozenset[str]:
        if table not in keys:
            try:
                lake, ref = recipes.open_table(root, table)  # type: ignore[arg-type]
                keys[table] = identity.storage_key(lake.filesystem, ref)
            except (LakeshrinkError, OSError):
                keys[table] = frozenset()
        return keys[table]

    for e in scan.edges:
        check_table_id(e.child)
        check_table_id(e.parent)
        if e.child not in columns or e.parent not in columns:
            rejected.append(Rejected(e.child, e.parent, "the edge names a table the scan does not describe"))
        elif e.child == e.parent or (root is not None and key(e.child) & key(e.parent)):
            rejected.append(Rejected(e.child, e.parent, "the parent is the same storage as the child (a symlink or "
                                     "hard link): deleting one would delete the other"))
        elif set(e.columns) != columns[e.child]:
            rejected.append(Rejected(e.child, e.parent, "the edge covers only some of the child's columns"))
        else:
            usable.append(_Candidate(e.child, e.parent))
    return usable, rejected


def _recipe_task(args: tuple[str, str, tuple[str, ...]]) -> list[recipes.Recipe | str]:
    """Engine task: the recipes of one parent's children, reading the parent once; a failure comes back as its
    message (one bad table must not stop the job)."""
    root, parent, children = args
    try:
        results = recipes.build_recipes(root, parent, list(children))
    except (LakeshrinkError, OSError) as exc:
        return [f"recipe failed: {exc}"] * len(children)
    return [r if isinstance(r, recipes.Recipe) else f"recipe failed: {r}" for r in results]


def _build_recipes(engine: Engine, root: str, todo: list[tuple[str, str]]) -> list[recipes.Recipe | str]:
    """Recipes for (child, parent) pairs, one engine task per parent, in the order of ``todo``."""
    by_parent: dict[str, list[str]] = {}
    for child, parent in todo:
        by_parent.setdefault(parent, []).append(child)
    tasks = [(root, parent, tuple(children)) for parent, children in by_parent.items()]
    done = engine.map(_recipe_task, tasks, description="building rebuild recipes")
    found = {(c, p): r for (_, p, cs), rs in zip(tasks, done) for c, r in zip(cs, rs)}
    return [found[pair] for pair in todo]


def _bytes_saved(problem: PlanProblem, sizes: dict[str, int], edges: tuple[int, ...]) -> int:
    return sum(sizes[problem.tables[problem.child[e]]] for e in edges)


def _curve(problem: PlanProblem, sizes: dict[str, int], options: PlanOptions) -> tuple[CurvePoint, ...]:
    """Bytes the plan would save if every table had the same latency bound, for bounds across the edges' range.

    Each point is a full solve; past ``CURVE_MILP_MAX_EDGES`` usable edges ``auto`` uses greedy for the curve.
    """
    if len(problem.seconds) == 0:
        return ()
    # the curve is a step function that changes only at edges' rebuild times: sample those
    steps = np.unique(problem.seconds)
    picks = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max(options.curve_points - 1, 1))).round().astype(int))
    grid = [0.0, *steps[picks].tolist()]
    points = []
    for bound in grid:
        sel = solve(problem.with_uniform_bound(bound), options.solver, milp_max_edges=min(options.milp_max_edges, CURVE_MILP_MAX_EDGES),
                    time_limit=options.time_limit)
        points.append(CurvePoint(round(bound, 6), len(sel.edges), _bytes_saved(problem, sizes, sel.edges)))
    return tuple(points)


def _kept_reasons(problem: PlanProblem, marked: dict[str, str], rejected: dict[str, str], model: CostModel) -> dict[str, str]:
    """Why each unmarked table is kept."""
    users: dict[str, list[str]] = {}
    for child, parent in marked.items():
        users.setdefault(parent, []).append(child)
    by_child: dict[int, list[int]] = {}
    for e, c in enumerate(problem.child.tolist()):
        by_child.setdefault(c, []).append(e)
    reasons: dict[str, str] = {}
    for i, table in enumerate(problem.tables):
        if table in marked:
            continue
        mine = np.array(by_child.get(i, []), dtype=np.int64)
        if table in users:
            names = sorted(users[table])
            reasons[table] = f"kept as the parent of {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
        elif table in rejected:
            reasons[table] = rejected[table]
        elif len(mine) == 0:
            reasons[table] = "not contained in another table"
        elif not (fast := mine[problem.seconds[mine] <= problem.bound[i]]).size:
            reasons[table] = (f"every rebuild would exceed its bound: at best {problem.seconds[mine].min():.1f} s "
                              f"> {problem.bound[i]:g} s")
        elif (problem.storage[i] - problem.cost[fast] <= 0).all():
            reasons[table] = (f"rebuilding costs more than keeping it: {problem.cost[fast].min():.3g} vs "
                              f"{problem.storage[i]:.3g} {model.currency}/month")
        else:
            reasons[table] = ("not chosen: its possible parents are marked, or marking it would force keeping a bigger "
                              "table (equal tables keep one copy)")
    return reasons


def _marked_reason(m: recipes.Recipe, seconds: float, saving: float, currency: str, n_cols: int) -> str:
    return (f"contained in {m.parent} on all {n_cols} columns; rebuild selects {m.selector.describe()}"
            f"{' with multiplicities' if m.multiplicities else ''}; est. {seconds:.1f} s; saves {saving:.3g} {currency}/month net")


def make_plan(
    scan_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    costs: str | os.PathLike[str] | None = None,
    access: str | os.PathLike[str] | None = None,
    engine: Engine | None = None,
    options: PlanOptions = PlanOptions(),
    overwrite: bool = False,
) -> Plan:
    """Plan which contained tables to mark, with recipes and audits, and write ``out_dir``.

    Raises:
        InputError, CorruptArchive: the scan, costs or access file is missing or malformed.
        TableError: a table id in the scan escapes the lake root.
        AuditUnavailable: ``options.gx`` and Great Expectations is not installed.
        FileExistsError: ``out_dir`` exists and ``overwrite`` is false.
    """
    engine = engine or LocalEngine()
    if options.gx:
        audit_mod.require_gx()  # before any expensive work
    scan = load_scan(scan_dir)
    model = load_costs(costs)
    profile = load_access(access)
    root = scan.lake  # absolute local path or URI, as the scan wrote it
    if root.startswith("catalog:"):
        raise InputError(
            f"the scan in {scan_dir} is of Spark catalog database {root[len('catalog:'):]!r}; plans need a lake root "
            "(a path or URI) to pin parents and rebuild from: scan the database's location instead",
            path=Path(scan_dir) / "containment.json",
        )
    discover(root, tables=[])  # fails early, naming the root, if the lake is gone
    usable, rejected_scan = _candidates(scan, root)
    keep_rules.check_access_tables(profile, {t.table for t in scan.table_details} | {s.table for s in scan.skipped},
                                   access)
    usable, aside = keep_rules.set_aside(usable, profile, options.keep, root)
    rejected_scan += [Rejected(e.child, e.parent, why) for e, why in aside]
    measurement = None
    if model.throughput_bytes_per_s is None:
        measurement = measure_throughput(discover(root, tables=[t.table for t in scan.table_details]), engine, root=root)
        model = with_throughput(model, measurement)
    sizes = {t.table: t.bytes for t in scan.table_details}
    notes: list[str] = []
    out_dir = Path(out_dir)
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        (tmp / "recipes").mkdir()
        built: dict[tuple[str, str], recipes.Recipe] = {}
        audits: dict[tuple[str, str], audit_mod.AuditResult] = {}
        failed: dict[tuple[str, str], str] = {}
        names: dict[tuple[str, str], str] = {}
        auditor = None
        rounds = 0
        try:
            while True:
                rounds += 1
                problem = _problem(scan, model, profile, [e for e in usable if (e.child, e.parent) not in failed])
                selection = solve(problem, options.solver, milp_max_edges=options.milp_max_edges, time_limit=options.time_limit)
                pairs = [(problem.tables[problem.child[e]], problem.tables[problem.parent[e]]) for e in selection.edges]
                todo = [p for p in pairs if p not in built and p not in failed]
                results = _build_recipes(engine, root, todo)
                parents: dict[str, Any] = {}  # the last parent read, shared by its children's audits
                with progress("auditing rebuilds", total=len(todo)) as bar:
                    for pair, result in sorted(zip(todo, results), key=lambda item: item[0][1]):
                        bar.advance()
                        if isinstance(result, str):
                            failed[pair] = result
                            continue
                        built[pair] = result
                        if auditor is None:
                            auditor = audit_mod.make_auditor(tmp / "audit", gx=options.gx, data_docs=options.gx_data_docs)
                        name = f"{len(audits):04d}-{audit_mod.slug(pair[0])}"
                        verdict = audit_mod.audit_recipe(auditor, result, root, name, parents)
                        audits[pair] = verdict
                        names[pair] = name
                        if not verdict.success:
                            failed[pair] = verdict.reason
                if not any(p in failed for p in pairs) or rounds >= options.max_rounds:
                    break
        finally:
            if auditor is not None:
                auditor.close()
        final_edges = tuple(e for e, p in zip(selection.edges, pairs) if p not in failed)
        greedy = solve_greedy(problem)
        comparison = [SolverRun(s.solver, s.net_saving, s.seconds, s.optimal, len(s.edges), _bytes_saved(problem, sizes, s.edges))
                      for s in ((selection, greedy) if selection.solver == "milp" else (selection,))]
        marked_entries: list[MarkedTable] = []
        for i, e in enumerate(final_edges):
            child, parent = problem.tables[problem.child[e]], problem.tables[problem.parent[e]]
            recipe = built[(child, parent)]
            rel = f"recipes/{i:04d}-{audit_mod.slug(child)}.json"
            doc = recipes.write_recipe(recipe, tmp / rel)
            verdict = audits[(child, parent)]
            saving = float(problem.storage[problem.child[e]] - problem.cost[e])
            marked_entries.append(MarkedTable(
                child, parent, sizes[child],
                _marked_reason(recipe, float(problem.seconds[e]), saving, model.currency, len(recipe.columns)),
                round(float(problem.seconds[e]), 3), saving, recipe.selector.describe(), rel, doc["sha256"],
                verdict.result_json, auditor.page(names[(child, parent)]) if auditor is not None else None,
            ))
        marked_map = {m.table: m.parent for m in marked_entries}
        rejected = [*rejected_scan, *(Rejected(c, p, r) for (c, p), r in sorted(failed.items()))]
        rejected_by_child = {r.child: f"not marked: {r.reason}" for r in rejected if r.child not in marked_map}
        reasons = _kept_reasons(problem, marked_map, rejected_by_child, model)
        kept = tuple(KeptTable(t, sizes[t], reasons[t]) for t in problem.tables if t not in marked_map)
        storage_saved = float(sum(problem.storage[problem.child[e]] for e in final_edges))
        rebuild_cost = float(sum(problem.cost[e] for e in final_edges))
        docs_index = tmp / "audit" / "data_docs" / "index.html"
        plan = Plan(
            lake=root, scan=str(Path(scan_dir).resolve()),
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            solver=selection.solver, solver_note=selection.note, optimal=selection.optimal and not failed,
            marked=tuple(marked_entries), kept=kept, bytes_total=sum(sizes.values()),
            bytes_saved=sum(m.bytes for m in marked_entries), monthly_storage_saved=storage_saved,
            monthly_rebuild_cost=rebuild_cost, monthly_net_saving=storage_saved - rebuild_cost, currency=model.currency,
            cost_model=model, throughput=measurement, access_file=str(Path(access).resolve()) if access else None,
            audit_tool=audit_mod.GxAuditor.tool if options.gx else audit_mod.ChecksumAuditor.tool,
            data_docs="audit/data_docs/index.html" if docs_index.exists() else None,
            comparison=tuple(comparison), curve=_curve(problem, sizes, options) if options.curve_points else (),
            rejected=tuple(rejected), edges=tuple((e.child, e.parent) for e in scan.edges), rounds=rounds,
            notes=tuple(notes),
        )
        write_sealed(tmp / PLAN_FILE, PLAN_FORMAT, PLAN_VERSION, _plan_body(plan))
        if options.report:
            from lakeshrink.containment.planner.report import write_report

            write_report(plan, tmp / "report.html")
    return plan


def _plan_body(plan: Plan) -> dict[str, Any]:
    from lakeshrink.serde import to_jsonable

    return to_jsonable(plan)


@dataclass(frozen=True)
class LoadedPlan:
    """A plan read back from disk (checked), with its marked tables and access to their recipes."""

    dir: Path
    lake: str
    marked: tuple[MarkedTable, ...]
    document: dict[str, Any]
    sha256: str

    def entry(self, table: str) -> MarkedTable:
        for m in self.marked:
            if m.table == table:
                return m
        raise TableError(f"table {table!r} is not marked in this plan (marked: {', '.join(m.table for m in self.marked) or 'none'})",
                         table=table, path=self.dir / PLAN_FILE)

    def recipe(self, table: str) -> recipes.Recipe:
        """The recipe of a marked table, refused if it is not the one the plan sealed."""
        m = self.entry(table)
        check_table_id(m.recipe.removeprefix("recipes/"))
        path = self.dir / m.recipe
        try:
            doc = read_sealed(path, recipes.RECIPE_FORMAT)
        except FileNotFoundError as exc:
            raise InputError("the plan's recipe file is missing", path=path) from exc
        if doc["sha256"] != m.recipe_sha256:
            raise CorruptArchive("recipe is not the one the plan recorded (checksum differs)", path=path)
        recipe = recipes.recipe_from_dict(doc, path=path)
        if (recipe.child, recipe.parent) != (m.table, m.parent):
            raise CorruptArchive(f"recipe is for {recipe.child} <- {recipe.parent}, the plan says {m.table} <- {m.parent}", path=path)
        return recipe


def load_plan(plan_dir: str | os.PathLike[str]) -> LoadedPlan:
    """Read ``PLAN_DIR/plan.json``, refusing a plan that was edited, truncated, or names unsafe table paths."""
    plan_dir = Path(plan_dir)
    path = plan_dir / PLAN_FILE
    try:
        doc = read_sealed(path, PLAN_FORMAT, (PLAN_VERSION,))
    except FileNotFoundError as exc:
        raise InputError("no plan here (plan.json is missing)", path=path) from exc
    try:
        marked = tuple(build(MarkedTable, m, path=path, what="marked table") for m in doc["marked"])
        lake = doc["lake"]
        if not isinstance(lake, str):
            raise TypeError("'lake' must be a string")
    except (KeyError, TypeError) as exc:
        raise CorruptArchive(f"malformed plan: {exc!r}", path=path) from exc
    for m in marked:
        check_table_id(m.table)
        check_table_id(m.parent)
    return LoadedPlan(plan_dir, lake, marked, doc, doc["sha256"])
