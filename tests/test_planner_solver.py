"""The planner's optimisation: MILP against brute force, greedy, constraints, fallback; and the cost model."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from lakeshrink.containment.planner.costs import AccessProfile, CostModel, TableAccess, load_access, load_costs, measure_throughput
from lakeshrink.containment.lake import discover
from lakeshrink.containment.planner.solver import PlanProblem, solve, solve_greedy, solve_milp, synthetic_problem
from lakeshrink.errors import InputError


def _problem(n, edges, storage, cost=None, seconds=None, bound=None):
    m = len(edges)
    return PlanProblem(
        tuple(f"t{i}" for i in range(n)),
        np.asarray(storage, dtype=float),
        np.full(n, 100.0) if bound is None else np.asarray(bound, dtype=float),
        np.array([c for c, _ in edges], dtype=np.int64),
        np.array([p for _, p in edges], dtype=np.int64),
        np.ones(m) if seconds is None else np.asarray(seconds, dtype=float),
        np.zeros(m) if cost is None else np.asarray(cost, dtype=float),
    )


def _brute_force(problem: PlanProblem) -> float:
    """Best net saving over every assignment of one parent (or none) to each table."""
    usable = problem.usable.tolist()
    by_child: dict[int, list[int]] = {}
    for e in usable:
        by_child.setdefault(int(problem.child[e]), []).append(e)
    children = sorted(by_child)
    best = 0.0
    for choice in itertools.product(*[[None, *by_child[c]] for c in children]):
        edges = [e for e in choice if e is not None]
        marked = {int(problem.child[e]) for e in edges}
        if any(int(problem.parent[e]) in marked for e in edges):
            continue
        best = max(best, problem.evaluate(np.array(edges, dtype=np.int64)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force_and_greedy_never_beats_it(seed):
    rng = np.random.default_rng(seed)
    n = 7
    edges = [(c, p) for c in range(n) for p in range(n) if c != p and rng.random() < 0.3]
    problem = _problem(n, edges, rng.uniform(1, 10, n), cost=rng.uniform(0, 6, len(edges)),
                       seconds=rng.uniform(1, 20, len(edges)), bound=rng.uniform(5, 25, n))
    exact = solve_milp(problem)
    greedy = solve_greedy(problem)
    assert exact.optimal
    assert exact.net_saving == pytest.approx(_brute_force(problem), abs=1e-9)
    assert greedy.net_saving <= exact.net_saving + 1e-9


def test_tiny_costs_are_still_solved_exactly():
    # objective coefficients around 1e-9 must not hide inside HiGHS' absolute gap tolerance
    problem = _problem(3, [(0, 1), (1, 0), (2, 1)], [3e-9, 2e-9, 1e-9])
    assert solve_milp(problem).net_saving == pytest.approx(4e-9)


def test_equal_tables_keep_one_copy_and_the_bigger_one_is_marked():
    problem = _problem(2, [(0, 1), (1, 0)], [5.0, 4.0])
    for sel in (solve_milp(problem), solve_greedy(problem)):
        assert [(problem.child[e], problem.parent[e]) for e in sel.edges] == [(0, 1)]


def test_a_chain_marks_around_the_kept_parent():
    # t2 <= t1 <= t0: marking t1 forbids rebuilding t2 from t1, but t2 <= t0 too
    problem = _problem(3, [(1, 0), (2, 1), (2, 0)], [10.0, 6.0, 5.0])
    sel = solve_milp(problem)
    assert {(int(problem.child[e]), int(problem.parent[e])) for e in sel.edges} == {(1, 0), (2, 0)}
    assert sel.net_saving == pytest.approx(11.0)


def test_latency_bound_and_unprofitable_edges_are_never_used():
    problem = _problem(3, [(1, 0), (2, 0)], [10.0, 6.0, 5.0], cost=[0.0, 9.0], seconds=[50.0, 1.0], bound=[100, 10, 100])
    assert problem.usable.tolist() == []
    assert solve(problem).edges == ()
    assert solve(problem.with_uniform_bound(60)).edges == (0,)


def test_auto_falls_back_to_greedy_past_the_size_limit():
    problem = synthetic_problem(300, seed=3)
    auto = solve(problem, milp_max_edges=10)
    assert auto.solver == "greedy" and "past the MILP limit" in auto.note
    assert solve(problem).solver == "milp"
    with pytest.raises(InputError, match="unknown solver"):
        solve(problem, "simplex")


def test_synthetic_graph_is_solved_and_milp_is_at_least_greedy():
    problem = synthetic_problem(2000, seed=7)
    exact, greedy = solve_milp(problem), solve_greedy(problem)
    assert exact.optimal and len(exact.edges) > 100
    assert exact.net_saving >= greedy.net_saving > 0.8 * exact.net_saving
    problem.evaluate(np.array(exact.edges))  # raises if a constraint is broken


def test_problem_rejects_inconsistent_arrays():
    with pytest.raises(InputError, match="out of range"):
        _problem(2, [(0, 5)], [1.0, 1.0])
    with pytest.raises(InputError, match="one value per table"):
        PlanProblem(("a",), np.ones(2), np.ones(1), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


# ------------------------------------------------------------------ costs


def test_cost_model_arithmetic():
    model = CostModel(price_per_gb_month=0.02, compute_per_hour=3.6, overhead_seconds=2, throughput_bytes_per_s=1e6)
    assert model.storage_cost(5e9) == pytest.approx(0.1)
    assert model.rebuild_seconds(8e6) == pytest.approx(10.0)
    assert model.rebuild_cost(8e6, reads_per_month=2) == pytest.approx(2 * 10 / 3600 * 3.6)
    with pytest.raises(InputError, match="compute_per_hour"):
        CostModel(compute_per_hour=-1)


def test_costs_file_json_and_csv(tmp_path):
    js = tmp_path / "costs.json"
    js.write_text(json.dumps({"price_per_gb_month": 0.01, "throughput_mb_per_s": 50, "currency": "EUR"}))
    model = load_costs(js)
    assert model.price_per_gb_month == 0.01 and model.throughput_bytes_per_s == 50e6 and model.currency == "EUR"
    assert model.throughput_source == "configured"
    csv = tmp_path / "costs.csv"
    csv.write_text("key,value\ncompute_per_hour,0.5\noverhead_seconds,3\n")
    assert load_costs(csv) == CostModel(compute_per_hour=0.5, overhead_seconds=3)
    assert load_costs(None) == CostModel()


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("c.json", '{"price_per_gb": 1}', "unknown costs setting"),
        ("c.json", '{"price_per_gb_month": "cheap"}', "expected a number"),
        ("c.json", '{"price_per_gb_month": 1', "not valid JSON"),
        ("c.csv", "price_per_gb_month\n", "key,value"),
    ],
)
def test_bad_costs_file_names_the_file_and_problem(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        load_costs(path)
    assert str(path) in str(info.value)


def test_access_file_csv_json_and_defaults(tmp_path):
    csv = tmp_path / "access.csv"
    csv.write_text("table,reads_per_month,max_rebuild_seconds\na.parquet,3,\nb,,60\n")
    prof = load_access(csv)
    assert prof.get("a.parquet") == TableAccess("a.parquet", 3.0, 3600.0)
    assert prof.get("b") == TableAccess("b", 1.0, 60.0)
    assert prof.get("zzz") == TableAccess("zzz", 1.0, 3600.0)
    assert prof.unknown({"a.parquet"}) == ["b"]
    js = tmp_path / "access.json"
    js.write_text(json.dumps({"defaults": {"reads_per_month": 0}, "tables": [{"table": "x", "max_rebuild_seconds": 5}]}))
    prof = load_access(js)
    assert prof.get("x") == TableAccess("x", 0.0, 5.0) and prof.get("y").reads_per_month == 0.0
    assert load_access(None) == AccessProfile()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("table,reads_per_month\na,-1\n", "line 2: reads_per_month"),
        ("table,reads\na,1\n", "unknown access column"),
        ("table,reads_per_month\na,1\na,2\n", "listed twice"),
        ("name,reads_per_month\na,1\n", "needs a header"),
    ],
)
def test_bad_access_file(tmp_path, text, match):
    path = tmp_path / "access.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        load_access(path)


def test_measured_throughput_is_positive(demo_data):
    lake = discover(demo_data / "lake")
    m = measure_throughput(lake, repeats=1)
    assert m.bytes == max(t.bytes for t in lake.tables) and m.bytes_per_s > 0
