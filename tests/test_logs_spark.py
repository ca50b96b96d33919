"""Spark parity: the Spark path encodes the same data to archives that decode to the same bytes as local."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.files import compress_files, decompress_archive

pytestmark = pytest.mark.spark


def test_spark_archive_decodes_to_the_same_bytes_as_local(spark, tmp_path, demo_data, loghub):
    from lakeshrink.spark_ext.logs import compress_files_spark

    src = tmp_path / "in"
    src.mkdir()
    for name in ("HDFS_1k.log", "OpenSSH_1k.log"):
        (src / name).write_bytes((demo_data / "logs" / name).read_bytes())
    (src / "sub").mkdir()
    (src / "sub" / "Proxifier.log").write_bytes((loghub / "Proxifier" / "Proxifier_2k.log").read_bytes())  # no CRs
    (src / "sub" / "crlf_tail.log").write_bytes(b"a\r\nb\r\n\r\nno newline at end\r")
    (src / "empty.log").write_bytes(b"")
    config = CodecConfig(chunk_bytes=64 << 10)
    local = compress_files([str(src)], tmp_path / "local.lslog", config)
    remote = compress_files_spark(spark, [str(src)], tmp_path / "spark.lslog", config)
    assert remote.files == local.files == 5 and remote.input_bytes == local.input_bytes
    assert remote.chunks == local.chunks and remote.lines == local.lines
    decompress_archive(tmp_path / "local.lslog", tmp_path / "a")
    decompress_archive(tmp_path / "spark.lslog", tmp_path / "b")
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        assert (tmp_path / "b" / rel).read_bytes() == path.read_bytes() == (tmp_path / "a" / rel).read_bytes()


def test_udfs_and_column_compression(spark, demo_data):
    from lakeshrink.spark_ext.logs import compress_log_column, decompress_log_chunks, learn_codec, log_params, log_template

    lines = (demo_data / "logs" / "HDFS_1k.log").read_bytes().decode().replace("\r", "").split("\n")[:-1]
    df = spark.createDataFrame([(line,) for line in lines], "value string").repartition(2)
    codec = learn_codec(df, "value", config=CodecConfig(format="HDFS"), sample_rows=300)
    rows = df.select("value", log_template("value", codec).alias("t"), log_params("value", codec).alias("p")).collect()
    local = LogCodec.from_bytes(codec.to_bytes()).encode(pa.array([r.value for r in rows]))
    assert [r.t for r in rows] == local.column("template").to_pylist()
    assert [r.p for r in rows] == local.column("params").to_pylist()
    assert sum(r.t is not None for r in rows) > 900
    chunks = compress_log_column(df, "value", codec=codec, chunk_lines=200)
    assert chunks.count() >= 5
    back = decompress_log_chunks(chunks).collect()
    assert sorted(r.line for r in back) == sorted(lines)


def test_cli_compress_with_spark_engine(spark, tmp_path, demo_data):
    from click.testing import CliRunner

    from lakeshrink.cli.main import cli

    src = demo_data / "logs" / "OpenSSH_1k.log"
    archive = tmp_path / "o.lslog"
    result = CliRunner().invoke(cli, ["logs", "compress", str(src), "-o", str(archive), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    decompress_archive(archive, tmp_path / "o.log")
    assert (tmp_path / "o.log").read_bytes() == src.read_bytes()
