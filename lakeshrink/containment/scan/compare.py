"""When two columns compare, and how rows are normalised before they are hashed or joined.

Semantics (issue 4, after R2D2, Shah et al., SIGMOD'24, extended with exact verification):

* A column of the child matches a column of the parent when the names are equal and the types are
  *equal* (``types="exact"``: the same Arrow type) or *compatible* (``types="compatible"``: the same
  :func:`type_family`, e.g. int32/int64, float32/float64, string/large_string/dictionary<string>).
* Rows compare by value after :func:`normalize_frame`: every column is cast to its family's canonical type
  (int64, float64, large string, ...), so an int32 ``1`` equals an int64 ``1`` and a float32 ``0.5`` equals a
  float64 ``0.5`` (float32 -> float64 is exact).
* Nulls equal nulls (joins use ``nulls_equal=True``; Spark uses null-safe ``<=>``).
* NaN equals NaN, whatever its payload, and **-0.0 equals 0.0**: floats compare by value, and IEEE 754 says
  ``-0.0 == 0.0``. Polars canonicalises both in its hashing and joins (a test pins this down), Spark does the
  same in join keys (``NormalizeFloatingNumbers``), and Parquet min/max statistics order them as equal.
* Timestamps, dates, decimals and nested types compare only within one exact type, in both modes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pyarrow as pa

if TYPE_CHECKING:
    import polars as pl

TypesMode = Literal["exact", "compatible"]
TYPES_MODES: tuple[str, ...] = ("exact", "compatible")

_SIGNED_WIDENABLE = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32())


def check_types_mode(types: str) -> TypesMode:
    """Validate a ``types`` argument eagerly."""
    if types not in TYPES_MODES:
        raise ValueError(f"types must be one of {', '.join(TYPES_MODES)}, not {types!r}")
    return types  # type: ignore[return-value]


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def type_family(t: pa.DataType) -> str:
    """The compatibility family of an Arrow type: types in one family hold values that compare by value.

    Families: ``int`` (signed ints and uint8..uint32, all exact in int64), ``float`` (float16/32/64), ``string``
    (string, large_string, string_view), ``binary`` (binary, large_binary, binary_view), ``bool``; every other
    type is its own family (its exact type string). Dictionary types take their value type's family.
    """
    t = _value_type(t)
    if any(t == s for s in _SIGNED_WIDENABLE):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_boolean(t):
        return "bool"
    return str(t)


def type_key(t: pa.DataType, types: TypesMode) -> str:
    """The key two columns must share to match: the exact type string, or the family."""
    return str(t) if types == "exact" else type_family(t)


_CANONICAL: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.large_string(),
    "binary": pa.large_binary(),
    "bool": pa.bool_(),
}


def canonical_type(t: pa.DataType) -> pa.DataType:
    """The type a column is cast to before hashing and joining (lossless for every family member)."""
    return _CANONICAL.get(type_family(t), _value_type(t))


def normalize_table(table: pa.Table) -> pa.Table:
    """Cast every column to its :func:`canonical_type` (dictionaries decoded), keeping names and order."""
    columns = []
    for col in table.columns:
        target = canonical_type(col.type)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        columns.append(col if col.type == target else col.cast(target))
    return pa.Table.from_arrays(columns, names=table.column_names)


def normalize_frame(table: pa.Table, columns: list[str] | tuple[str, ...]) -> pl.DataFrame:
    """``table``'s ``columns`` (in that order) as a polars frame of canonical types, ready to hash or join."""
    import polars as pl  # here, not at the top: the footer reader's child process never needs polars

    return pl.from_arrow(normalize_table(table.select(list(columns))), rechunk=False)  # type: ignore[return-value]


def stats_comparable(t: pa.DataType) -> bool:
    """Whether min/max statistics of this type may be compared across tables as Python values.

    Only families whose Python values order the same way as the column values: ints, floats, strings (UTF-8
    byte order is code point order), bools, dates and timestamps of one exact type.
    """
    t = _value_type(t)
    fam = type_family(t)
    return fam in ("int", "float", "string", "bool") or pa.types.is_date(t) or pa.types.is_timestamp(t)
