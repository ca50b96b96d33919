"""Stable 64-bit row hashes and an order-independent checksum of a table's rows.

A rebuild recipe (:mod:`lakeshrink.containment.planner.recipes`) records the checksum of the child table's rows so that
a rebuilt table can be proved equal to the original as a multiset of rows, whatever the row order. The hashes
are also how child rows are matched to parent rows when a recipe is built.

The hash must stay the same across machines and library versions (a recipe written today is checked months
later), so it does not use polars' ``hash_rows`` (documented as unstable across versions); it is computed here
with numpy from a canonical form of each value:

* integers, booleans, dates, times, timestamps, durations: their int64 value (unsigned 64-bit: the same bits);
* floats: the float64 bit pattern, with ``-0.0`` folded into ``0.0`` and every NaN into one NaN;
* strings and binary: a position-keyed sum of mixed bytes, then mixed with the length;
* decimals and anything else (nested types): the text of the value, hashed as a string;
* null: a fixed constant.

Each column's value hashes are keyed by the column's name and combined in the given column order with the
SplitMix64 finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
The table checksum is the row count and two 64-bit sums (mod 2**64) of differently mixed row hashes, written
``v1:<rows>:<32 hex digits>``; a sum is order-independent and counts duplicates, so equal checksums mean equal
multisets of rows up to a 2**-128-scale collision chance for data that is not adversarial.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHECKSUM_VERSION = "v1"
_NULL = np.uint64(0x6E756C6C5F6C616B)  # "null_lak"
_SEED2 = np.uint64(0x9E3779B97F4A7C15)
_CHUNK_BYTES = 1 << 23


def mix64(z: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """The SplitMix64 finaliser applied element-wise to a uint64 array (wrapping arithmetic). ``inplace``: mix
    ``z`` itself (a uint64 temporary of the caller's), without a copy."""
    if not (inplace and z.dtype == np.uint64):
        z = z.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _name_seed(name: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little"))


def _bytes_hash(arr: pa.Array, seed: int = 0) -> np.ndarray:
    """Hash every value of a (large_)binary array without nulls; vectorised over its data buffer. A non-zero
    ``seed`` gives an independent hash (its byte terms are mixed with the seed)."""
    key = np.uint64(seed)
    arr = arr.cast(pa.large_binary())
    n = len(arr)
    out = np.empty(n, dtype=np.uint64)
    offsets_all = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.empty(0, np.uint8)
    start = 0
    while start < n:
        # take as many values as fit in one chunk of bytes (at least one)
        limit = offsets_all[start] + _CHUNK_BYTES
        stop = int(np.searchsorted(offsets_all, limit, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        offs = offsets_all[start : stop + 1]
        lengths = np.diff(offs)
        total = int(offs[-1] - offs[0])
        h = np.zeros(stop - start, dtype=np.uint64)
        if total:
            chunk = data[offs[0] : offs[-1]].astype(np.uint64)
            owner = np.repeat(np.arange(stop - start), lengths)
            position = np.arange(total, dtype=np.uint64) - np.repeat((offs[:-1] - offs[0]).astype(np.uint64), lengths)
            terms = mix64((chunk | (position << np.uint64(8))) ^ key)
            nonempty = lengths > 0
            sums = np.add.reduceat(terms, np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]))
            with np.errstate(over="ignore"):
                h[nonempty] = sums
        out[start:stop] = mix64(h ^ (lengths.astype(np.uint64) * _SEED2) ^ key)
        start = stop
    return out


def _canonical(arr: pa.Array) -> tuple[str, pa.Array]:
    """The array in a canonical form ("int", "float" or "bytes") for hashing."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return _canonical(arr.dictionary_decode())
    if pa.types.is_boolean(t):
        return "int", arr.cast(pa.int8()).cast(pa.int64())
    if pa.types.is_unsigned_integer(t):
        return "uint", arr.cast(pa.uint64())
    if pa.types.is_integer(t):
        return "int", arr.cast(pa.int64())
    if pa.types.is_date32(t):
        return "int", arr.cast(pa.int32()).cast(pa.int64())
    if pa.types.is_date64(t) or pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_time(t):
        return "int", arr.cast(pa.int64()) if not pa.types.is_time32(t) else arr.cast(pa.int32()).cast(pa.int64())
    if pa.types.is_floating(t):
        return "float", arr.cast(pa.float64())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "bytes", arr.cast(pa.large_string()).cast(pa.large_binary())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return "bytes", arr.cast(pa.large_binary())
    if pa.types.is_decimal(t):
        return "bytes", arr.cast(pa.string()).cast(pa.large_binary())
    text = pa.array([None if v is None else repr(v) for v in arr.to_pylist()], type=pa.large_string())
    return "bytes", text.cast(pa.large_binary())


def value_hashes(arr: pa.Array | pa.ChunkedArray, seed: int = 0) -> np.ndarray:
    """A uint64 hash of every value of ``arr`` (nulls hash to a constant).

    ``seed`` 0 is the recipes' hash (never change it); another seed gives an independent hash of the same
    canonical values (:mod:`lakeshrink.containment.scan.fingerprints` pairs two into 128-bit row fingerprints).
    """
    return value_hash_set(arr, (seed,))[0]


def value_hash_set(arr: pa.Array | pa.ChunkedArray, seeds: tuple[int, ...]) -> list[np.ndarray]:
    """:func:`value_hashes` of ``arr`` under each of ``seeds``, canonicalising (and dictionary-encoding) once."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    n = len(arr)
    if n == 0:
        return [np.empty(0, dtype=np.uint64) for _ in seeds]
    kind, canon = _canonical(arr)
    valid = None if canon.null_count == 0 else np.asarray(canon.is_valid())
    filled = canon if valid is None else canon.drop_null()
    if kind == "bytes":
        # hash each distinct value once
        encoded = pc.dictionary_encode(filled)
        indices = np.asarray(encoded.indices)
        hashed = [_bytes_hash(encoded.dictionary, seed)[indices] for seed in seeds]
    else:
        values = filled.to_numpy(zero_copy_only=False)
        if kind == "float":
            values = np.where(values == 0.0, 0.0, values)
            values = np.where(np.isnan(values), np.nan, values)
        bits = values.view(np.uint64) if kind != "int" else values.astype(np.int64).view(np.uint64)
        hashed = [mix64(bits ^ np.uint64(seed)) if seed else mix64(bits) for seed in seeds]
    if valid is None:
        return hashed
    out = []
    for seed, h in zip(seeds, hashed):
        full = np.full(n, _NULL if not seed else mix64(np.array([_NULL ^ np.uint64(seed)], np.uint64))[0] ^ np.uint64(1), dtype=np.uint64)
        full[valid] = h
        out.append(full)
    return out


def row_hashes(table: pa.Table, columns: list[str] | None = None) -> np.ndarray:
    """A stable uint64 hash of each row of ``table`` over ``columns`` (default: all), in that column order."""
    names = list(columns) if columns is not None else table.column_names
    h = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in names:
            col = value_hashes(table.column(name))
            h = mix64((h * np.uint64(0x100000001B3)) ^ mix64(col + _name_seed(name)))
    return h


def partial_sums(hashes: np.ndarray) -> tuple[int, int, int]:
    """``(rows, sum a, sum b)`` of a part of a table's row hashes; parts combine by adding (mod 2**64)."""
    if not len(hashes):
        return 0, 0, 0
    with np.errstate(over="ignore"):
        a = int(np.sum(hashes, dtype=np.uint64))
        b = int(np.sum(mix64(hashes ^ _SEED2), dtype=np.uint64))
    return len(hashes), a, b


def checksum_from_sums(parts: list[tuple[int, int, int]]) -> str:
    """The checksum of a table from the :func:`partial_sums` of its parts (computed anywhere, in any order)."""
    rows = sum(p[0] for p in parts)
    a = sum(p[1] for p in parts) % (1 << 64)
    b = sum(p[2] for p in parts) % (1 << 64)
    return f"{CHECKSUM_VERSION}:{rows}:{a:016x}{b:016x}"


def checksum_of_hashes(hashes: np.ndarray) -> str:
    """The order-independent checksum of a multiset of row hashes."""
    return checksum_from_sums([partial_sums(hashes)])


def table_checksum(table: pa.Table, columns: list[str] | None = None) -> str:
    """The order-independent checksum of ``table``'s rows (row order does not matter; duplicates do).

    Example:
        >>> import pyarrow as pa
        >>> t = pa.table({"a": [1, 2, 2], "b": ["x", None, "y"]})
        >>> table_checksum(t) == table_checksum(t.take([2, 0, 1]))
        True
    """
    return checksum_of_hashes(row_hashes(table, columns))
