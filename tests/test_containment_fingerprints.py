"""The fused verification's Arrow core: fingerprints, the all-pairs decision, partitioning and spilling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.scan import run as scan_mod
from lakeshrink.containment.scan import verify
from lakeshrink.containment.scan.fingerprints import (
    PAIRS_SCHEMA,
    ROWS_SCHEMA,
    sum_totals,
    bucket_of,
    column_hashes,
    decide,
    fingerprint_table,
    grouped,
    pieces,
    row_fingerprints,
)
from lakeshrink.containment.rowhash import table_checksum, value_hashes
from lakeshrink.containment.scan import scan_lake


def _fp(table: pa.Table, cols: tuple[str, ...]) -> set[tuple[int, int]]:
    h = column_hashes(table, cols)
    hi, lo = row_fingerprints(h, cols, table.num_rows)
    return set(zip(hi.tolist(), lo.tolist()))


def test_fingerprints_compare_by_canonical_value():
    cols = ("f", "i", "s")
    a = pa.table({"f": [0.0, float("nan"), None], "i": pa.array([1, 2, 3], pa.int32()), "s": ["a", "b", None]})
    b = pa.table(
        {
            "f": pa.array([-0.0, -float("nan"), None], pa.float64()),
            "i": pa.array([1, 2, 3], pa.int64()),
            "s": pa.array(["a", "b", None], pa.large_string()).dictionary_encode(),
        }
    )
    assert _fp(a, cols) == _fp(b, cols)
    c = pa.table({"f": [0.0, 1.0, None], "i": pa.array([1, 2, 3], pa.int32()), "s": ["a", "b", None]})
    assert len(_fp(a, cols) & _fp(c, cols)) == 2
    # the two halves are independent hashes: equal strings agree, different ones differ in both halves
    words = pa.table({"w": ["ab", "ba", "a", "b", "", None]})
    fps = _fp(words, ("w",))
    assert len({hi for hi, _ in fps}) == len({lo for _, lo in fps}) == 6
    # null is not the empty string, nor a swap of values between columns
    assert _fp(pa.table({"x": ["a", ""], "y": ["", "a"]}), ("x", "y")) != _fp(pa.table({"x": ["", "a"], "y": ["", "a"]}), ("x", "y"))


def test_the_recipes_hash_is_unchanged():
    # seed 0 is the recipes' checksum hash: it must never change
    t = pa.table({"a": [1, 2, 2, None], "s": ["x", None, "y", "é"], "f": [0.5, -0.0, float("nan"), None]})
    assert table_checksum(t) == "v1:4:" + table_checksum(t).split(":")[2]
    assert value_hashes(pa.array([1, 2]))[0] != value_hashes(pa.array([1, 2]), seed=5)[0]
    assert value_hashes(pa.array(["ab"]), seed=0)[0] == value_hashes(pa.array(["ab"]))[0]


def test_fingerprint_table_counts_and_sketches():
    t = pa.table({"x": [1, 2, 2, 3, 3, 3], "y": ["a", "b", "b", "c", "c", "d"]})
    fp = fingerprint_table(t, [("x",), ("x", "y")], k=2, sketch_columns=("x", "y"))
    frame = pl.from_arrow(fp.fingerprint_rows())
    assert frame.filter(pl.col("colset") == 0)["count"].sort().to_list() == [1, 2, 3]
    assert frame.filter(pl.col("colset") == 1)["count"].sort().to_list() == [1, 1, 2, 2]
    assert fp.row_counts == (6, 6)
    assert len(fp.column_sketches["y"].hashes) == 2 and not fp.column_sketches["y"].complete
    assert fp.row_sketches[("x",)].complete is False and fp.column_sketches["x"].hashes.dtype == np.uint64
    # the row sketch is the bottom of the fingerprints' hi halves
    his = np.sort(frame.filter(pl.col("colset") == 0)["hi"].to_numpy())
    assert (fp.row_sketches[("x",)].hashes == his[:2]).all()


def _rows(tables: dict[int, pa.Table], cols: tuple[str, ...]) -> pa.Table:
    parts = []
    for number, table in tables.items():
        rows = fingerprint_table(table, [cols], k=4).fingerprint_rows()
        parts.append(rows.append_column("table", pa.array([number] * rows.num_rows, pa.int32())))
    return pa.concat_tables(parts).select(ROWS_SCHEMA.names).cast(ROWS_SCHEMA)


def _all_pairs(tables: dict[int, pa.Table]) -> tuple[list[tuple[int, int]], pa.Table]:
    """Every ordered pair of ``tables`` on column set 0, and its :data:`PAIRS_SCHEMA` rows."""
    pairs = [(c, p) for c in tables for p in tables if c != p]
    pair_rows = pa.table(
        {"pair": range(len(pairs)), "colset": [0] * len(pairs), "child": [c for c, _ in pairs], "parent": [p for _, p in pairs]},
        schema=PAIRS_SCHEMA,
    )
    return pairs, pair_rows


def test_decide_gives_set_and_multiset_verdicts_and_partitions_add_up(rng):
    cols = ("a", "b")
    tables = {}
    for i in range(8):
        n = int(rng.integers(0, 60))
        tables[i] = pa.table({"a": rng.integers(0, 5, n), "b": rng.choice(["x", "y", None], n).tolist()})
    pairs, pair_rows = _all_pairs(tables)
    rows = _rows(tables, cols)
    n = len(pairs)
    whole = sum_totals([decide(rows, pair_rows)], n)
    buckets = bucket_of(rows.column("hi").to_numpy(), 3)
    parts = [decide(rows.filter(pa.array(buckets == b)), pair_rows) for b in range(8)]
    assert (sum_totals(parts, n) == whole).all() and (sum_totals(iter(parts), n) == whole).all()
    assert (sum_totals([pa.concat_tables(parts)], n) == whole).all()  # a pair twice in one part is summed too
    for i, (c, p) in enumerate(pairs):
        child = pl.from_arrow(tables[c]).group_by(list(cols)).len()
        parent = pl.from_arrow(tables[p]).group_by(list(cols)).len()
        joined = child.join(parent, on=list(cols), how="left", nulls_equal=True)
        missing = joined["len_right"].is_null().sum()
        over = (joined["len"] > joined["len_right"]).fill_null(False).sum()
        assert whole[:, i].tolist() == [child.height, tables[c].num_rows, missing, over], (c, p)
    assert (whole[2] == 0).any() and (whole[2] > 0).any()


@pytest.mark.parametrize("bits", [0, 3, 16, 17])
def test_grouped_orders_keys_stably_and_bounds_each_group(rng, bits):
    """The pieces, the Spark reader's buckets and the local spill's partitions are cut where ``grouped`` says:
    each key's rows, in their first order (a radix sort of 16-bit keys, a comparison sort of wider ones), and
    nothing but them."""
    keys = rng.integers(0, 1 << bits, 5_000).astype(np.uint64)
    keys[:7] = (1 << bits) - 1  # the highest key, and empty keys between (17 bits: most are empty)
    order, bounds = grouped(keys, bits)
    assert bounds.shape == ((1 << bits) + 1,) and bounds[0] == 0 and bounds[-1] == len(keys)
    for k in np.unique(keys).tolist():
        assert order[bounds[k]:bounds[k + 1]].tolist() == np.flatnonzero(keys == k).tolist()  # stable, whole
    assert (np.diff(bounds) == np.bincount(keys.astype(np.int64), minlength=1 << bits)).all()
    assert sorted(order.tolist()) == list(range(len(keys)))


def test_decided_in_pieces_adds_up_to_the_whole_partition(rng):
    """A Spark decide task joins its partition a piece at a time (:func:`pieces`): each fingerprint group must
    stay whole in one piece, or a child's row would be counted missing from a parent holding it."""
    cols = ("a", "b")
    tables = {i: pa.table({"a": rng.integers(0, 40, 300), "b": rng.choice(["x", "y", None], 300).tolist()}) for i in range(6)}
    pairs, pair_rows = _all_pairs(tables)
    rows = _rows(tables, cols)
    whole = sum_totals([decide(rows, pair_rows)], len(pairs))
    cut = list(pieces(rows, 40))
    assert len(cut) >= 8 and max(p.num_rows for p in cut) < rows.num_rows / 3
    assert sum(p.num_rows for p in cut) == rows.num_rows
    groups = [set(zip(p.column("colset").to_pylist(), p.column("hi").to_pylist(), p.column("lo").to_pylist())) for p in cut]
    assert sum(len(g) for g in groups) == len(set().union(*groups))  # no group in two pieces
    assert (sum_totals((decide(p, pair_rows) for p in cut), len(pairs)) == whole).all() and whole[1].sum() > 0
    assert list(pieces(rows, rows.num_rows)) == [rows]


def test_spilled_verification_equals_in_memory_and_brute_force(tmp_path, monkeypatch):
    from benchmarks.lakegen import brute_force, generate_lake

    lake = generate_lake(tmp_path / "lake", scale=0.2, seed=5, max_rows=600)
    in_memory = scan_lake(lake.root)
    assert in_memory.stages[-1].shuffle_bytes == 0
    monkeypatch.setattr(verify, "DECIDE_ROWS", 16)  # partitions joined in pieces
    assert scan_lake(lake.root).edges == in_memory.edges
    monkeypatch.setattr(verify, "BUCKET_ROWS", 50)
    spilled = scan_lake(lake.root)
    assert spilled.stages[-1].shuffle_bytes > 0  # the rows went through the spill files
    assert spilled.edges == in_memory.edges
    truth = brute_force(lake.root)
    assert {(e.child, e.parent) for e in spilled.edges} == truth.edges
    assert {(e.child, e.parent) for e in spilled.edges if e.multiset_contained} == truth.multiset


def test_the_spill_holds_at_most_its_flush_rows_and_writes_each_partition_whole(tmp_path, monkeypatch):
    """The spill buffers all partitions together and writes when FLUSH_ROWS are held (it used to buffer each of
    up to 65,536 partitions until that one alone held FLUSH_ROWS: nearly everything stayed in memory)."""
    from benchmarks.lakegen import generate_lake

    lake = generate_lake(tmp_path / "lake", scale=0.2, seed=5, max_rows=600)
    in_memory = scan_lake(lake.root)
    monkeypatch.setattr(verify, "BUCKET_ROWS", 1)
    monkeypatch.setattr(verify, "FLUSH_ROWS", 30)  # many flushes, with or without ../shared's samples in the lake
    held, flushes, real_add, real_flush = [], [], verify._Spill.add, verify._Spill._flush

    def add(self, rows):
        real_add(self, rows)
        held.append(self.buffered)

    def flush(self):
        flushes.append(self.bits)
        real_flush(self)

    monkeypatch.setattr(verify._Spill, "add", add)
    monkeypatch.setattr(verify._Spill, "_flush", flush)
    spilled = scan_lake(lake.root)
    assert spilled.edges == in_memory.edges
    assert len(flushes) > 3 and max(flushes) == verify.MAX_SPILL_BITS  # many flushes into the most partitions
    assert max(held) < 30  # what is left after an add never reaches FLUSH_ROWS


def test_a_spill_stops_with_a_clear_error_before_its_disk_is_full(tmp_path, monkeypatch):
    from lakeshrink.errors import InputError

    lake, cache = tmp_path / "lake", tmp_path / "cache"
    lake.mkdir()
    for name, n in (("a", 50), ("b", 30), ("c", 10)):
        pq.write_table(pa.table({"x": list(range(n)), "y": [str(i) for i in range(n)]}), lake / f"{name}.parquet")
    monkeypatch.setattr(verify, "BUCKET_ROWS", 1)
    monkeypatch.setattr(verify, "SPILL_RESERVE", 1 << 62)  # no disk has that much left
    with pytest.raises(InputError, match="spill stopped with 0.0 GB written") as info:
        scan_lake(lake, cache=cache)
    assert str(cache) in str(info.value) and "--cache on a disk with more room" in str(info.value)
    assert not list(cache.glob("lakeshrink-verify-*"))  # nothing of the spill is left behind
    monkeypatch.setattr(verify, "SPILL_RESERVE", 1 << 20)
    assert len(scan_lake(lake, cache=cache).edges) == 3


def test_a_spill_that_fails_midway_closes_its_files(tmp_path, monkeypatch):
    """A failure after some partition files were written closes them before their directory is removed (a
    traceback kept by a notebook would otherwise keep the disk space of the removed files)."""
    import os
    import shutil

    from benchmarks.lakegen import generate_lake
    from lakeshrink.errors import InputError

    lake = generate_lake(tmp_path / "lake", scale=0.2, seed=5, max_rows=600)
    monkeypatch.setattr(verify, "BUCKET_ROWS", 1)
    monkeypatch.setattr(verify, "FLUSH_ROWS", 100)
    real, calls = shutil.disk_usage, []

    def usage(path):  # room for the first three flushes, then none
        calls.append(len(list(Path(path).glob("part-*.parquet"))))
        got = real(path)
        return got if len(calls) <= 3 else type(got)(got.total, got.total, 0)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    with pytest.raises(InputError, match="spill stopped") as info:
        scan_lake(lake.root, cache=tmp_path / "cache")
    assert len(calls) == 4 and calls[-1] > 0  # partition files were open when it stopped

    def open_spill_files():
        out = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                out.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return [p for p in out if "lakeshrink-verify-" in p]

    assert open_spill_files() == []


def test_stages_3_and_4_read_the_lake_once(tmp_path):
    for name, n in (("a", 50), ("b", 30), ("c", 10)):
        pq.write_table(pa.table({"x": list(range(n)), "y": [str(i) for i in range(n)]}), tmp_path / f"{name}.parquet")
    result = scan_lake(tmp_path)
    stages = {s.name: s for s in result.stages}
    lake_bytes = sum(t.bytes for t in result.table_details)
    assert stages["verify"].data_bytes == 0 and stages["verify"].cache_bytes > 0
    assert stages["sketch"].data_bytes <= lake_bytes
    assert {(e.child, e.parent) for e in result.edges} == {("b.parquet", "a.parquet"), ("c.parquet", "a.parquet"), ("c.parquet", "b.parquet")}


def test_the_columns_layout_gives_the_rows_layouts_fingerprints(tmp_path, monkeypatch):
    from lakeshrink.containment.scan import fingerprints as fpmod
    from lakeshrink.containment.scan.fpcache import ScanCache

    rng = np.random.default_rng(3)
    n = 500
    table = pa.table({"a": rng.integers(0, 5, n), "b": [f"s{v}" for v in rng.integers(0, 7, n)], "c": rng.integers(0, 3, n) / 2})
    colsets = [("a",), ("a", "b"), ("a", "b", "c"), ("a", "c"), ("b",), ("b", "c"), ("c",)]
    monkeypatch.setattr(fpmod, "ROW_BYTES", 0)
    as_rows = fingerprint_table(table, colsets, k=8, defer_over=None)
    assert as_rows.layout == "rows"
    monkeypatch.setattr(fpmod, "ROW_BYTES", 10**9)
    as_columns = fingerprint_table(table, colsets, k=8, defer_over=None)
    assert as_columns.layout == "columns" and as_columns.rows.num_rows == 0
    assert as_columns.fingerprint_rows().equals(as_rows.rows)
    assert as_columns.distinct == as_rows.distinct and as_columns.row_sketches.keys() == as_rows.row_sketches.keys()
    cache = ScanCache(tmp_path)
    stored = {layout: cache.save_fingerprints(layout, fp, n) for layout, fp in (("rows", as_rows), ("columns", as_columns))}
    assert stored["columns"].file_bytes < stored["rows"].file_bytes
    loaded = cache.load_fingerprints("columns")
    assert loaded.layout == "columns" and loaded.columns == ("a", "b", "c") and loaded.distinct == as_rows.distinct
    wanted = {("a", "b"): 7, ("c",): 2}
    folded = fpmod.fingerprints_from_hash_columns(pq.read_table(loaded.path), loaded.columns, wanted)
    import pyarrow.compute as pc

    expected = as_rows.rows.filter(pc.is_in(as_rows.rows.column("colset"), pa.array([1, 6], pa.int32())))
    ids = {1: 7, 6: 2}
    expected = expected.set_column(0, "colset", pa.array([ids[i] for i in expected.column("colset").to_pylist()], pa.int32()))
    key = ["colset", "hi", "lo"]
    assert folded.sort_by([(k, "ascending") for k in key]).equals(expected.sort_by([(k, "ascending") for k in key]))


def test_a_table_of_many_column_sets_defers_its_fingerprints_to_stage_4():
    """Past ``defer_over`` column sets, stage 3 keeps the value hashes only (no fingerprint computed), with the
    same sketches; folding them gives exactly the fingerprints computed at once."""
    rng = np.random.default_rng(5)
    n = 3_000  # more than 8k rows would take the select-before-sort path; this one dedups the whole array
    table = pa.table({"a": rng.integers(0, 50, n), "b": [f"s{v}" for v in rng.integers(0, 70, n)], "c": rng.integers(0, 900, n) / 2})
    colsets = [("a",), ("a", "b"), ("a", "b", "c"), ("a", "c"), ("b",), ("b", "c"), ("c",)]
    for k in (4, 64, 5_000):  # a sketch smaller than, and larger than, the distinct rows
        eager = fingerprint_table(table, colsets, k=k, sketch_columns=("a", "b", "c"), defer_over=None)
        deferred = fingerprint_table(table, colsets, k=k, sketch_columns=("a", "b", "c"), defer_over=2)
        assert deferred.layout == "columns" and deferred.rows.num_rows == 0 and deferred.distinct == (n,) * len(colsets)
        assert deferred.fingerprint_rows().equals(eager.fingerprint_rows())
        for mine, theirs in ((deferred.row_sketches, eager.row_sketches), (deferred.column_sketches, eager.column_sketches)):
            assert mine.keys() == theirs.keys()
            for key in mine:
                assert mine[key].complete == theirs[key].complete and np.array_equal(mine[key].hashes, theirs[key].hashes)
    assert fingerprint_table(table, colsets[:2], k=4).distinct[0] == 50  # few column sets: computed at once


def test_bottom_k_selects_before_sorting_and_falls_back_when_repeats_crowd_it(monkeypatch):
    """Also the regression of round 3: above ``SMALL_ROWS`` a sketch was cut to k hashes and then called complete,
    so a parent of over 200,000 rows pruned true children (39 of 487 edges lost at scale 1, max_rows 300,000)."""
    from lakeshrink.containment.scan import fingerprints as fpmod
    from lakeshrink.containment.scan.fingerprints import _bottom_distinct, _sketch

    monkeypatch.setattr(fpmod, "SMALL_ROWS", 1_000)  # the polars paths, at test size
    monkeypatch.setattr(fpmod, "UNIQUE_HASHED", 1_000)

    rng = np.random.default_rng(9)
    spread = rng.integers(0, 2**63, 50_000, dtype=np.int64).astype(np.uint64)
    crowded = np.concatenate([np.zeros(40_000, np.uint64), spread[:10_000]])  # the 4k smallest are all one value
    for values in (spread, crowded, spread[:100]):
        got, want = _bottom_distinct(values, 16), np.unique(values)
        assert np.array_equal(got[:16], want[:16]) and (len(got) > 16 or np.array_equal(got, want))
        sketch = _sketch(values, 16)
        assert np.array_equal(sketch.hashes, want[:16]) and sketch.complete == (len(want) <= 16)


@pytest.mark.slow
def test_deferred_fingerprints_and_large_table_paths_keep_every_edge(tmp_path, monkeypatch):
    """Whole scans, against brute force: every table deferring its fingerprints to stage 4, none deferring, and
    the paths for tables over ``SMALL_ROWS`` rows (polars deduplication, bottom-k fallbacks) at test size, which
    before round 3 lost true edges."""
    from benchmarks.lakegen import brute_force, generate_lake
    from lakeshrink.containment.scan import fingerprints as fpmod

    lake = generate_lake(tmp_path / "lake", scale=0.2, seed=11, max_rows=800)
    truth = brute_force(lake.root)
    groups, real_groups = [], verify.colset_groups
    monkeypatch.setattr(verify, "colset_groups", lambda *a: groups.append(len(out := real_groups(*a))) or out)
    for defer, small, spill in ((0, fpmod.SMALL_ROWS, True), (10**6, 20, False), (0, 20, True)):  # the default: the scan tests
        # spill: stage 4 partitioned on disk, each deferred table folded one column set at a time
        monkeypatch.setattr(verify, "BUCKET_ROWS", 50 if spill else 6_000_000)
        monkeypatch.setattr(verify, "GROUP_ROWS", 1 if spill else 4 << 20)
        monkeypatch.setattr(fpmod, "DEFER_COLSETS", defer)
        monkeypatch.setattr(fpmod, "SMALL_ROWS", small)
        monkeypatch.setattr(fpmod.fingerprint_table, "__kwdefaults__", {**fpmod.fingerprint_table.__kwdefaults__, "defer_over": defer})
        found = scan_lake(lake.root)
        assert (found.stages[-1].shuffle_bytes > 0) == spill
        assert {(e.child, e.parent) for e in found.edges} == truth.edges, (defer, small, spill)
        assert {(e.child, e.parent) for e in found.edges if e.multiset_contained} == truth.multiset
    assert max(groups) > 1  # some table was folded in several groups


def test_the_child_filter_keeps_every_child_fingerprint_and_drops_most_others():
    rng = np.random.default_rng(3)
    child = rng.integers(0, 2**63, 50_000, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    flt = verify.ChildFilter(len(child))
    for part in np.array_split(child, 7):  # added a table at a time
        flt.add(np.full(len(part), 2, np.int32), part)
    assert flt.keep(2, child).all()  # no false negatives: no row that can change a verdict is dropped
    other = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64)
    assert flt.keep(2, other).mean() < 0.1
    assert flt.keep(3, child).mean() < 0.1  # the column set is part of the key


def test_stage_4_joins_only_the_parent_rows_some_child_has(tmp_path, monkeypatch):
    """The semi-join: a 10,000-row parent of two 100-row children reaches the join with about the children's
    rows, and the verdicts are still right (one child contained, one with a changed row not)."""
    from lakeshrink.containment.scan import fingerprints as fpmod

    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.table({"x": range(10_000), "y": [f"v{i}" for i in range(10_000)]}), lake / "big.parquet")
    pq.write_table(pa.table({"x": range(0, 10_000, 100), "y": [f"v{i}" for i in range(0, 10_000, 100)]}), lake / "small.parquet")
    changed = [f"v{i}" for i in range(5, 10_000, 100)]
    changed[50] = "changed"
    pq.write_table(pa.table({"x": range(5, 10_000, 100), "y": changed}), lake / "wrong.parquet")
    joined = []

    def decide(rows, pairs):
        joined.append(rows.num_rows)
        return fpmod.decide(rows, pairs)

    monkeypatch.setattr(verify, "decide", decide)
    found = scan_lake(lake)
    assert {(e.child, e.parent) for e in found.edges} == {("small.parquet", "big.parquet")}
    assert len(joined) == 1 and 200 <= joined[0] < 400  # without the filter: 10,200 rows


def test_identical_tables_are_decided_once_and_every_pair_gets_its_verdict(tmp_path, monkeypatch):
    """Stage 4 decides the pairs of representatives (tables with the same rows, by their multiset digest):
    three shuffled copies of a parent and two copies of a child are decided as one parent and one child, and
    every pair still gets the verdict a scan without classes gives, as brute force says."""
    from benchmarks.lakegen import brute_force

    lake = tmp_path / "lake"
    lake.mkdir()
    big = pa.table({"x": range(2_000), "y": [f"v{i % 300}" for i in range(2_000)]})
    for i, name in enumerate(("big_a", "big_b", "big_c")):
        pq.write_table(big.take(np.random.default_rng(i).permutation(2_000)), lake / f"{name}.parquet")
    small = big.slice(100, 50)
    pq.write_table(small, lake / "small.parquet")
    pq.write_table(small.take(list(range(49, -1, -1))), lake / "small_copy.parquet")
    pq.write_table(pa.table({"x": list(range(100, 150)), "y": ["changed"] + [f"v{i % 300}" for i in range(101, 150)]}), lake / "wrong.parquet")
    pq.write_table(pa.concat_tables([small, small.slice(0, 5)]), lake / "small_dups.parquet")  # same set, not multiset
    plans = []
    real = verify.plan_verification

    def planned(pairs, reads, collapse=True):
        plans.append(real(pairs, reads, collapse=collapse))
        return plans[-1]

    monkeypatch.setattr(scan_mod, "plan_verification", planned)
    collapsed = scan_lake(lake)
    asked, decided = len(plans[-1].asked[0]), len(plans[-1].pairs)
    monkeypatch.setattr(scan_mod, "plan_verification", lambda pairs, reads: real(pairs, reads, collapse=False))
    every = scan_lake(lake)
    assert collapsed.edges == every.edges
    truth = brute_force(str(lake))
    assert {(e.child, e.parent) for e in collapsed.edges} == truth.edges
    assert {(e.child, e.parent) for e in collapsed.edges if e.multiset_contained} == truth.multiset
    assert ("big_b.parquet", "big_a.parquet") in truth.edges and ("small_dups.parquet", "small.parquet") in truth.edges
    assert decided < asked / 2, (decided, asked)


def test_stage_3_prunes_each_pair_of_identical_tables_once(tmp_path, monkeypatch):
    """Identical tables have identical sketches, so stage 3 checks the pairs of their representatives and
    gives each pair its class pair's answer: fewer sketch checks, the same pairs out of stage 3 as checking
    every pair, and the edges brute force finds."""
    from benchmarks.lakegen import brute_force
    from lakeshrink.containment.scan import sketches

    lake = tmp_path / "lake"
    lake.mkdir()
    base = pa.table({"x": range(3_000), "y": [f"v{i % 700}" for i in range(3_000)]})
    for i in range(3):
        pq.write_table(base.take(np.random.default_rng(i).permutation(3_000)), lake / f"base_{i}.parquet")
    for i in range(3):
        pq.write_table(base.slice(1_000, 600), lake / f"part_{i}.parquet")
    # within every min-max range, but its values of y are not the base's: pruned by the sketches
    pq.write_table(pa.table({"x": range(1_000, 1_500), "y": [f"v{i}z" for i in range(100, 600)]}), lake / "stranger.parquet")
    checked = []
    real = sketches.dropped

    def counting(pairs, sk):
        checked.append(len(pairs))
        return real(pairs, sk)

    monkeypatch.setattr(sketches, "dropped", counting)
    collapsed = scan_lake(lake)
    monkeypatch.setattr(scan_mod, "representatives", lambda tables, reads: {t: t for t in tables})
    every = scan_lake(lake)
    assert checked[0] < checked[1] / 3, checked  # 42 pairs; 6 between the 3 classes
    assert collapsed.stages[2].pairs_out == every.stages[2].pairs_out < every.stages[2].pairs_in
    assert collapsed.edges == every.edges
    assert {(e.child, e.parent) for e in collapsed.edges} == brute_force(str(lake)).edges


def test_verdicts_come_from_each_pairs_deciding_pair_and_skip_failed_tables():
    """Stage 4's outcome: every pair asked about takes the counts of the pair deciding it (its tables'
    representatives'); only contained pairs become edges; none touching a failed table does."""
    from lakeshrink.containment.scan.schema_graph import Pair
    from lakeshrink.containment.scan.verify import VerifyPlan, verdicts_from

    cols = ("x",)
    decided = (Pair("a", "b", cols), Pair("c", "b", cols), Pair("d", "e", cols), Pair("f", "b", cols))
    asked = (Pair("a", "b", cols), Pair("a2", "b", cols), Pair("c", "b", cols), Pair("d", "e", cols), Pair("f", "b", cols),
             Pair("f2", "b2", cols))
    deciding = np.array([0, 0, 1, 2, 3, 3])
    plan = VerifyPlan(decided, ("a", "b", "c", "d", "e", "f"), (cols,), pa.table({}), {}, 0, 0, originals=asked, deciding=deciding)
    totals = np.array([[3, 4, 1, 2], [5, 9, 1, 7], [0, 2, 0, 0], [1, 0, 0, 0]])  # distinct, rows, missing, over by decided pair
    outcome = verdicts_from(plan, totals, {"e": "lost"})
    assert [(e.child, e.parent, e.child_rows, e.child_distinct_rows, e.multiset_contained) for e in outcome.edges] == [
        ("a", "b", 5, 3, False), ("a2", "b", 5, 3, False), ("f", "b", 7, 2, True), ("f2", "b2", 7, 2, True)]
    assert outcome.failed == {"e": "lost"}
    assert [e.child for e in verdicts_from(plan, totals, {}).edges] == ["a", "a2", "d", "f", "f2"]


def test_pairs_between_their_own_representatives_are_not_copied():
    """On the 10,000-table lake most of 2 million pairs stand for themselves: no second object for them."""
    from lakeshrink.containment.scan.schema_graph import Pair
    from lakeshrink.containment.scan.verify import by_representatives

    pairs = [Pair("a", "b", ("x",)), Pair("a2", "b", ("x",)), Pair("c", "d", ("x",))]
    decided, mapping = by_representatives(pairs, {"a2": "a"})
    assert decided == [pairs[0], pairs[2]] and mapping.tolist() == [0, 0, 1]
    assert decided[0] is pairs[0] and decided[1] is pairs[2]
    # in order of first appearance (their integer keys sort otherwise), the copies of a table folded into it
    pairs = [Pair("a", "b", ("x",)), Pair("c", "d", ("x",)), Pair("a", "e", ("x",)), Pair("c2", "d", ("x",)), Pair("a", "e", ("y",))]
    decided, mapping = by_representatives(pairs, {"c2": "c"})
    assert decided == [pairs[0], pairs[1], pairs[2], pairs[4]] and mapping.tolist() == [0, 1, 2, 1, 3]


def test_decide_counts_only_exact_matches_of_its_one_key_lookup():
    """decide finds a (fingerprint, parent) by one 64-bit key, ``hi ^ parent * M``: rows that share that key
    but differ in ``hi`` (another table's fingerprint), in ``lo`` or in the column set are not the parent's row."""
    from lakeshrink.containment.scan import fingerprints as fpmod

    mix = int(fpmod._TABLE_MIX)
    mask = (1 << 64) - 1
    child, parent, other = 0, 1, 2
    hi_a, lo_a = 0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321
    hi_b = hi_a ^ (parent * mix & mask) ^ (other * mix & mask)  # the key of (hi_b, other) is that of (hi_a, parent)
    assert hi_a ^ (parent * mix & mask) == hi_b ^ (other * mix & mask)

    def rows(*r):
        return pa.table([pa.array([x[i] for x in r], t) for i, t in enumerate((pa.int32(), pa.uint64(), pa.uint64(), pa.int32(), pa.int64()))],
                        schema=ROWS_SCHEMA)

    pair_rows = pa.table({"pair": [0], "colset": [0], "child": [child], "parent": [parent]}, schema=PAIRS_SCHEMA)
    c = (0, hi_a, lo_a, child, 2)
    cases = {
        "another table's fingerprint, same key": [c, (0, hi_b, lo_a, other, 5)],
        "same hi, other lo": [c, (0, hi_a, lo_a ^ 1, parent, 5)],
        "same fingerprint, other column set": [c, (1, hi_a, lo_a, parent, 5)],
    }
    for label, r in cases.items():
        assert sum_totals([decide(rows(*r), pair_rows)], 1)[:, 0].tolist() == [1, 2, 1, 0], label
    # the parent's own row, with fewer copies: found, and the child has more copies (not a multiset subset)
    assert sum_totals([decide(rows(c, (0, hi_a, lo_a, parent, 1)), pair_rows)], 1)[:, 0].tolist() == [1, 2, 0, 1]
    assert sum_totals([decide(rows(c, (0, hi_a, lo_a, parent, 2)), pair_rows)], 1)[:, 0].tolist() == [1, 2, 0, 0]


def test_distinct_counts_are_exact_when_fingerprints_share_hi():
    """Deduplication sorts by ``hi`` alone unless equal ``hi`` come with different ``lo``: then by both."""
    from lakeshrink.containment.scan.fingerprints import _distinct_counts

    hi = np.array([5, 5, 5, 3, 5], np.uint64)
    lo = np.array([2, 1, 2, 9, 1], np.uint64)
    out = _distinct_counts(hi, lo)
    assert [a.tolist() for a in out] == [[3, 5, 5], [9, 1, 2], [1, 2, 2]]
    rng = np.random.default_rng(5)
    hi = rng.integers(0, 50, 5_000).astype(np.uint64)
    lo = hi * np.uint64(7) + (rng.random(5_000) < 0.01)  # mostly one lo per hi, a few with two
    got = _distinct_counts(hi, lo)
    want = pl.DataFrame({"hi": hi, "lo": lo}).group_by(["hi", "lo"]).len().sort(["hi", "lo"])
    assert [a.tolist() for a in got] == [want["hi"].to_list(), want["lo"].to_list(), want["len"].to_list()]
