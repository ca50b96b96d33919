"""Issue 9, case 8 (and binary/typed inputs of case 9): every signed file goes through ``lakeshrink.sealed``."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.encodings import load_plan
from lakeshrink.codecs.encodings.advisor import advise
from lakeshrink.codecs.encodings.writer import rewrite
from lakeshrink.errors import CorruptArchive, SchemaMismatch
from lakeshrink.sealed import read_sealed, seal, write_sealed


@pytest.fixture
def plan_file(demo_data, tmp_path):
    path = tmp_path / "p.json"
    advise(demo_data / "lake" / "planes.parquet").plan.save(path)
    return path


def _edit(path, fn):
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_plan_without_checksum_is_refused(plan_file):
    def edit(doc):
        del doc["sha256"]
        doc["columns"][0].update(compression="ZSTD", level=99, dictionary=True, encoding=None)
        doc["data_page_size"] = 0

    _edit(plan_file, edit)
    with pytest.raises(CorruptArchive, match="no checksum"):
        load_plan(plan_file)


def test_edited_plan_is_refused(plan_file):
    _edit(plan_file, lambda d: d.update(row_group_size=7))
    with pytest.raises(CorruptArchive, match="checksum mismatch"):
        load_plan(plan_file)


def test_plan_from_a_newer_lakeshrink_is_refused_clearly(plan_file):
    doc = json.loads(plan_file.read_text())
    body = {k: v for k, v in doc.items() if k not in ("format", "version", "sha256")}
    plan_file.write_text(json.dumps(seal(doc["format"], 99, body)))
    with pytest.raises(CorruptArchive, match="newer lakeshrink"):
        load_plan(plan_file)


def test_resealed_plan_with_wrong_types_is_a_one_line_error(plan_file, demo_data, tmp_path):
    doc = json.loads(plan_file.read_text())
    body = {k: v for k, v in doc.items() if k not in ("format", "version", "sha256")}
    body["columns"][0]["level"] = "nineteen"
    body["rows"] = [1]
    plan_file.write_text(json.dumps(seal(doc["format"], doc["version"], body)))
    result = CliRunner().invoke(cli, ["encode", "rewrite", str(demo_data / "lake" / "planes.parquet"), "-o",
                                      str(tmp_path / "o.parquet"), "--plan", str(plan_file)])
    assert result.exit_code == 1 and "malformed" in result.output and "Traceback" not in result.output


def test_binary_plan_file_is_a_one_line_error(tmp_path, demo_data):
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    result = CliRunner().invoke(cli, ["encode", "rewrite", str(demo_data / "lake" / "planes.parquet"), "-o",
                                      str(tmp_path / "o.parquet"), "--plan", str(bad)])
    assert result.exit_code == 1 and "binary" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_version_1_plans_still_load(plan_file):
    doc = json.loads(plan_file.read_text())
    old = {k: v for k, v in doc.items() if k != "sha256"}
    old["version"] = 1
    canonical = json.dumps(old, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    old["checksum"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    plan_file.write_text(json.dumps(old))
    assert load_plan(plan_file).columns


def test_sealed_plan_for_sorted_data_refuses_unsorted_data(tmp_path):
    sorted_t = pa.table({"id": list(range(1000)), "v": [i % 7 for i in range(1000)]})
    pq.write_table(sorted_t, tmp_path / "s.parquet", sorting_columns=[pq.SortingColumn(0)])
    plan = advise(tmp_path / "s.parquet").plan
    assert [k.path for k in plan.sorting_columns] == ["id"]
    unsorted = pa.table({"id": list(reversed(range(1000))), "v": [i % 7 for i in range(1000)]})
    pq.write_table(unsorted, tmp_path / "u.parquet")
    with pytest.raises(SchemaMismatch, match="not"):
        rewrite(tmp_path / "u.parquet", tmp_path / "out.parquet", plan=plan)
    assert not (tmp_path / "out.parquet").exists()


def test_containment_documents_use_the_same_seal(tmp_path):
    path = tmp_path / "plan.json"
    write_sealed(path, "lakeshrink-plan", 1, {"tables": ["a"]})
    assert read_sealed(path, "lakeshrink-plan")["tables"] == ["a"]
    doc = json.loads(path.read_text())
    del doc["sha256"]
    path.write_text(json.dumps(doc))
    with pytest.raises(CorruptArchive, match="no checksum"):
        read_sealed(path, "lakeshrink-plan")
    path.write_bytes(b"\xff\xfe binary")
    with pytest.raises(CorruptArchive, match="binary"):
        read_sealed(path, "lakeshrink-plan")
