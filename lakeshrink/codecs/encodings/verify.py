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


def tables_equal(a: pa.Table, b: pa.Table) -> str | None:
    """``None`` when ``a`` and ``b`` hold the same schema and rows in the same order, else what differs."""
    if not a.schema.equals(b.schema, check_metadata=True):
        return f"schema differs: expected {a.schema}, found {b.schema}"
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
