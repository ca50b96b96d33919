"""Type matching and row normalisation of the containment scan (lakeshrink.containment.scan.compare)."""

from __future__ import annotations

import math
import struct

import polars as pl
import pyarrow as pa
import pytest

from lakeshrink.containment.scan.compare import (
    canonical_type,
    check_types_mode,
    normalize_frame,
    stats_comparable,
    type_family,
    type_key,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (pa.int32(), pa.int64()),
        (pa.uint16(), pa.int8()),
        (pa.float32(), pa.float64()),
        (pa.string(), pa.large_string()),
        (pa.dictionary(pa.int32(), pa.string()), pa.string()),
        (pa.binary(), pa.large_binary()),
    ],
)
def test_compatible_types_share_a_family_but_not_an_exact_key(a, b):
    assert type_key(a, "compatible") == type_key(b, "compatible")
    assert type_key(a, "exact") != type_key(b, "exact")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (pa.int64(), pa.float64()),
        (pa.uint64(), pa.int64()),
        (pa.string(), pa.binary()),
        (pa.timestamp("ms"), pa.timestamp("us")),
        (pa.timestamp("ms", tz="UTC"), pa.timestamp("ms")),
    ],
)
def test_incompatible_types_never_match(a, b):
    assert type_key(a, "compatible") != type_key(b, "compatible")


def test_types_mode_is_validated():
    assert check_types_mode("exact") == "exact"
    with pytest.raises(ValueError, match="types must be one of"):
        check_types_mode("loose")


def test_normalize_frame_casts_to_canonical_types_losslessly():
    table = pa.table(
        {
            "i": pa.array([1, -2, None], pa.int32()),
            "f": pa.array([0.5, None, 1.25], pa.float32()),
            "d": pa.array(["x", "y", "x"]).dictionary_encode(),
        }
    )
    frame = normalize_frame(table, ["d", "i", "f"])
    assert frame.columns == ["d", "i", "f"]
    assert frame.schema == pl.Schema({"d": pl.String, "i": pl.Int64, "f": pl.Float64})
    assert frame["i"].to_list() == [1, -2, None]
    assert frame["f"].to_list() == [0.5, None, 1.25]
    assert canonical_type(pa.int8()) == pa.int64()


def _nan_with_payload(payload: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000 | payload))[0]


def test_polars_equates_nan_payloads_and_signed_zeros_in_joins_and_hashes():
    """The semantics documented in compare.py rely on this polars behaviour; pin it down."""
    odd_nan = _nan_with_payload(1)
    assert math.isnan(odd_nan)
    a = pl.DataFrame({"x": [-0.0, float("nan"), None]})
    b = pl.DataFrame({"x": [0.0, odd_nan, None]})
    assert a.join(b, on="x", how="anti", nulls_equal=True).height == 0
    assert a.hash_rows(7).to_list() == b.hash_rows(7).to_list()
    assert a["x"].hash(7).to_list() == b["x"].hash(7).to_list()
    # and a different value is different
    c = pl.DataFrame({"x": [1.0]})
    assert c.join(b, on="x", how="anti", nulls_equal=True).height == 1


def test_stats_are_compared_only_for_ordered_families():
    assert stats_comparable(pa.int16())
    assert stats_comparable(pa.large_string())
    assert stats_comparable(pa.timestamp("ms", tz="UTC"))
    assert not stats_comparable(pa.list_(pa.int64()))
    assert not stats_comparable(pa.decimal128(10, 2))
    assert type_family(pa.struct([("a", pa.int64())])) == "struct<a: int64>"
