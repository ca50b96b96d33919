"""Checking that data read back from a rewritten file equals what was written, NaN for NaN.

``pa.Table.equals`` treats NaN as unequal to itself, so a float column with a NaN would never verify. The
comparison here is value equality with NaN equal to NaN (and -0.0 distinct from 0.0 only as Arrow's ``equal``
kernel sees it, i.e. equal), recursing through structs, lists, maps and dictionaries; a schema must match
exactly, key-value metadata included.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from lakeshrink.codecs.encodings.schema import same_schema
from lakeshrink.errors import VerificationFailed


def _floating(dtype: pa.DataType) -> bool:
    return pa.types.is_floating(dtype)


def arrays_equal(a: pa.Array, b: pa.Array) -> bool:
    """Value equality of two arrays of the same type, NaN equal to NaN, nested types included."""
    if a.type != b.type or len(a) != len(b):
        return False
    if a.equals(b):
        return True
    dtype = a.type
    if not a.is_valid().equals(b.is_valid()):
        return False
    if _floating(dtype):
        nan_a, nan_b = pc.is_nan(a), pc.is_nan(b)
        if not pc.fill_null(nan_a, False).equals(pc.fill_null(nan_b, False)):
            return False
        same = pc.or_(pc.equal(a, b), nan_a)
        return bool(pc.all(pc.fill_null(same, True)).as_py())
    if pa.types.is_dictionary(dtype):
        return arrays_equal(a.dictionary_decode(), b.dictionary_decode())
    if pa.types.is_struct(dtype):
        return all(arrays_equal(x, y) for x, y in zip(a.flatten(), b.flatten()))
    if pa.types.is_map(dtype):
        as_list = pa.list_(pa.struct([dtype.key_field, dtype.item_field]))
        return arrays_equal(_map_as_list(a, as_list), _map_as_list(b, as_list))
    if dtype.num_fields == 1:  # list, large_list, fixed_size_list, list_view
        if not pc.list_value_length(a).equals(pc.list_value_length(b)):
            return False
        return arrays_equal(pc.list_flatten(a), pc.list_flatten(b))
    return False


def _map_as_list(array: pa.MapArray, as_list: pa.DataType) -> pa.Array:
    offsets = pc.subtract(array.offsets, array.offsets[0]).cast(pa.int32())
    start = array.offsets[0].as_py()
    values = array.values.slice(start, array.offsets[-1].as_py() - start) if len(array) else array.values.slice(0, 0)
    entries = pa.StructArray.from_arrays(values.flatten(), fields=list(as_list.value_type))
    return pa.ListArray.from_arrays(offsets, entries, mask=array.is_null())


def _named_alike(dtype: pa.DataType) -> pa.DataType:
    """``dtype`` with the child names Parquet imposes (``list<element>``, ``map<key_value>``), recursively.

    Parquet's compliant nested types name a list's item ``element`` and a map's entries ``key_value``; Arrow
    writers often say ``item`` and ``entries``. The names are not data, so they are compared alike.
    """
    if pa.types.is_dictionary(dtype):
        return pa.dictionary(dtype.index_type, _named_alike(dtype.value_type), dtype.ordered)
    if pa.types.is_map(dtype):
        return pa.map_(_named_alike(dtype.key_type), _named_alike(dtype.item_type), dtype.keys_sorted)
    if pa.types.is_struct(dtype):
        return pa.struct([f.with_type(_named_alike(f.type)) for f in dtype])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype):
        item = dtype.value_field
        item = pa.field("element", _named_alike(item.type), item.nullable, item.metadata)
        if pa.types.is_fixed_size_list(dtype):
            return pa.list_(item, dtype.list_size)
        return pa.large_list(item) if pa.types.is_large_list(dtype) else pa.list_(item)
    return dtype


def _schema_alike(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(_named_alike(f.type)) for f in schema], metadata=schema.metadata)


def tables_equal(a: pa.Table, b: pa.Table) -> str | None:
    """``None`` when ``a`` and ``b`` hold the same schema and rows in the same order, else what differs.

    Schemas must match field for field, key-value metadata included; only the child names of lists and maps
    may differ (see :func:`_named_alike`).
    """
    if not same_schema(a.schema, b.schema):  # (field by field when narrow: no fingerprint made)
        for fa, fb in zip(a.schema, b.schema):
            if fa.name != fb.name or not fa.with_type(_named_alike(fa.type)).equals(fb.with_type(_named_alike(fb.type)), check_metadata=True):
                return f"field {fa.name!r} differs: expected {fa.type}, found {fb.type}"
        if len(a.schema) != len(b.schema) or a.schema.metadata != b.schema.metadata:
            return f"schema differs: expected {a.schema}, found {b.schema}"
        a, b = a.cast(_schema_alike(a.schema)), b.cast(_schema_alike(b.schema))
    if a.num_rows != b.num_rows:
        return f"row count differs: expected {a.num_rows}, found {b.num_rows}"
    for name in a.column_names:
        x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        if not arrays_equal(x, y):
            return f"column {name!r} differs"
    return None


def verify_equal(expected: pa.Table, actual: pa.Table, *, path: str | Path | None = None) -> None:
    """Raise :class:`VerificationFailed` (naming the file and the first difference) unless the tables match."""
    problem = tables_equal(expected, actual)
    if problem is not None:
        raise VerificationFailed(f"rewritten data does not equal its input: {problem}", path=path)
