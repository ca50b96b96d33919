"""EncodingPlan: JSON round trip, magic/version/checksum, schema checks, writer arguments."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import ColumnChoice, EncodingPlan, SortKey, advise, load_plan
from lakeshrink.codecs.encodings.plan import PLAN_MAGIC, PLAN_VERSION
from lakeshrink.errors import CorruptArchive, InputError, SchemaMismatch


@pytest.fixture
def table() -> pa.Table:
    return pa.table({
        "id": pa.array(range(5000), pa.int64()),
        "name": pa.array([f"n{i % 7}" for i in range(5000)]),
        "s": pa.array([{"a": i, "b": [float(i)]} for i in range(5000)]),
    })


def test_json_round_trip_is_exact(table, tmp_path):
    plan = advise(table, objective="size").plan
    path = tmp_path / "plan.json"
    plan.save(path)
    loaded = load_plan(path)
    assert loaded == plan
    data = json.loads(path.read_text())
    assert data["format"] == PLAN_MAGIC and data["version"] == PLAN_VERSION and len(data["sha256"]) == 64
    assert [c["path"] for c in data["columns"]] == ["id", "name", "s.a", "s.b.list.element"]
    assert EncodingPlan.from_json(plan.to_json()) == plan
    assert plan.overhead_bytes > 100  # footer and stored schema
    assert plan.estimated_bytes == sum(c.estimated_bytes for c in plan.columns) + plan.overhead_bytes


def test_damaged_or_foreign_plans_are_refused(table, tmp_path):
    plan = advise(table, objective="size").plan
    data = plan.to_dict()
    edited = dict(data, columns=[dict(data["columns"][0], compression="NONE")] + data["columns"][1:])
    with pytest.raises(CorruptArchive, match="checksum"):
        EncodingPlan.from_dict(edited)
    with pytest.raises(CorruptArchive, match="format"):
        EncodingPlan.from_dict(dict(data, format="something-else"))
    with pytest.raises(CorruptArchive, match="version"):
        EncodingPlan.from_dict(dict(data, version=PLAN_VERSION + 1))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CorruptArchive, match="not JSON") as info:
        load_plan(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(InputError):
        load_plan(tmp_path / "missing.json")


def test_hand_written_plan_without_checksum_is_refused():  # issue 9, case 8: unsealed plans are not trusted
    with pytest.raises(CorruptArchive, match="no checksum"):
        EncodingPlan.from_dict({"format": PLAN_MAGIC, "version": 1, "columns": [
            {"path": "x", "physical_type": "INT64", "dictionary": True, "encoding": "PLAIN", "compression": "ZSTD"}]})


def test_check_names_missing_and_extra_columns(table):
    plan = advise(table).plan
    other = table.drop_columns(["name"]).append_column("extra", pa.array([1.0] * 5000))
    with pytest.raises(SchemaMismatch, match="not in the plan: extra.*not in the data: name"):
        plan.check(other.schema)


def test_check_refuses_an_illegal_setting_for_the_type():
    plan = EncodingPlan((ColumnChoice("x", "BYTE_ARRAY", False, "DELTA_BYTE_ARRAY", "ZSTD", 3),))
    with pytest.raises(SchemaMismatch, match="cannot use DELTA_BYTE_ARRAY"):
        plan.check(pa.schema([("x", pa.dictionary(pa.int32(), pa.string()))]))
    with pytest.raises(SchemaMismatch, match="INT64 in the data"):
        plan.check(pa.schema([("x", pa.int64())]))


def test_writer_kwargs_follow_pyarrow_rules(table, tmp_path):
    choices = (
        ColumnChoice("id", "INT64", False, "DELTA_BINARY_PACKED", "ZSTD", 19),
        ColumnChoice("name", "BYTE_ARRAY", True, None, "SNAPPY"),
        ColumnChoice("s.a", "INT64", False, "BYTE_STREAM_SPLIT", "LZ4"),
        ColumnChoice("s.b.list.element", "DOUBLE", False, "PLAIN", "NONE"),
    )
    plan = EncodingPlan(choices, row_group_size=2000, data_page_size=64 * 1024, sorting_columns=(SortKey("id"),))
    kwargs = plan.writer_kwargs(table.schema)
    assert kwargs["use_dictionary"] == ["name"]
    assert "name" not in kwargs["column_encoding"]
    assert kwargs["compression_level"] == {"id": 19}
    pq.write_table(table, tmp_path / "t.parquet", **kwargs)
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    assert meta.num_row_groups == 3
    rg = meta.row_group(0)
    assert "DELTA_BINARY_PACKED" in rg.column(0).encodings and rg.column(0).compression == "ZSTD"
    assert "RLE_DICTIONARY" in rg.column(1).encodings and rg.column(1).compression == "SNAPPY"
    assert "BYTE_STREAM_SPLIT" in rg.column(2).encodings
    assert rg.column(3).compression == "UNCOMPRESSED"
    assert rg.sorting_columns[0].column_index == 0


def test_plan_refuses_duplicates_and_unknown_sort_columns():
    c = ColumnChoice("x", "INT64", True, None, "ZSTD", 1)
    with pytest.raises(InputError):
        EncodingPlan((c, c))
    with pytest.raises(InputError):
        EncodingPlan((c,), sorting_columns=(SortKey("y"),))
    with pytest.raises(InputError):
        EncodingPlan((c,), objective="fastest")


def test_a_reason_given_as_a_callable_is_made_once_and_travels_as_text():
    import pickle

    made = []

    def reason() -> str:
        made.append(1)
        return "made when read"

    choice = ColumnChoice("x", "INT64", False, "PLAIN", "ZSTD", 19, reason=reason)
    assert not made
    copy = pickle.loads(pickle.dumps(choice))  # plans travel to Spark executors: as text, not as the callable
    assert copy.reason == choice.reason == "made when read" and copy == choice and len(made) == 1
    plan = EncodingPlan((choice,))
    assert EncodingPlan.from_json(plan.to_json()) == plan
    assert json.loads(plan.to_json())["columns"][0]["reason"] == "made when read" and len(made) == 1
