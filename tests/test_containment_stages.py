"""Stages 1-3 of the containment scan: schema graph, footer statistics, min-max rules, bottom-k sketches.

The central property: a pruning stage never drops a pair that is contained (checked against brute force on
random tables with nulls, NaN, duplicates and several row groups).
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.scan import footers as footers_mod
from lakeshrink.containment.scan.footers import ColumnStats, FooterTask, TableFooter, read_footer
from lakeshrink.containment.lake import discover
from lakeshrink.containment.scan.minmax import minmax_prune, minmax_prune_candidates, prune_reason
from lakeshrink.containment.scan.schema_graph import Pair, candidate_parents, group_by_parent, schema_candidates
from lakeshrink.containment.scan.fused import ReadTask, read_once
from lakeshrink.containment.scan.sketches import HASHER, Sketch, TableNeeds
from lakeshrink.containment.scan.sketches import prune_reason as sketch_reason


def test_schema_graph_equals_the_all_pairs_loop(rng):
    names = ["a", "b", "c", "d", "e"]
    types = [pa.int64(), pa.int32(), pa.string()]
    schemas = {}
    for i in range(40):
        cols = rng.choice(names, size=int(rng.integers(1, 5)), replace=False)
        schemas[f"t{i}"] = pa.schema([(str(c), types[int(rng.integers(len(types)))]) for c in sorted(cols)])
    for mode in ("exact", "compatible"):
        got = {(p.child, p.parent) for p in schema_candidates(schemas, mode)}
        want = set()
        for a, b in itertools.permutations(schemas, 2):
            fb = {f.name: f.type for f in schemas[b]}
            ok = all(
                f.name in fb and (f.type == fb[f.name] if mode == "exact" else (str(f.type) == "string") == (str(fb[f.name]) == "string"))
                for f in schemas[a]
            )
            if ok:
                want.add((a, b))
        assert got == want, mode


def test_pairs_group_by_parent_and_column_set():
    pairs = [Pair("a", "p", ("x",)), Pair("b", "p", ("x",)), Pair("c", "p", ("x", "y"))]
    groups = group_by_parent(pairs)
    assert list(groups) == [("p", ("x",)), ("p", ("x", "y"))]
    assert [p.child for p in groups[("p", ("x",))]] == ["a", "b"]


def _footer(tmp_path, name, table, **kwargs):
    pq.write_table(table, tmp_path / name, **kwargs)
    lake = discover(tmp_path, tables=[name])
    return read_footer(FooterTask(lake.root, lake.tables[0]))


def test_footer_stats_are_exact_over_row_groups_and_nulls(tmp_path):
    table = pa.table({"x": [5, None, 3, 9, None, None], "s": ["b", "a", None, "z", None, None]})
    f = _footer(tmp_path, "t.parquet", table, row_group_size=2)
    assert f.rows == 6
    assert f.stats["x"] == ColumnStats(3, 9, True, 3)
    assert f.stats["s"] == ColumnStats("a", "z", True, 3)
    assert f.footer_bytes > 0


def test_missing_statistics_are_unknown_and_never_prune(tmp_path):
    f = _footer(tmp_path, "t.parquet", pa.table({"x": [1, 2]}), write_statistics=False)
    assert f.stats["x"] == ColumnStats()
    parent = TableFooter("p", pa.schema([("x", pa.int64())]), 2, {"x": ColumnStats(100, 200, True, 0)})
    assert prune_reason(Pair("t", "p", ("x",)), f, parent) is None


def test_strings_from_unknown_writers_are_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(footers_mod, "EXACT_STRING_WRITERS", ("some-other-writer",))
    f = _footer(tmp_path, "t.parquet", pa.table({"s": ["a", "b"], "x": [1, 2]}))
    assert not f.stats["s"].minmax_known
    assert f.stats["x"].minmax_known


def test_float_nan_statistics_are_ignored(tmp_path):
    f = _footer(tmp_path, "t.parquet", pa.table({"f": [float("nan"), 1.5, -0.0]}))
    st = f.stats["f"]
    assert st.minmax_known and st.max == 1.5 and st.min == 0.0


def test_hive_partition_values_give_exact_statistics(tmp_path):
    table = pa.table({"v": [1, 2, 3, 4], "k": ["a b", "a b", "c/d", None]})
    pq.write_to_dataset(table, tmp_path / "d", partition_cols=["k"])
    lake = discover(tmp_path)
    f = read_footer(FooterTask(lake.root, lake.table("d")))
    assert f.error is None
    assert f.stats["k"] == ColumnStats("a b", "c/d", True, 1)


def test_unreadable_and_columnless_tables_report_an_error(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    pq.write_table(pa.table({}), tmp_path / "empty.parquet")
    lake = discover(tmp_path)
    errors = {t.id: read_footer(FooterTask(lake.root, t)).error for t in lake.tables}
    assert "bad.parquet" in errors["bad.parquet"] or "Parquet" in errors["bad.parquet"]
    assert errors["empty.parquet"] == "table has no columns"


def _stats(lo, hi, nulls):
    return ColumnStats(lo, hi, True, nulls)


@pytest.mark.parametrize(
    ("child", "parent", "reason"),
    [
        (_stats(1, 5, 0), _stats(2, 9, 0), "min"),
        (_stats(2, 10, 0), _stats(2, 9, 0), "max"),
        (_stats(2, 5, 1), _stats(2, 9, 0), "nulls"),
        (_stats(2, 5, 0), _stats(None, None, 4), "all-null"),
        (_stats(2, 5, 0), _stats(2, 9, None), None),
        (_stats(-0.0, 1.0, 0), _stats(0.0, 1.0, 0), None),
        (_stats(2, 5, 1), ColumnStats(null_count=None), None),
        (ColumnStats(null_count=0), _stats(3, 4, 0), None),
    ],
)
def test_minmax_rules(child, parent, reason):
    schema = pa.schema([("x", pa.int64())])
    c = TableFooter("c", schema, 5, {"x": child})
    p = TableFooter("p", schema, 5, {"x": parent})
    assert prune_reason(Pair("c", "p", ("x",)), c, p) == reason


def test_empty_parent_prunes_a_nonempty_child_only():
    schema = pa.schema([("x", pa.int64())])
    empty = TableFooter("p", schema, 0, {"x": ColumnStats(None, None, True, 0)})
    assert prune_reason(Pair("c", "p", ("x",)), TableFooter("c", schema, 3, {"x": ColumnStats()}), empty) == "rows"
    assert prune_reason(Pair("c", "p", ("x",)), TableFooter("c", schema, 0, {"x": ColumnStats(None, None, True, 0)}), empty) is None


def test_bottom_k_rule_never_rejects_a_subset_and_catches_strangers(rng):
    caught = 0
    for _ in range(200):
        parent = pl.Series(rng.integers(0, 5_000, size=int(rng.integers(1, 3_000))))
        child = parent.sample(int(rng.integers(1, len(parent) + 1)), seed=int(rng.integers(1 << 30)))
        k = int(rng.integers(1, 64))
        p, c = Sketch.of(parent.hash(3), k), Sketch.of(child.hash(3), k)
        assert not c.certainly_not_subset_of(p)
        stranger = Sketch.of(pl.concat([child, pl.Series([10_000 + i for i in range(50)])]).hash(3), k)
        caught += stranger.certainly_not_subset_of(p)
    assert caught > 20  # the rule has teeth
    empty = Sketch(np.array([], dtype=np.uint64), True)
    assert not empty.certainly_not_subset_of(Sketch.of(pl.Series([1]).hash(3), 4))


def _random_table(rng, columns, rows):
    data = {}
    for c in columns:
        values = rng.integers(0, 6, size=rows).astype(float if c == "f" else int).tolist()
        mask = rng.random(rows) < 0.15
        if c == "f":
            values = [float("nan") if v == 5 else (-0.0 if v == 0 else v) for v in values]
        data[c] = [None if m else v for v, m in zip(values, mask)]
    return pa.table(data)


def test_stages_2_and_3_never_drop_a_contained_pair(tmp_path, rng):
    """Random related tables (subsets, projections, unions with strangers) against an exact check."""
    base = _random_table(rng, ["a", "b", "f"], 60)
    tables = {"base": base}
    for i in range(14):
        cols = sorted(rng.choice(["a", "b", "f"], size=int(rng.integers(1, 4)), replace=False).tolist())
        source = tables[str(rng.choice(list(tables)))]
        if not set(cols) <= set(source.column_names) or source.num_rows == 0:
            source = base
        rows = source.select(cols).take(pa.array(rng.integers(0, source.num_rows, size=int(rng.integers(0, 40)))))
        if i % 3 == 0:
            rows = pa.concat_tables([rows, _random_table(rng, cols, 3)])
        tables[f"t{i}"] = rows
    for name, table in tables.items():
        pq.write_table(table, tmp_path / f"{name}.parquet", row_group_size=7)
    lake = discover(tmp_path)
    foots = {t.id: read_footer(FooterTask(lake.root, t)) for t in lake.tables}
    pairs = schema_candidates({t: f.schema for t, f in foots.items()}, "exact")
    after_minmax, _ = minmax_prune(pairs, foots)
    need: dict[str, set] = {}
    for p in pairs:
        need.setdefault(p.child, set()).add(p.columns)
        need.setdefault(p.parent, set()).add(p.columns)
    sk = {
        t: read_once(
            ReadTask(lake.root, lake.table(t), TableNeeds(t, tuple(sorted(set().union(*cols))), tuple(sorted(cols)), tuple(sorted(cols))), str(tmp_path / "cache"), t, k=4)
        ).sketch
        for t, cols in need.items()
    }
    frames = {t: pl.from_arrow(lake.read(t)) for t in foots}
    contained = 0
    for p in pairs:
        child = frames[p.child].select(p.columns).unique()
        parent = frames[p.parent].select(p.columns).unique()
        truth = child.join(parent, on=list(p.columns), how="anti", nulls_equal=True).height == 0
        contained += truth
        if truth:
            assert p in after_minmax, p
            assert sketch_reason(p, sk[p.child], sk[p.parent]) is None, p
    assert contained >= 5
    assert len(after_minmax) < len(pairs)  # the rules prune something here


def test_sketches_from_different_hashers_are_never_compared():
    from lakeshrink.containment.scan.sketches import TableSketch

    cols = ("x",)
    child_sketch = Sketch(np.array([1, 2], dtype=np.uint64), True)
    parent_sketch = Sketch(np.array([3, 4], dtype=np.uint64), True)
    child = TableSketch("c", {"x": child_sketch}, {cols: child_sketch})
    parent = TableSketch("p", {"x": parent_sketch}, {cols: parent_sketch})
    assert sketch_reason(Pair("c", "p", cols), child, parent) == "column:x"
    other = TableSketch("p", {"x": parent_sketch}, {cols: parent_sketch}, hasher="another-hasher-v0")
    assert sketch_reason(Pair("c", "p", cols), child, other) is None


def test_row_sets_per_table_are_capped_and_missing_ones_never_prune(monkeypatch):
    from lakeshrink.containment.scan import sketches
    from lakeshrink.containment.lake import TableRef
    from lakeshrink.containment.scan.sketches import TableSketch, table_needs

    monkeypatch.setattr(sketches, "MAX_ROW_SETS", 2)
    pairs = [Pair("a", "p", ("x",)), Pair("b", "p", ("x", "y")), Pair("c", "p", ("y",)), Pair("c", "b", ("y",))]
    tasks = table_needs(pairs)
    assert len(tasks["p"].row_sets) == 2 and tasks["p"].columns == ("x", "y")
    assert len(tasks["p"].colsets) == 3  # every column set is fingerprinted for stage 4, whatever the cap
    same = Sketch(np.array([1], dtype=np.uint64), True)
    stranger = Sketch(np.array([9], dtype=np.uint64), True)
    child = TableSketch("c", {"y": same}, {("y",): stranger})
    parent = TableSketch("p", {"y": same}, {})
    assert sketch_reason(Pair("c", "p", ("y",)), child, parent) is None


def test_vectorised_sketch_pruning_keeps_exactly_the_pairs_the_per_pair_rule_keeps(rng):
    """``dropped`` (all of a parent's children at once) against ``prune_reason`` pair by pair: random
    sketches, complete and cut, empty tables, row sets missing on either side, another hasher."""
    from lakeshrink.containment.scan.sketches import TableSketch, dropped

    names = [f"t{i}" for i in range(40)]
    sketches = {}
    for i, name in enumerate(names):
        k = int(rng.integers(1, 12))

        def sk():
            size = int(rng.choice([0, 1, 5, 40]))
            return Sketch.of(rng.integers(0, 60, size).astype(np.uint64), k)

        rows = {("a", "b"): sk()} if rng.random() < 0.8 else {}
        if rng.random() < 0.5:
            rows[("a",)] = sk()
        sketches[name] = TableSketch(name, {"a": sk(), "b": sk()}, rows, hasher="other" if i == 7 else HASHER)
    pairs = [Pair(c, p, cols) for c in names for p in names if c != p for cols in ([("a",), ("a", "b")][int(rng.integers(2))],)]
    expected = [p for p in pairs if sketch_reason(p, sketches[p.child], sketches[p.parent]) is None]
    assert [p for p, d in zip(pairs, dropped(pairs, sketches).tolist()) if not d] == expected
    assert 0.1 < len(expected) / len(pairs) < 0.9  # both outcomes exercised


def test_vectorised_minmax_pruning_equals_the_per_pair_rule(rng):
    """``minmax_prune`` (all pairs at once, values as ranks) against ``prune_reason`` pair by pair: random
    statistics of every kind the footers give (ints, floats, bools, strings, dates, naive and aware
    timestamps), values of different kinds in one column, unknown and all-null statistics, outer bounds, and
    values of no known kind (Fraction, NaN) that are compared in Python."""
    import datetime as dt
    from fractions import Fraction

    utc = dt.timezone.utc
    pools = [
            [-3, -1, 0, 1, 2, 2.0, -0.0, 0.5, True, False, 10**20],
        ["", "a", "ab", "b", "é", "zz"],
        [dt.date(2020, 1, d) for d in (1, 2, 3)],
        [dt.datetime(2020, 1, 1, h) for h in (0, 5, 9)],
        [dt.datetime(2020, 1, 1, h, tzinfo=utc) for h in (0, 5, 9)],
        [Fraction(3, 2), Fraction(0), 1, 2.5],
        [0, 1, 2, float("nan")],
    ]

    def stats():
        roll = rng.random()
        if roll < 0.08:
            return None
        if roll < 0.16:
            return ColumnStats(null_count=None if rng.random() < 0.5 else int(rng.integers(0, 3)))
        nulls = [None, 0, 0, 2][int(rng.integers(4))]
        if roll < 0.24:
            return ColumnStats(None, None, True, nulls)
        pool = pools[int(rng.integers(len(pools)))] if rng.random() < 0.3 else pools[0]
        a, b = (pool[int(i)] for i in rng.integers(0, len(pool), 2))
        try:
            lo, hi = (a, b) if not b < a else (b, a)
        except TypeError:
            lo, hi = a, b
        return ColumnStats(lo, hi, True, nulls, tight=bool(rng.random() < 0.85))

    schema = pa.schema([("x", pa.int64()), ("y", pa.int64())])
    footers = {}
    for i in range(60):
        cols = {c: s for c in ("x", "y") if (s := stats()) is not None}
        footers[f"t{i}"] = TableFooter(f"t{i}", schema, int(rng.choice([0, 3, 9])), cols)
    names = list(footers)
    pairs = [Pair(c, p, [("x",), ("x", "y"), ("y",)][int(rng.integers(3))]) for c in names for p in names if c != p]
    reasons = [prune_reason(p, footers[p.child], footers[p.parent]) for p in pairs]
    kept, dropped = minmax_prune(pairs, footers)
    assert kept == [p for p, r in zip(pairs, reasons) if r is None]
    want: dict[str, int] = {}
    for r in reasons:
        if r is not None:
            want[r] = want.get(r, 0) + 1
    assert dropped == want
    assert set(want) == {"rows", "nulls", "all-null", "min", "max"}  # every rule exercised
    assert 0.1 < len(kept) / len(pairs) < 0.9
    # stage 1's candidates (no Pair per candidate) pruned the same way, Pairs made for the survivors only
    shapes = [pa.schema([("x", pa.int64())]), schema, pa.schema([("y", pa.int64())])]
    footers = {t: TableFooter(t, shapes[int(rng.integers(3))], f.rows, f.stats) for t, f in footers.items()}
    candidates = candidate_parents({t: f.schema for t, f in footers.items()}, "exact")
    pairs = candidates.pairs()
    assert pairs == schema_candidates({t: f.schema for t, f in footers.items()}, "exact") == sorted(pairs)
    assert len(candidates) == len(pairs) > 500
    kept, dropped = minmax_prune_candidates(candidates, footers)
    assert (kept, dropped) == minmax_prune(pairs, footers)
    assert kept == [p for p in pairs if prune_reason(p, footers[p.child], footers[p.parent]) is None]


def test_minmax_prunes_with_columns_no_table_has_statistics_of():
    schema = pa.schema([("x", pa.int64()), ("y", pa.int64())])
    footers = {
        "c": TableFooter("c", schema, 3, {"y": _stats(1, 5, 0)}),
        "p": TableFooter("p", schema, 3, {"y": _stats(2, 9, 0)}),
        "q": TableFooter("q", schema, 3, {}),
    }
    pairs = [Pair("c", "p", ("x", "y")), Pair("c", "q", ("x", "y")), Pair("p", "c", ("x", "y"))]
    assert minmax_prune(pairs, footers) == ([Pair("c", "q", ("x", "y"))], {"min": 1, "max": 1})


def test_narrowed_sketches_never_drop_a_subset_and_still_prune(rng):
    """Stage 3 prunes with 32-bit sketches (the top bits of the 64-bit ones): never a true subset dropped,
    including a child whose hash shares its top bits with the parent's largest sketched hash but is itself
    beyond the parent's sketch; most non-subsets still dropped."""
    k = 8
    hi = lambda top, low: np.uint64((int(top) << 32) | int(low))  # noqa: E731
    tau_top = 1_000
    parent = [hi(t, 5) for t in range(tau_top - 7, tau_top)] + [hi(tau_top, 1), hi(tau_top, 9), hi(tau_top + 3, 0)]
    child = [hi(tau_top, 9)]  # in the parent, not in its 64-bit sketch (hi(tau_top, 1) is tau)
    p64, c64 = Sketch.of(np.array(parent), k), Sketch.of(np.array(child), k)
    assert not p64.complete and p64.hashes[-1] == hi(tau_top, 1) and hi(tau_top, 9) not in p64.hashes
    assert not c64.certainly_not_subset_of(p64) and not c64.narrowed().certainly_not_subset_of(p64.narrowed())
    assert p64.narrowed().hashes.dtype == np.uint32 and p64.narrowed().hashes.tolist() == list(range(tau_top - 7, tau_top + 1))
    dropped_64 = dropped_32 = 0
    for _ in range(300):
        values = rng.integers(0, 2**63, int(rng.integers(1, 60)), dtype=np.uint64) >> np.uint64(int(rng.integers(0, 40)))
        subset = rng.random() < 0.5
        kids = rng.choice(values, int(rng.integers(1, len(values) + 1))) if subset else rng.integers(0, 2**63, 5, dtype=np.uint64)
        kk = int(rng.integers(1, 20))
        p, c = Sketch.of(values, kk), Sketch.of(kids, kk)
        narrow = c.narrowed().certainly_not_subset_of(p.narrowed())
        if subset:
            assert not narrow
        dropped_64 += c.certainly_not_subset_of(p)
        dropped_32 += narrow
    assert dropped_32 > 0.8 * dropped_64 > 0


def test_table_sketches_pickle_as_one_array():
    """A table's sketches travel (and, once unpickled or packed, live) as views into one array: freed at
    once after stage 3's pruning, they leave the C heap no small holes it cannot give back."""
    import pickle

    from lakeshrink.containment.scan.sketches import TableSketch

    sk = TableSketch("t", {"a": Sketch.of(np.array([5, 1, 9], np.uint64), 2), "b": Sketch.of(np.zeros(0, np.uint64), 4)},
                     {("a", "b"): Sketch.of(np.array([7, 3], np.uint64), 4)}, bytes_read=12)
    for copy in (pickle.loads(pickle.dumps(sk)), sk.packed()):
        assert copy.table == "t" and copy.bytes_read == 12 and copy.hasher == sk.hasher
        assert {c: (s.hashes.tolist(), s.complete) for c, s in copy.columns.items()} == {"a": ([1, 5], False), "b": ([], True)}
        assert {c: (s.hashes.tolist(), s.complete) for c, s in copy.rows.items()} == {("a", "b"): ([3, 7], True)}
        bases = {id(s.hashes.base) for s in [*copy.columns.values(), *copy.rows.values()]}
        assert len(bases) == 1 and None not in {s.hashes.base is not None or None for s in copy.columns.values()}
    narrow = TableSketch("t", {"a": sk.columns["a"].narrowed()}, {("a",): sk.rows[("a", "b")]})
    with pytest.raises(ValueError, match="mix hash widths"):
        pickle.dumps(narrow)


def test_reads_kept_for_stage_4_share_the_scans_column_sets(tmp_path):
    """A read result unpickled from a Spark task has its own copies of the column sets and names; the scan
    keeps the fingerprint metadata with the ones it already holds (the same objects), and no sketches."""
    import pickle

    from lakeshrink.containment.scan.fused import without_sketches

    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"], "z": [0.5, 1.5, 2.5]}), tmp_path / "t.parquet")
    ref = discover(str(tmp_path)).tables[0]
    needs = TableNeeds(ref.id, ("x", "y"), (("x", "y"),), (("x",), ("x", "y"), ("y", "z")))
    task = ReadTask(str(tmp_path), ref, needs, str(tmp_path / "cache"), "k")
    result = pickle.loads(pickle.dumps(read_once(task)))  # as a Spark task's result arrives
    assert result.error is None and result.fingerprints.colsets == needs.colsets
    assert result.fingerprints.colsets[0] is not needs.colsets[0]
    shared = {}
    for colset in needs.colsets:
        shared[colset] = colset
        shared.update({name: name for name in colset})
    kept = without_sketches(result, shared).fingerprints
    assert kept.colsets == needs.colsets and all(a is b for a, b in zip(kept.colsets, needs.colsets))
    assert all(shared[name] is name for name in kept.columns)
    assert not kept.column_sketches and not kept.row_sketches
    assert without_sketches(result).fingerprints.colsets == needs.colsets  # without a table of shared objects: as they came


def test_stage_3_gives_freed_memory_back_before_reading_after_pruning_and_at_its_end(monkeypatch):
    """Stage 3 gives freed memory back (``release_memory``) three times: before it reads (what stages 1-2
    freed), after pruning (the results and the pruning's arrays), and at its end (the sketches, slimmed away in
    place). Seen through the reads the scan holds at each call."""
    from lakeshrink.containment.scan import run as scan_run
    from lakeshrink.containment.scan.run import scan_lake
    from lakeshrink.sample_data import bundled_dir

    seen: list[str] = []
    runs = []
    stage_sketch = scan_run._stage_sketch

    def spy(run, pairs, k):
        runs.append(run)
        return stage_sketch(run, pairs, k)

    def release():
        if runs:
            reads = runs[0].reads
            seen.append("none" if not reads else "sketches" if any(r.sketch.columns or r.sketch.rows for _, r in reads.values()) else "slim")

    monkeypatch.setattr(scan_run, "_stage_sketch", spy)
    monkeypatch.setattr(scan_run, "release_memory", release)
    scan_lake(bundled_dir() / "lake", types="compatible")
    assert seen[:3] == ["none", "sketches", "slim"]
