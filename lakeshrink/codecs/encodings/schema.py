"""Parquet leaf columns of an Arrow schema, named exactly as pyarrow's writer names them.

Parquet stores one column chunk per *leaf* of the schema. pyarrow's per-column writer options (``use_dictionary``,
``column_encoding``, ``compression``...) are keyed by the leaf's dotted path (``a.b`` for struct fields,
``a.list.element`` for list items, ``m.key_value.key`` for map keys); a name that matches no leaf is silently
ignored. Rather than re-deriving pyarrow's naming rules, :func:`leaf_columns` asks pyarrow itself: it writes an
empty table with the schema to memory and reads the Parquet schema back, so the names and physical types are the
writer's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeshrink.errors import SchemaMismatch


@dataclass(frozen=True)
class LeafColumn:
    """One Parquet leaf column.

    Attributes:
        path: dotted path pyarrow's writer options use (``"a.list.element"``).
        top: the top-level Arrow field the leaf belongs to.
        index: position among the file's leaves (the column-chunk index in the metadata).
        physical_type: Parquet physical type (``INT32``, ``BYTE_ARRAY``, ``FIXED_LEN_BYTE_ARRAY``...).
        logical_type: Parquet logical type as pyarrow prints it (``"String"``, ``"None"``...).
        arrow_type: the Arrow type of the top-level field, as text.
        dictionary: the Arrow data is dictionary-typed; pyarrow then only accepts dictionary or PLAIN.
    """

    path: str
    top: str
    index: int
    physical_type: str
    logical_type: str
    arrow_type: str
    dictionary: bool = False


def _contains_dictionary(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        return True
    return any(_contains_dictionary(dtype.field(i).type) for i in range(dtype.num_fields))


def _schema_key(schema: pa.Schema, int96: bool) -> tuple[bytes, bool]:
    """A cache key that tells schemas apart by everything, metadata included (``==`` ignores metadata).

    The last schema's key is kept: an advice asks for the leaves and the need of a stored schema of one schema
    (several times, from the table and from its sample), and comparing with the last one costs a fraction of
    serializing it again. An advice passes one schema object to its look-ups: that object is found by identity,
    before any comparison."""
    global _LAST
    last = _LAST
    if last is not None:
        if last[0] is schema:
            return last[1], int96
        held = last[2]
        if held is None and len(last[0]) <= FIELD_BY_FIELD:
            held = _held(last[0])
        if same_schema(last[0], schema) if held is None else _same_as_held(held, schema):
            _LAST = (schema, last[1], held)  # this object next time: found by identity (with the last one's
            return last[1], int96  # metadata and fields, equal to its own)
    key = schema.serialize().to_pybytes()
    _LAST = (schema, key, None)
    return key, int96


_LAST: tuple[pa.Schema, bytes, tuple | None] | None = None
"""The last schema looked up, its key, and (once a narrow one was compared) its metadata and fields."""


def _held(schema: pa.Schema) -> tuple:
    """A narrow schema's metadata and fields, taken out of it once and kept with it in :data:`_LAST`: comparing
    the next schema with them then wraps the fields of that schema only (a field's Python wrapper, with its
    type's, is most of what comparing a field costs)."""
    return schema.metadata, tuple(schema.field(i) for i in range(len(schema)))


def _same_as_held(held: tuple, schema: pa.Schema) -> bool:
    """:func:`same_schema` of the schema whose :func:`_held` metadata and fields these are, and ``schema``."""
    metadata, fields = held
    n = len(fields)
    if n != len(schema) or metadata != schema.metadata:  # (a different count of fields: never equal)
        return False
    for i in range(n):
        if not fields[i].equals(schema.field(i), check_metadata=True):
            return False
    return True


FIELD_BY_FIELD = 4
"""Schemas of at most this many fields are compared field by field by :func:`same_schema`."""


def same_schema(a: pa.Schema, b: pa.Schema) -> bool:
    """``a.equals(b, check_metadata=True)``: the same fields (names, types, nullability, metadata) in the same
    order, and the same schema metadata.

    Arrow's ``Schema.equals`` compares the two schemas' fingerprints, texts of every field made once per schema
    object, and a schema read from a file has none yet. For a few fields comparing them one by one costs less
    (in the rewrite loop of ``benchmarks/advise_cost.py``, a 2-field schema's fingerprint was about 10% of its
    advice); from about five fields on, the fields' Python wrappers cost more than the fingerprint
    (:data:`FIELD_BY_FIELD`). A rewrite compares each schema it reads twice, when its advice looks the schema's
    facts up and when the file read back is checked (:mod:`~.verify`): both compare this way, so no fingerprint
    of a narrow schema is made at all (rather than made later by the other comparison).
    """
    n = len(a)
    if n > FIELD_BY_FIELD or n != len(b):
        return a.equals(b, check_metadata=True)
    return _same_as_held(_held(a), b)


_CACHE: dict[tuple[str, bytes, bool], Any] = {}
_CACHE_SIZE = 256


def _cached(kind: str, schema: pa.Schema, int96: bool) -> Any:
    """``_leaf_columns`` or ``_needs_arrow_schema`` of ``schema``, remembered (results are immutable)."""
    compute = _leaf_columns if kind == "leaves" else _needs_arrow_schema
    return schema_memo(kind, schema, lambda s: compute(s, int96=int96), int96=int96)


def schema_memo(kind: str, schema: pa.Schema, compute: Callable[[pa.Schema], Any], *, int96: bool = False) -> Any:
    """``compute(schema)``, remembered per ``kind`` and schema (metadata included) for what depends on the schema
    alone and is immutable (the leaves, whether a footer needs the Arrow schema, which columns are flat...): an
    advice asks each of these of the same schema, once per table."""
    try:
        key = (kind, *_schema_key(schema, int96))
    except (pa.ArrowException, TypeError):  # a schema IPC cannot serialize: not cached
        key = None
    if key is not None:
        found = _CACHE.get(key, _CACHE)
        if found is not _CACHE:
            return found
    value = compute(schema)
    if key is not None:
        if len(_CACHE) >= _CACHE_SIZE:
            try:
                _CACHE.pop(next(iter(_CACHE)), None)
            except (StopIteration, RuntimeError):  # emptied or resized by another thread meanwhile
                pass
        _CACHE[key] = value
    return value


def leaf_columns(schema: pa.Schema, *, int96: bool = False) -> tuple[LeafColumn, ...]:
    """The Parquet leaves pyarrow writes for ``schema``, in file order (cached per schema: finding them costs
    an empty file's write, which the advisor, the plan check and the writer would each pay).

    Raises:
        SchemaMismatch: pyarrow cannot write this schema to Parquet (the message names the reason).
    """
    return _cached("leaves", schema, int96)


def _leaf_columns(schema: pa.Schema, *, int96: bool = False) -> tuple[LeafColumn, ...]:
    """The Parquet leaves pyarrow writes for ``schema``, in file order.

    Args:
        schema: the Arrow schema.
        int96: timestamps are written as legacy INT96 (as Spark writes them by default), which only takes
            dictionary or PLAIN.

    Raises:
        SchemaMismatch: pyarrow cannot write this schema to Parquet (the message names the reason).
    """
    names = schema.names
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SchemaMismatch(f"duplicate column names cannot be written to Parquet: {', '.join(dupes)}")
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(_empty(schema), sink, use_deprecated_int96_timestamps=int96)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise SchemaMismatch(f"this schema cannot be written to Parquet: {exc}") from exc
    parquet_schema = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema
    owners = [field for field in schema for _ in range(_leaf_count(field.type))]
    if len(owners) != len(parquet_schema):
        raise SchemaMismatch(f"cannot map the {len(parquet_schema)} Parquet leaves of this schema to its columns")
    paths = [parquet_schema.column(i).path for i in range(len(parquet_schema))]
    if len(set(paths)) != len(paths):
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        raise SchemaMismatch(f"column paths are ambiguous (a dotted column name equals a nested path): {', '.join(dupes)}",
                             column=dupes[0])
    leaves = []
    for i, field in enumerate(owners):
        col = parquet_schema.column(i)
        top = field.name
        leaves.append(
            LeafColumn(
                path=col.path,
                top=top,
                index=i,
                physical_type=col.physical_type,
                logical_type=str(col.logical_type),
                arrow_type=str(field.type),
                dictionary=_contains_dictionary(field.type),
            )
        )
    return tuple(leaves)


def _empty(schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` without rows. (``schema.empty_table()`` builds its columns with ``pa.array([])``, which
    imports pandas when it is installed: seconds on a cold start, for nothing.)"""
    return pa.Table.from_batches([], schema=schema)


def _leaf_count(dtype: pa.DataType) -> int:
    """How many Parquet leaf columns an Arrow type becomes."""
    if pa.types.is_dictionary(dtype):
        return _leaf_count(dtype.value_type)
    if isinstance(dtype, pa.ExtensionType):
        return _leaf_count(dtype.storage_type)
    if pa.types.is_map(dtype):
        return _leaf_count(dtype.key_type) + _leaf_count(dtype.item_type)
    if dtype.num_fields:
        return sum(_leaf_count(dtype.field(i).type) for i in range(dtype.num_fields))
    return 1


def _leaves_of(array: pa.Array) -> list[pa.Array | None]:
    """Leaf value arrays of one (possibly nested) Arrow array, depth first, as Parquet orders them."""
    dtype = array.type
    if pa.types.is_dictionary(dtype):
        return _leaves_of(array.dictionary_decode())
    if isinstance(dtype, pa.ExtensionType):
        return _leaves_of(array.storage)
    if pa.types.is_struct(dtype):
        children = array.flatten()
        return [leaf for child in children for leaf in _leaves_of(child)]
    if pa.types.is_map(dtype):
        offsets = array.offsets
        start, stop = offsets[0].as_py(), offsets[-1].as_py()
        return _leaves_of(array.keys.slice(start, stop - start)) + _leaves_of(array.items.slice(start, stop - start))
    if dtype.num_fields == 1:  # list, large_list, fixed_size_list, list_view
        return _leaves_of(pc.list_flatten(array))
    return [array]


def leaf_arrays(
    table: pa.Table, leaves: tuple[LeafColumn, ...], *, facts: SchemaFacts | None = None
) -> dict[str, pa.Array | None]:
    """The values of every leaf of ``table`` as flat Arrow arrays (``None`` where a leaf cannot be extracted).

    Nested leaves hold the present values only (a null list contributes nothing); used for statistics, never
    for writing. ``facts`` are those of ``table``'s schema, when the caller has them.
    """
    if facts is not None and facts.leaves is leaves:
        simple = facts.one_leaf_per_column
    else:
        names = flat_columns(table.schema)
        simple = names is not None and _one_leaf_per_column(leaves, names)
    if simple:
        # one leaf per column: the columns themselves
        return dict(zip([leaf.path for leaf in leaves], column_arrays(table)[0]))
    out: dict[str, pa.Array | None] = {}
    by_top: dict[str, list[LeafColumn]] = {}
    for leaf in leaves:
        by_top.setdefault(leaf.top, []).append(leaf)
    for top, group in by_top.items():
        column = table.column(top)
        try:
            arrays = _leaves_of(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
        except (pa.ArrowException, ValueError, TypeError):
            arrays = []
        if len(arrays) != len(group):
            arrays = [None] * len(group)
        for leaf, arr in zip(group, arrays):
            out[leaf.path] = arr
    return out


def column_arrays(table: pa.Table) -> tuple[list[pa.Array], bool]:
    """Each column of ``table`` as one array (its one chunk, or its chunks combined: a copy), and whether each
    was its one chunk (the table's own arrays, whose buffers are the table's)."""
    arrays, own = [], True
    for column in table.columns:
        if column.num_chunks == 1:
            arrays.append(column.chunk(0))
        else:
            arrays.append(column.combine_chunks())
            own = False
    return arrays, own


def _one_leaf_per_column(leaves: tuple[LeafColumn, ...], names: tuple[str, ...]) -> bool:
    """Whether ``leaves`` are the flat columns ``names`` themselves, one each, in order."""
    return len(names) == len(leaves) and all(leaf.top == name and leaf.path == name
                                             for leaf, name in zip(leaves, names))


def flat_columns(schema: pa.Schema) -> tuple[str, ...] | None:
    """The column names of ``schema`` when every column is flat (no struct, list, map, dictionary or extension
    type: each is its own Parquet leaf), else ``None`` (cached per schema)."""
    return schema_memo("flat", schema, _flat_columns)


def _flat_columns(schema: pa.Schema) -> tuple[str, ...] | None:
    for field in schema:
        dtype = field.type
        if dtype.num_fields or isinstance(dtype, pa.ExtensionType) or pa.types.is_dictionary(dtype):
            return None
    return tuple(schema.names)


def sortable_columns(schema: pa.Schema) -> tuple[str, ...]:
    """Names of the flat columns of ``schema`` of a type a sort order is declared for (integers, temporal types,
    strings, floats, decimals), in order."""
    flat = {leaf.top for leaf in leaf_columns(schema) if leaf.path == leaf.top and not leaf.dictionary}
    return tuple(field.name for field in schema if field.name in flat and (
        pa.types.is_integer(field.type) or pa.types.is_temporal(field.type) or pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type) or pa.types.is_floating(field.type)
        or pa.types.is_decimal(field.type)))


@dataclass(frozen=True)
class SchemaFacts:
    """What an advice needs to know of a schema alone, worked out once per schema (metadata included) and
    ``int96``: one look-up per advice instead of one per fact.

    Attributes:
        leaves: :func:`leaf_columns`.
        flat: :func:`flat_columns`.
        sortable: :func:`sortable_columns`.
        store_schema: :func:`needs_arrow_schema`.
        one_leaf_per_column: every column is flat, its own leaf (:func:`leaf_arrays` takes the columns).
        timestamps: :func:`holds_timestamp` (only then can a file read as this schema store INT96).
    """

    leaves: tuple[LeafColumn, ...]
    flat: tuple[str, ...] | None
    sortable: tuple[str, ...]
    store_schema: bool
    one_leaf_per_column: bool = False
    timestamps: bool = False


def schema_facts(schema: pa.Schema, *, int96: bool = False) -> SchemaFacts:
    """The :class:`SchemaFacts` of ``schema`` (cached per schema and ``int96``).

    Raises:
        SchemaMismatch: pyarrow cannot write this schema to Parquet (as :func:`leaf_columns`).
    """
    try:  # (found: one key and one look-up, without :func:`schema_memo`'s call and closure)
        found = _CACHE.get(("facts", *_schema_key(schema, int96)))
    except (pa.ArrowException, TypeError):  # a schema IPC cannot serialize: schema_memo computes, uncached
        found = None
    return found if found is not None else schema_memo("facts", schema, lambda s: _schema_facts(s, int96), int96=int96)


def _schema_facts(schema: pa.Schema, int96: bool) -> SchemaFacts:
    leaves, flat = leaf_columns(schema, int96=int96), flat_columns(schema)
    return SchemaFacts(leaves, flat, sortable_columns(schema), needs_arrow_schema(schema, int96=int96),
                       flat is not None and _one_leaf_per_column(leaves, flat), holds_timestamp(schema))


def holds_timestamp(schema: pa.Schema) -> bool:
    """Whether ``schema`` holds a timestamp, at any depth (pyarrow reads INT96 as timestamps only)."""
    return any(_has_timestamp(f.type) for f in schema)


def _has_timestamp(dtype: pa.DataType) -> bool:
    if pa.types.is_timestamp(dtype):
        return True
    if pa.types.is_dictionary(dtype):
        return _has_timestamp(dtype.value_type)
    if isinstance(dtype, pa.ExtensionType):
        return _has_timestamp(dtype.storage_type)
    return any(_has_timestamp(dtype.field(i).type) for i in range(dtype.num_fields))


def needs_arrow_schema(schema: pa.Schema, *, int96: bool = False) -> bool:
    """Whether a file of ``schema`` must store pyarrow's serialized schema to read back equal (cached per
    schema; see :func:`_needs_arrow_schema`)."""
    return bool(_cached("schema", schema, int96))


def _needs_arrow_schema(schema: pa.Schema, *, int96: bool = False) -> bool:
    """Whether a file of ``schema`` must store pyarrow's serialized schema (``ARROW:schema``) to read back equal.

    pyarrow stores the Arrow schema in the footer (hundreds of bytes: a third of a tiny file) to restore what
    Parquet's own types cannot say (time zones, durations, large strings, dictionaries, extension types).
    When an empty file written without it reads back with exactly this schema, the copy is redundant. Without
    it pyarrow writes no key-value metadata either, so a schema with metadata always keeps it.
    """
    if schema.metadata:
        return True
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(_empty(schema), sink, store_schema=False, use_deprecated_int96_timestamps=int96)
        back = pq.read_schema(pa.BufferReader(sink.getvalue()))
    except (pa.ArrowException, ValueError, TypeError):
        return True
    return not back.remove_metadata().equals(schema.remove_metadata(), check_metadata=True)  # fields' metadata kept
