"""The containment scan on the Spark engine returns the same edges as the local engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.scan import scan_lake

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_engine(spark):
    from lakeshrink.engine import get_engine

    return get_engine("spark", spark=spark)


def _tricky_lake(root):
    parent = pa.table(
        {
            "x": pa.array([1, 2, None, 4, 4], pa.int64()),
            "f": [float("nan"), 0.0, None, 2.5, 2.5],
            "s": ["a", None, "c", "d", "d"],
            "g": pa.array([10, 20, 10, 20, 20], pa.int64()),
        }
    )
    root.mkdir()
    pq.write_table(parent, root / "parent.parquet")
    pq.write_table(pa.table({"f": [-0.0, float("nan"), None]}), root / "nan_zero_null.parquet")
    pq.write_table(pa.table({"x": pa.array([4, None, 1], pa.int32()), "s": ["d", "c", "a"]}), root / "narrow.parquet")
    pq.write_table(pa.table({"x": pa.array([2], pa.int64()), "s": ["a"]}), root / "miss.parquet")
    pq.write_table(parent.slice(3, 2).append_column("extra", pa.array([1, 2])), root / "wider.parquet")
    pq.write_table(pa.table({"x": [4, 4, 4], "s": ["d", "d", "d"]}), root / "dups.parquet")
    pq.write_to_dataset(parent, root / "by_g", partition_cols=["g"])  # g comes back as int32 from the path
    return root


@pytest.mark.parametrize("types", ["exact", "compatible"])
def test_local_and_spark_agree_on_a_tricky_lake(tmp_path, spark_engine, types):
    root = _tricky_lake(tmp_path / "lake")
    local = scan_lake(root, types=types)
    remote = scan_lake(root, engine=spark_engine, types=types)
    assert remote.engine == "spark"
    assert remote.edges == local.edges
    assert remote.reduction == local.reduction
    assert [s.pairs_out for s in remote.stages] == [s.pairs_out for s in local.stages]
    edges = {(e.child, e.parent): e for e in local.edges}
    assert ("nan_zero_null.parquet", "parent.parquet") in edges
    assert not edges[("dups.parquet", "parent.parquet")].multiset_contained
    assert (("narrow.parquet", "parent.parquet") in edges) == (types == "compatible")
    assert (("by_g", "parent.parquet") in edges) == (types == "compatible")


def test_local_and_spark_agree_on_the_bundled_lake(demo_data, spark_engine):
    local = scan_lake(demo_data / "lake", types="compatible")
    remote = scan_lake(demo_data / "lake", engine=spark_engine, types="compatible")
    assert remote.edges == local.edges
    assert len(remote.edges) == 9


def test_catalog_tables_are_scanned(spark, spark_engine, tmp_path):
    from lakeshrink.containment.scan import scan_catalog

    spark.sql(f"CREATE DATABASE IF NOT EXISTS lakeshrink_test LOCATION '{tmp_path / 'warehouse'}'")
    try:
        df = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id long, name string")
        df.write.mode("overwrite").format("parquet").saveAsTable("lakeshrink_test.people")
        df.filter("id < 3").write.mode("overwrite").format("parquet").saveAsTable("lakeshrink_test.some_people")
        spark.sql("CREATE OR REPLACE VIEW lakeshrink_test.a_view AS SELECT * FROM lakeshrink_test.people")
        result = scan_catalog("lakeshrink_test", engine=spark_engine)
    finally:
        spark.sql("DROP DATABASE IF EXISTS lakeshrink_test CASCADE")
    assert {(e.child, e.parent) for e in result.edges} == {("lakeshrink_test.some_people", "lakeshrink_test.people")}
    assert result.lake == "catalog:lakeshrink_test"
    assert [s.table for s in result.skipped] == ["lakeshrink_test.a_view"]


def test_spark_paths_keep_the_lake_scheme():
    from lakeshrink.spark_ext.containment import spark_path

    assert spark_path("/lake", "/lake/t.parquet") == "/lake/t.parquet"
    assert spark_path("s3://bucket/lake", "bucket/lake/t.parquet") == "s3a://bucket/lake/t.parquet"
    assert spark_path("gs://bucket/lake", "bucket/lake/t") == "gs://bucket/lake/t"
    assert spark_path("hdfs://nn:8020/lake", "/lake/t") == "hdfs://nn:8020/lake/t"
    assert spark_path("file:///lake", "/lake/t") == "file:///lake/t"


def test_spark_submit_job(spark, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from lakeshrink.containment.scan import load_scan

    path = Path(__file__).resolve().parents[1] / "jobs" / "find_redundant_tables.py"
    spec = importlib.util.spec_from_file_location("find_redundant_tables", path)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    with pytest.raises(SystemExit):
        job.parse_args(["--out", str(tmp_path / "o")])  # neither a lake nor --catalog
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), lake / "a.parquet")
    pq.write_table(pa.table({"x": [3, 1]}), lake / "b.parquet")
    assert job.main([str(lake), "--out", str(tmp_path / "out")]) == 0
    assert "1 contained pairs" in capsys.readouterr().out
    assert [(e.child, e.parent) for e in load_scan(tmp_path / "out").edges] == [("b.parquet", "a.parquet")]
    assert job.main([str(tmp_path / "missing"), "--out", str(tmp_path / "out2")]) == 1


def test_spark_read_failures_name_the_failing_table(tmp_path, spark_engine, monkeypatch):
    from lakeshrink.containment.scan import run as scan_mod

    for name, values in (("a", [1, 2, 3]), ("b", [1, 2]), ("big", [1, 2, 3, 4])):
        pq.write_table(pa.table({"x": values}), tmp_path / f"{name}.parquet")
    real = scan_mod._verify

    def break_a(run, plan):
        # a's fingerprint file is lost and a itself unreadable, between stage 3 and stage 4
        task, result = plan.reads["a.parquet"]
        Path(result.fingerprints.path).write_bytes(b"not parquet")
        (tmp_path / "a.parquet").write_bytes(b"disk on fire")
        return real(run, plan)

    monkeypatch.setattr(scan_mod, "_verify", break_a)
    result = scan_lake(tmp_path, engine=spark_engine)
    assert {(e.child, e.parent) for e in result.edges} == {("b.parquet", "big.parquet")}
    assert [s.table for s in result.skipped] == ["a.parquet"]
    assert "a.parquet" in result.skipped[0].reason or "Parquet" in result.skipped[0].reason


def _jobs_of_stage_4(spark, spark_engine, root, monkeypatch):
    from lakeshrink.containment.scan import run as scan_mod
    from lakeshrink.spark_ext.session import is_connect

    if is_connect(spark):
        pytest.skip("counts jobs with sparkContext's status tracker, which Spark Connect does not have")
    real = scan_mod._verify
    seen = {}

    def counted(run, plan):
        sc = spark.sparkContext
        group = f"lakeshrink-stage4-{len(plan.pairs)}"
        sc.setJobGroup(group, "stage 4")
        try:
            return real(run, plan)
        finally:
            seen["jobs"] = len(sc.statusTracker().getJobIdsForGroup(group))
            seen["pairs"] = len(plan.pairs)
            sc.setJobGroup("", "")

    monkeypatch.setattr(scan_mod, "_verify", counted)
    result = scan_lake(root, engine=spark_engine)
    return seen["jobs"], seen["pairs"], result


@pytest.mark.parametrize("path", ["one task", "shuffle", "shuffle, tables' plans as rows"])
def test_spark_jobs_do_not_grow_with_the_pairs(tmp_path, spark, spark_engine, monkeypatch, path):
    from lakeshrink.spark_ext import containment as spark_containment
    from lakeshrink.spark_ext import engine as spark_engine_mod

    if path != "one task":  # every plan is too big for one task: the one-shuffle plan
        monkeypatch.setattr(spark_containment, "BUCKET_ROWS", 0)
    if path == "shuffle, tables' plans as rows":  # the readers' tables come as DataFrame rows, not in their function
        monkeypatch.setattr(spark_engine_mod, "CLOSURE_BYTES", 0)
    base = pa.table({"x": list(range(40)), "y": [i % 7 for i in range(40)]})
    small, large = tmp_path / "small", tmp_path / "large"
    for root, copies in ((small, 2), (large, 14)):
        root.mkdir()
        pq.write_table(base, root / "base.parquet")
        for i in range(copies):
            pq.write_table(base.slice(0, 20 + i), root / f"part{i:02d}.parquet")  # nested prefixes: many true pairs
    few_jobs, few_pairs, _ = _jobs_of_stage_4(spark, spark_engine, small, monkeypatch)
    many_jobs, many_pairs, result = _jobs_of_stage_4(spark, spark_engine, large, monkeypatch)
    assert many_pairs > 10 * few_pairs
    # adaptive execution runs each shuffle's map side as a job of its own: one more for the tables' rows
    assert 1 <= many_jobs == few_jobs <= (3 if path == "shuffle, tables' plans as rows" else 2)
    assert result.edges == scan_lake(large).edges


def test_shuffle_buckets_land_one_per_partition(spark):
    """Stage 4's bucket labels: Spark's hash partitioning puts bucket b (labelled partition_labels(n)[b]) in
    partition b, so every decide task gets one bucket (numbering them 0..n-1 would leave some tasks empty)."""
    from pyspark.sql import functions as F

    from lakeshrink.spark_ext.containment import partition_labels

    for n in (2, 4, 8, 16):
        labels = partition_labels(n)
        assert len(set(labels)) == n
        frame = spark.createDataFrame([(b, label) for b, label in enumerate(labels)], "b int, bucket int")
        placed = frame.repartition(n, "bucket").select("b", F.spark_partition_id().alias("p")).collect()
        assert sorted((r["b"], r["p"]) for r in placed) == [(b, b) for b in range(n)]


def test_shuffle_reads_a_table_in_groups_and_decides_in_pieces(tmp_path, spark_engine, monkeypatch):
    """The one-shuffle path with its memory bounds at test size: a parent of many differently-shaped children
    read one column set at a time (``READ_ROWS``), each partition joined in pieces (``DECIDE_ROWS``); the
    edges are the local engine's."""
    import numpy as np

    from lakeshrink.containment.scan import run as scan_mod
    from lakeshrink.containment.scan.verify import colset_groups
    from lakeshrink.spark_ext import containment as spark_containment

    rng = np.random.default_rng(4)
    parent = pa.table({c: rng.integers(0, 6, 300) for c in "abcd"})
    pq.write_table(parent, tmp_path / "parent.parquet")
    for cols in ("a", "ab", "bc", "cd", "abc", "bd"):
        pq.write_table(parent.slice(0, 120).select(list(cols)), tmp_path / f"child_{cols}.parquet")
    pq.write_table(pa.table({"a": [99, 1], "b": [1, 1]}), tmp_path / "stranger.parquet")
    pq.write_table(pa.concat_tables([parent.slice(0, 5)] * 40).select(["c", "d"]), tmp_path / "repeats.parquet")
    monkeypatch.setattr(spark_containment, "BUCKET_ROWS", 0)
    monkeypatch.setattr(spark_containment, "READ_ROWS", 1)
    monkeypatch.setattr(spark_containment, "DECIDE_ROWS", 8)
    real, groups = scan_mod._verify, []

    def seen(run, plan):
        groups.append(len(colset_groups(plan, "parent.parquet", 1)))
        return real(run, plan)

    monkeypatch.setattr(scan_mod, "_verify", seen)
    remote = scan_lake(tmp_path, engine=spark_engine)
    assert groups and groups[0] > 3  # the parent was read a column set at a time
    local = scan_lake(tmp_path)
    assert remote.edges == local.edges
    found = {(e.child, e.parent): e for e in remote.edges}
    assert {f"child_{c}.parquet" for c in ("a", "ab", "bc", "cd", "abc", "bd")} <= {c for c, p in found if p == "parent.parquet"}
    assert not found[("repeats.parquet", "parent.parquet")].multiset_contained
    assert ("stranger.parquet", "parent.parquet") not in found


def test_reader_tasks_get_one_table_plans(tmp_path):
    """Stage 4's reader tasks get, per table, a plan of that table alone (no pairs, no other table), and read
    from it the rows the whole plan gives."""
    import pickle

    from lakeshrink.containment.scan import run as scan_mod
    from lakeshrink.containment.scan.verify import table_rows
    from lakeshrink.spark_ext.containment import table_plans

    base = pa.table({"x": list(range(30)), "y": [i % 4 for i in range(30)]})
    pq.write_table(base, tmp_path / "base.parquet")
    pq.write_table(base.slice(0, 12), tmp_path / "part.parquet")
    pq.write_table(base.slice(3, 9).select(["y"]), tmp_path / "ys.parquet")
    real, checked = scan_mod._verify, []

    def check(run, plan):
        payloads = table_plans(plan)
        assert len(payloads) == len(plan.tables) >= 3
        for table, payload in zip(plan.tables, payloads):
            own = pickle.loads(payload)
            assert own.tables == (table,) and own.pairs == () and own.pair_rows.num_rows == 0
            assert set(own.reads) == set(own.colsets_of) == set(own.numbers) == {table}
            assert table_rows(own, table)[0].equals(table_rows(plan, table)[0])
            task = own.reads[table][0]
            assert task.needs.colsets == plan.reads[table][0].needs.colsets and task.needs.columns == task.needs.row_sets == ()
            checked.append(table)
        # a damaged fingerprint file is rebuilt from a one-table plan's task, and gives the same rows
        table = plan.tables[0]
        whole = table_rows(plan, table)[0]
        Path(plan.reads[table][1].fingerprints.path).write_bytes(b"damaged")
        assert table_rows(pickle.loads(payloads[0]), table)[0].equals(whole)
        return real(run, plan)

    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as m:
        m.setattr(scan_mod, "_verify", check)
        scan_lake(tmp_path)
    assert sorted(checked) == ["base.parquet", "part.parquet", "ys.parquet"]


def test_reader_tasks_are_cut_by_tables(tmp_path, spark_engine, monkeypatch):
    """Stage 4 reads with a task per :data:`READER_TABLES` tables (at least the shuffle partitions setting): a
    worker that ends with its task (spark_ext.daemon) then holds a few hundred tables' memory at most, not a
    quarter of the lake's. The edges do not depend on it."""
    from lakeshrink.spark_ext import containment as spark_containment

    monkeypatch.setattr(spark_containment, "BUCKET_ROWS", 0)
    monkeypatch.setattr(spark_containment, "READER_TABLES", 2)
    tasks = []
    real = spark_containment.over_payloads

    def spy(spark, payloads, run, schema, n):
        tasks.append((len(payloads), n))
        return real(spark, payloads, run, schema, n)

    monkeypatch.setattr(spark_containment, "over_payloads", spy)
    base = pa.table({"x": list(range(40)), "y": [i % 7 for i in range(40)]})
    pq.write_table(base, tmp_path / "base.parquet")
    for i in range(9):
        pq.write_table(base.slice(0, 20 + i), tmp_path / f"part{i:02d}.parquet")
    remote = scan_lake(tmp_path, engine=spark_engine)
    assert len(tasks) == 1
    tables, n = tasks[0]
    assert tables == 10 and n == 5  # 10 tables, 2 per task (the shuffle partitions setting is 2)
    assert remote.edges == scan_lake(tmp_path).edges and remote.edges


@pytest.mark.parametrize("hold", [1, 7, 1 << 20])
def test_reader_packs_every_row_once_into_its_bucket(tmp_path, monkeypatch, hold):
    """A reader task gathers rows from its tables (about HOLD_ROWS) before cutting them into buckets, each
    (bucket, slice of at most PACK_ROWS rows) one IPC stream of one shared buffer: unpacked, the streams give
    back every table's rows once, each in a stream of its own bucket's label."""
    import pickle

    from lakeshrink.containment.scan import run as scan_mod
    from lakeshrink.containment.scan.fingerprints import bucket_of
    from lakeshrink.containment.scan.verify import table_rows
    from lakeshrink.spark_ext import containment as spark_containment

    monkeypatch.setattr(spark_containment, "HOLD_ROWS", hold)
    monkeypatch.setattr(spark_containment, "PACK_ROWS", 3)
    base = pa.table({"x": list(range(60)), "y": [i % 9 for i in range(60)]})
    pq.write_table(base, tmp_path / "base.parquet")
    for i in range(4):
        pq.write_table(base.slice(i, 20 + i), tmp_path / f"part{i}.parquet")
    plans = []
    real = scan_mod._verify

    def keep(run, plan):
        plans.append(plan)
        return real(run, plan)

    monkeypatch.setattr(scan_mod, "_verify", keep)
    scan_lake(tmp_path)
    plan = plans[0]
    bits = 2
    labels = spark_containment.partition_labels(1 << bits)
    payloads = spark_containment.table_plans(plan)
    batches = list(spark_containment._reader(bits)(iter(enumerate(payloads))))
    got = []
    for batch in batches:
        for label, table, ok, blob in zip(*(batch.column(c).to_pylist() for c in ("bucket", "table", "ok", "blob"))):
            assert ok and table == -1
            rows = spark_containment._unpack(pa.py_buffer(blob))
            assert 0 < rows.num_rows <= 3
            assert {labels[b] for b in bucket_of(rows.column("hi").to_numpy(), bits).tolist()} == {label}
            got.append(rows)
    want = pa.concat_tables([table_rows(plan, t)[0] for t in plan.tables])
    key = ["table", "colset", "hi", "lo", "count"]
    assert pa.concat_tables(got).sort_by([(k, "ascending") for k in key]).equals(want.sort_by([(k, "ascending") for k in key]))
    assert want.num_rows > 20 and len(batches) == (1 if hold > want.num_rows else len(batches)) and (hold > 1 or len(batches) >= len(plan.tables))
    # a table whose fingerprints cannot be read is reported by its number
    monkeypatch.setattr(spark_containment, "table_rows", lambda p, t, g=None: (_ for _ in ()).throw(OSError("gone")) if t == plan.tables[1] else table_rows(p, t, g))
    failed = [r for b in spark_containment._reader(bits)(iter(enumerate(payloads))) for r in b.to_pylist() if not r["ok"]]
    assert [r["table"] for r in failed] == [1]
