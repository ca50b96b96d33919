"""Every legal setting of every column type is accepted by pyarrow and round-trips (no plan can be rejected)."""

from __future__ import annotations

import decimal
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import EncodingPlan, advise, write_parquet
from lakeshrink.codecs.encodings.candidates import ENCODINGS_BY_TYPE, Candidate, CandidateSpace, candidates_for
from lakeshrink.codecs.encodings.plan import ColumnChoice
from lakeshrink.codecs.encodings.schema import leaf_columns
from lakeshrink.codecs.encodings.source import read_file
from lakeshrink.codecs.encodings.verify import tables_equal

N = 300


def zoo(rng: np.random.Generator, n: int = N) -> pa.Table:
    """A table with one column of each kind the issue lists, with nulls."""
    ints = rng.integers(-1000, 1000, n)
    mask = rng.random(n) < 0.1
    words = np.array(["alpha", "beta", "gamma", "delta", ""])[rng.integers(0, 5, n)]
    return pa.table({
        "bool": pa.array(rng.random(n) < 0.5, mask=mask),
        "i8": pa.array(ints.astype(np.int8), mask=mask),
        "u16": pa.array(np.abs(ints).astype(np.uint16)),
        "i32": pa.array(ints.astype(np.int32), mask=mask),
        "i64_sorted": pa.array(np.arange(n, dtype=np.int64) * 7),
        "u64": pa.array(np.abs(ints).astype(np.uint64)),
        "f16": pa.array(rng.random(n).astype(np.float16)),
        "f32": pa.array(rng.random(n).astype(np.float32), mask=mask),
        "f64_nan": pa.array(np.where(rng.random(n) < 0.1, np.nan, rng.random(n))),
        "str": pa.array(words, mask=mask),
        "large_str": pa.array(words, pa.large_string()),
        "str_view": pa.array(words, pa.string_view()),
        "bin": pa.array([w.encode() for w in words], pa.binary()),
        "fixed": pa.array([bytes([i % 256, 7]) for i in range(n)], pa.binary(2)),
        "dec": pa.array([decimal.Decimal(int(i)) / 100 for i in ints], pa.decimal128(9, 2)),
        "dec38": pa.array([decimal.Decimal(int(i)) / 1000 for i in ints], pa.decimal128(38, 3)),
        "ts_tz": pa.array(ints.astype(np.int64) * 1_000_000, pa.timestamp("us", tz="Europe/Paris")),
        "ts_ns": pa.array(np.sort(ints.astype(np.int64)), pa.timestamp("ns")),
        "date": pa.array(np.abs(ints).astype(np.int32), pa.date32()),
        "time": pa.array(np.abs(ints).astype(np.int64), pa.time64("us")),
        "dur": pa.array(ints.astype(np.int64), pa.duration("s")),
        "dict": pa.array(words).dictionary_encode(),
        "all_null": pa.nulls(n, pa.int64()),
        "null_type": pa.nulls(n),
        "struct": pa.array([{"x": int(i), "y": str(i % 3), "z": {"w": float(i)}} if i % 5 else None for i in ints]),
        "list": pa.array([[int(i), int(i) + 1] if i % 4 else ([] if i % 3 else None) for i in ints]),
        "large_list_str": pa.array([[str(i)] for i in ints], pa.large_list(pa.string())),
        "fixed_list": pa.array([[float(i), 0.5] for i in ints], pa.list_(pa.float64(), 2)),
        "map": pa.array([[("k", int(i)), ("m", None)] if i % 3 else None for i in ints], pa.map_(pa.string(), pa.int64())),
        "list_struct": pa.array([[{"a": int(i), "b": [True, None]}] for i in ints]),
    }, metadata={"origin": "test zoo"})


def _roundtrip(table: pa.Table, **kwargs) -> pa.Table:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return pq.ParquetFile(io.BytesIO(sink.getvalue())).read()


def test_leaf_columns_match_the_written_file(rng):
    table = zoo(rng)
    leaves = leaf_columns(table.schema)
    meta = pq.ParquetFile(io.BytesIO(_roundtrip_bytes(table))).metadata
    assert [leaf.path for leaf in leaves] == [meta.schema.column(i).path for i in range(meta.num_columns)]
    by_path = {leaf.path: leaf for leaf in leaves}
    assert by_path["map.key_value.key"].physical_type == "BYTE_ARRAY"
    assert by_path["list.list.element"].physical_type == "INT64"
    assert by_path["struct.z.w"].physical_type == "DOUBLE"
    assert by_path["dec"].physical_type == "FIXED_LEN_BYTE_ARRAY"
    assert by_path["dict"].dictionary and not by_path["str"].dictionary


def _roundtrip_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_every_legal_candidate_of_every_leaf_is_accepted_and_round_trips(rng):
    """Exhaustive over types x settings: for each candidate, every leaf that may use it does, in one file."""
    table = zoo(rng)
    leaves = leaf_columns(table.schema)
    space = CandidateSpace(zstd_levels=(1, 22))
    all_candidates = sorted({c for leaf in leaves for c in candidates_for(leaf, space)}, key=lambda c: c.key)
    assert len(all_candidates) >= 20
    checked: set[str] = set()
    for cand in all_candidates:
        choices = []
        for leaf in leaves:
            pick = cand if cand.legal_for(leaf) else candidates_for(leaf, space)[0]
            choices.append(ColumnChoice.of(leaf, pick))
        plan = EncodingPlan(tuple(choices))
        back = _roundtrip(table, **plan.writer_kwargs(table.schema))
        assert tables_equal(table, back) is None, cand.key
        # the requested encoding is really used for the leaves that asked for it
        meta = pq.ParquetFile(io.BytesIO(_write(table, plan))).metadata
        for i, leaf in enumerate(leaves):
            chunk = meta.row_group(0).column(i)
            if cand.legal_for(leaf) and chunk.statistics is not None and chunk.statistics.has_min_max:
                expected = "RLE_DICTIONARY" if cand.dictionary else cand.encoding
                assert expected in chunk.encodings, (leaf.path, cand.key, chunk.encodings)
                assert chunk.compression == ("UNCOMPRESSED" if cand.compression == "NONE" else cand.compression)
                checked.add(leaf.path)
    assert len(checked) >= 30


def _write(table: pa.Table, plan: EncodingPlan) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **plan.writer_kwargs())
    return sink.getvalue()


def test_random_mixed_plans_never_rejected(rng):
    """Property test: 40 random per-leaf mixes of legal settings over the zoo, each accepted and lossless."""
    table = zoo(rng, 120)
    leaves = leaf_columns(table.schema)
    for _ in range(40):
        choices = []
        for leaf in leaves:
            options = candidates_for(leaf)
            choices.append(ColumnChoice.of(leaf, options[int(rng.integers(0, len(options)))]))
        plan = EncodingPlan(tuple(choices))
        assert tables_equal(table, _roundtrip(table, **plan.writer_kwargs(table.schema))) is None


def test_illegal_combinations_are_excluded_because_pyarrow_rejects_them():
    """The table of legal encodings is not too narrow or too wide: what it excludes, pyarrow refuses."""
    samples = {
        "INT64": pa.table({"c": pa.array([1, 2, 3], pa.int64())}),
        "DOUBLE": pa.table({"c": pa.array([1.0, 2.0])}),
        "BYTE_ARRAY": pa.table({"c": pa.array(["a", "b"])}),
        "BOOLEAN": pa.table({"c": pa.array([True, False])}),
    }
    every = ("PLAIN", "RLE", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "BYTE_STREAM_SPLIT")
    for ptype, table in samples.items():
        for enc in every:
            legal = enc in ENCODINGS_BY_TYPE[ptype]
            if legal:
                _roundtrip(table, use_dictionary=False, column_encoding={"c": enc})
            elif not (ptype == "BOOLEAN" and enc == "BYTE_STREAM_SPLIT"):
                with pytest.raises((pa.ArrowException, ValueError, OSError)):
                    _roundtrip(table, use_dictionary=False, column_encoding={"c": enc})


def test_dictionary_typed_columns_only_take_dictionary_or_plain(rng):
    table = pa.table({"d": pa.array(["x", "y"] * 10).dictionary_encode()})
    (leaf,) = leaf_columns(table.schema)
    assert {c.encoding for c in candidates_for(leaf)} == {None, "PLAIN"}
    # pyarrow writes it, but cannot read it back as a dictionary: the reason it is excluded
    with pytest.raises((pa.ArrowException, ValueError, OSError)):
        _roundtrip(table, use_dictionary=False, column_encoding={"d": "DELTA_BYTE_ARRAY"})


def test_candidate_refuses_impossible_combinations():
    with pytest.raises(ValueError):
        Candidate(True, "PLAIN", "ZSTD", 3)
    with pytest.raises(ValueError):
        Candidate(False, None, "ZSTD", 3)
    with pytest.raises(ValueError):
        Candidate(False, "PLAIN", "SNAPPY", 3)
    with pytest.raises(ValueError):
        Candidate(False, "PLAIN", "BROTLI")


@pytest.mark.parametrize("objective", ["size", "speed", "balanced"])
def test_advise_and_write_the_zoo(rng, tmp_path, objective):
    table = zoo(rng)
    plan = advise(table, objective=objective).plan
    result = write_parquet(table, tmp_path / "zoo.parquet", plan, verify=True)
    back = read_file(tmp_path / "zoo.parquet")
    assert tables_equal(table, back) is None
    assert back.schema.metadata[b"origin"] == b"test zoo"
    assert back.schema.field("ts_tz").type == pa.timestamp("us", tz="Europe/Paris")
    assert result.rows == N


def test_empty_table_and_empty_columns(tmp_path):
    table = pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string()),
                      "l": pa.array([], pa.list_(pa.int32())), "t": pa.array([], pa.timestamp("ms", tz="UTC"))})
    plan = advise(table).plan
    assert plan.rows == 0 and len(plan.columns) == 4
    write_parquet(table, tmp_path / "empty.parquet", plan, verify=True)
    assert read_file(tmp_path / "empty.parquet").num_rows == 0
    no_columns = pa.table({})
    assert advise(no_columns).plan.columns == ()


def test_all_null_columns(tmp_path):
    table = pa.table({"n": pa.nulls(5000, pa.float64()), "s": pa.nulls(5000, pa.string()), "x": pa.nulls(5000)})
    plan = advise(table, objective="size").plan
    write_parquet(table, tmp_path / "nulls.parquet", plan, verify=True)
    assert all(c.estimated_bytes is not None and c.estimated_bytes < 500 for c in plan.columns)
