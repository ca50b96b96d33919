"""Choosing which contained tables to mark for deletion: an exact MILP (HiGHS) and a greedy baseline.

This is the optimisation step of R2D2 (Brucato, Abouzied, Meliou et al., "R2D2: Reducing Redundancy and
Duplication in Data Lakes", SIGMOD 2023). Given the verified containment edges ``child <= parent`` of a scan,
each table's monthly storage cost ``s_t`` and, per edge, the monthly cost ``c_e`` and estimated seconds of
rebuilding the child from that parent (:mod:`lakeshrink.containment.planner.costs`), choose

* ``x_t in {0, 1}``: table t is marked;
* ``y_e in {0, 1}`` for each edge e = (t, p): t is to be rebuilt from p;

minimising ``sum_t (1 - x_t) s_t + sum_e y_e c_e`` (equivalently maximising the net saving
``sum_t x_t s_t - sum_e y_e c_e``) subject to

* ``sum_{e=(t,.)} y_e = x_t``: a marked table names exactly one parent;
* ``y_e + x_p <= 1``: that parent stays unmarked (so in a group of equal tables, which have edges both ways, one
  copy always stays);
* ``y_e = 0`` when the estimated rebuild time exceeds the child's bound, or the edge saves nothing.

:func:`solve_milp` hands this to ``scipy.optimize.milp`` (HiGHS), one model per batch of connected components
of the table graph (components share no table, so their optima add up). :func:`solve_greedy` takes edges by falling net
saving and keeps each one that respects the same constraints; it is the baseline, and :func:`solve` falls back to
it automatically past ``milp_max_edges`` usable edges (measured by ``benchmarks/planner.py``) or when HiGHS stops
at its time limit without a better answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from lakeshrink.errors import InputError

SolverName = Literal["auto", "milp", "greedy"]
MILP_MAX_EDGES = 50_000
"""Usable edges past which :func:`solve` uses the greedy solver. Measured by ``benchmarks/planner.py`` on this
project's shared 2-core machine (four runs, varying load): HiGHS took 0.4-1.8 s at 12k usable edges, 1.2-5.4 s at
24k, 8-38 s at 74k, 8-29 s at 120k and 22-93 s at 243k; greedy stays under 0.6 s, at 90-95% of the optimum."""
MILP_TIME_LIMIT = 30.0


@dataclass(frozen=True, eq=False)
class PlanProblem:
    """The planner's input, as arrays (tables by index; edges as child/parent index pairs).

    Attributes:
        tables: table ids.
        storage: monthly cost of keeping each table.
        bound: each table's maximum rebuild seconds.
        child, parent: the edges (``child`` is contained in ``parent``).
        seconds: estimated rebuild seconds per edge.
        cost: expected monthly rebuild cost per edge.
    """

    tables: tuple[str, ...]
    storage: np.ndarray
    bound: np.ndarray
    child: np.ndarray
    parent: np.ndarray
    seconds: np.ndarray
    cost: np.ndarray
    _usable: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n, m = len(self.tables), len(self.child)
        if len(self.storage) != n or len(self.bound) != n:
            raise InputError("storage and bound need one value per table")
        if not (len(self.parent) == len(self.seconds) == len(self.cost) == m):
            raise InputError("child, parent, seconds and cost need one value per edge")
        if m and (self.child.min() < 0 or self.parent.min() < 0 or max(self.child.max(), self.parent.max()) >= n):
            raise InputError("an edge names a table index out of range")
        usable = (
            (self.child != self.parent)
            & (self.seconds <= self.bound[self.child])
            & (self.storage[self.child] - self.cost > 0)
        )
        object.__setattr__(self, "_usable", usable)

    @property
    def usable(self) -> np.ndarray:
        """Indices of the edges a solution may use (within the latency bound and saving something)."""
        return np.flatnonzero(self._usable)

    def with_uniform_bound(self, seconds: float) -> PlanProblem:
        """The same problem with every table's latency bound set to ``seconds``."""
        return PlanProblem(self.tables, self.storage, np.full(len(self.tables), float(seconds)), self.child, self.parent, self.seconds, self.cost)

    def evaluate(self, edges: np.ndarray) -> float:
        """Net monthly saving of marking the children of ``edges`` (edge indices), after checking the constraints."""
        edges = np.asarray(edges, dtype=np.int64)
        children, parents = self.child[edges], self.parent[edges]
        if len(set(children.tolist())) != len(children):
            raise InputError("a table is marked twice")
        if set(children.tolist()) & set(parents.tolist()):
            raise InputError("a marked table is used as a parent")
        if not self._usable[edges].all():
            raise InputError("an edge breaks its latency bound or saves nothing")
        return float(self.storage[children].sum() - self.cost[edges].sum())


@dataclass(frozen=True)
class Selection:
    """The chosen marks: ``edges`` are edge indices of the problem, one per marked table."""

    solver: Literal["milp", "greedy"]
    edges: tuple[int, ...]
    net_saving: float
    seconds: float
    optimal: bool
    note: str = ""


def _greedy_edges(problem: PlanProblem, usable: np.ndarray) -> list[int]:
    net = problem.storage[problem.child[usable]] - problem.cost[usable]
    order = usable[np.lexsort((usable, -net))]  # ties: by edge index, deterministic
    marked = np.zeros(len(problem.tables), dtype=bool)
    pinned = np.zeros(len(problem.tables), dtype=bool)
    chosen: list[int] = []
    for e, t, p in zip(order.tolist(), problem.child[order].tolist(), problem.parent[order].tolist()):
        if marked[t] or pinned[t] or marked[p]:
            continue
        marked[t] = True
        pinned[p] = True
        chosen.append(e)
    return chosen


def solve_greedy(problem: PlanProblem) -> Selection:
    """Edges by falling net saving; keep one when its child is free and its parent is unmarked."""
    start = time.perf_counter()
    edges = tuple(sorted(_greedy_edges(problem, problem.usable)))
    return Selection("greedy", edges, problem.evaluate(np.array(edges, dtype=np.int64)), time.perf_counter() - start, False)


def _milp_edges(problem: PlanProblem, usable: np.ndarray, time_limit: float) -> tuple[list[int] | None, bool, str]:
    """HiGHS on the edges ``usable``: (chosen edges or None, proved optimal, HiGHS' message)."""
    m = len(usable)
    children = problem.child[usable]
    parents = problem.parent[usable]
    # x variables only for tables that can be marked at all
    markable = np.unique(children)
    xi = np.full(len(problem.tables), -1, dtype=np.int64)
    xi[markable] = np.arange(len(markable))
    k = len(markable)
    n_var = k + m
    c = np.concatenate([-problem.storage[markable], problem.cost[usable]])
    c = c / max(float(np.abs(c).max()), 1e-300)  # HiGHS' gap tolerances are absolute as well as relative
    # sum_e y_e - x_t = 0 for each markable t
    rows_eq = np.concatenate([xi[children], np.arange(k)])
    cols_eq = np.concatenate([k + np.arange(m), np.arange(k)])
    vals_eq = np.concatenate([np.ones(m), -np.ones(k)])
    constraints = [LinearConstraint(sparse.csr_array((vals_eq, (rows_eq, cols_eq)), shape=(k, n_var)), 0, 0)]
    # y_e + x_p <= 1 where the parent could itself be marked
    guarded = np.flatnonzero(xi[parents] >= 0)
    if len(guarded):
        g = len(guarded)
        rows = np.concatenate([np.arange(g), np.arange(g)])
        cols = np.concatenate([k + guarded, xi[parents[guarded]]])
        constraints.append(LinearConstraint(sparse.csr_array((np.ones(2 * g), (rows, cols)), shape=(g, n_var)), -np.inf, 1))
    res = milp(c, constraints=constraints, integrality=np.ones(n_var), bounds=Bounds(0, 1),
               options={"time_limit": max(float(time_limit), 0.1), "disp": False, "mip_rel_gap": 1e-9})
    if res.x is None:
        return None, False, str(res.message)
    return usable[res.x[k:] > 0.5].tolist(), res.status == 0, str(res.message)


def _batches(problem: PlanProblem, usable: np.ndarray, batch_edges: int) -> list[np.ndarray]:
    """The usable edges split by connected component of the table graph, packed into batches of about
    ``batch_edges`` edges (components never share a table, so each batch can be solved on its own)."""
    n = len(problem.tables)
    graph = sparse.coo_array((np.ones(len(usable)), (problem.child[usable], problem.parent[usable])), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="weak")
    comp = label[problem.child[usable]]
    order = np.argsort(comp, kind="stable")
    comp_sorted = comp[order]
    starts = np.flatnonzero(np.r_[True, comp_sorted[1:] != comp_sorted[:-1]])
    ends = np.r_[starts[1:], len(order)]
    batches: list[np.ndarray] = []
    current: list[np.ndarray] = []
    size = 0
    for a, b in zip(starts.tolist(), ends.tolist()):
        current.append(usable[order[a:b]])
        size += b - a
        if size >= batch_edges:
            batches.append(np.concatenate(current))
            current, size = [], 0
    if current:
        batches.append(np.concatenate(current))
    return batches


def solve_milp(problem: PlanProblem, *, time_limit: float = MILP_TIME_LIMIT, batch_edges: int = 5_000) -> Selection:
    """The exact optimum with HiGHS (``scipy.optimize.milp``), one model per batch of connected components.

    ``optimal`` is False when the time limit stopped HiGHS in some batch; a batch stopped without any solution
    is solved greedily (said in ``note``).

    Raises:
        InputError: no batch could be solved at all (HiGHS found nothing within the time limit).
    """
    start = time.perf_counter()
    deadline = start + time_limit
    usable = problem.usable
    chosen: list[int] = []
    optimal = True
    notes: list[str] = []
    batches = _batches(problem, usable, batch_edges) if len(usable) else []
    for i, batch in enumerate(batches):
        edges, proved, message = _milp_edges(problem, batch, deadline - time.perf_counter())
        if edges is None:
            if i == 0 and len(batches) == 1:
                raise InputError(f"HiGHS found no solution: {message}")
            edges, proved = _greedy_edges(problem, batch), False
            notes.append(f"batch {i + 1}/{len(batches)} solved greedily: {message}")
        elif not proved:
            notes.append(f"HiGHS stopped early in batch {i + 1}/{len(batches)}: {message}")
        chosen += edges
        optimal = optimal and proved
    edges_t = tuple(sorted(chosen))
    return Selection("milp", edges_t, problem.evaluate(np.array(edges_t, dtype=np.int64)), time.perf_counter() - start,
                     optimal, "; ".join(notes))


def solve(
    problem: PlanProblem,
    solver: SolverName = "auto",
    *,
    milp_max_edges: int = MILP_MAX_EDGES,
    time_limit: float = MILP_TIME_LIMIT,
) -> Selection:
    """Choose the marks with the named solver; ``auto`` uses the MILP up to ``milp_max_edges`` usable edges.

    With ``auto``, a MILP that stops at its time limit is compared with the greedy answer and the better kept.
    """
    if solver not in ("auto", "milp", "greedy"):
        raise InputError(f"unknown solver {solver!r}; expected auto, milp or greedy")
    if solver == "greedy":
        return solve_greedy(problem)
    n_usable = len(problem.usable)
    if solver == "auto" and n_usable > milp_max_edges:
        chosen = solve_greedy(problem)
        note = f"greedy: {n_usable:,} usable edges is past the MILP limit of {milp_max_edges:,}"
        return Selection(chosen.solver, chosen.edges, chosen.net_saving, chosen.seconds, False, note)
    try:
        exact = solve_milp(problem, time_limit=time_limit)
    except InputError:
        if solver == "milp":
            raise
        chosen = solve_greedy(problem)
        return Selection(chosen.solver, chosen.edges, chosen.net_saving, chosen.seconds, False, "greedy: HiGHS found no solution in time")
    if exact.optimal or solver == "milp":
        return exact
    greedy = solve_greedy(problem)
    if greedy.net_saving > exact.net_saving:
        return Selection("greedy", greedy.edges, greedy.net_saving, exact.seconds + greedy.seconds, False,
                         f"greedy: better than the MILP stopped at its {time_limit:g} s limit")
    return exact


def synthetic_problem(n_tables: int, *, seed: int = 0, edges_per_table: float = 2.0, max_family: int = 12) -> PlanProblem:
    """A random containment graph shaped like a lake, for benchmarks and tests.

    Tables come in families: a base table, derived tables each contained in the base or in an earlier derived
    table (and, through it, in its ancestors), and exact copies (edges both ways). Sizes are log-normal;
    reads per month exponential; bounds between 10 s and 2 h; rebuild seconds from a 200 MB/s throughput.
    ``edges_per_table`` caps the containers of a derived table; ``max_family`` bounds a family's size (bigger
    families make bigger connected components, which are harder for the MILP).
    """
    rng = np.random.default_rng(seed)
    nbytes = np.exp(rng.normal(np.log(200e6), 1.5, n_tables))
    storage = nbytes / 1e9 * 0.023
    bound = rng.uniform(10, 7200, n_tables)
    reads = rng.exponential(2.0, n_tables)
    children: list[int] = []
    parents: list[int] = []
    i = 0
    while i < n_tables:
        family = min(int(rng.integers(2, max(max_family, 3))), n_tables - i)
        base = i
        nbytes[base] *= 4
        for j in range(base + 1, base + family):
            if rng.random() < 0.15:  # an exact copy of an earlier member
                src = int(rng.integers(base, j))
                nbytes[j] = nbytes[src]
                children += [j, src]
                parents += [src, j]
                continue
            ancestors = [int(rng.integers(base, j))]
            while len(ancestors) < edges_per_table and ancestors[-1] != base and rng.random() < 0.8:
                ancestors.append(int(rng.integers(base, ancestors[-1])))  # a transitive edge further up
            nbytes[j] = min(nbytes[j], nbytes[ancestors[0]] * 0.9)
            for a in dict.fromkeys(ancestors):
                children.append(j)
                parents.append(a)
        i += family
    storage = nbytes / 1e9 * 0.023
    child = np.array(children, dtype=np.int64)
    parent = np.array(parents, dtype=np.int64)
    seconds = 1.0 + nbytes[parent] / 200e6
    cost = reads[child] * seconds / 3600 * 0.192
    names = tuple(f"t{k:06d}" for k in range(n_tables))
    return PlanProblem(names, storage, bound, child, parent, seconds, cost)
