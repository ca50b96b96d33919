"""Cheap per-column statistics that explain (and sanity-check) an encoding choice.

The statistics follow the column properties the VLDB'23 study of Parquet and ORC measured on real data
(Zeng et al., "An Empirical Evaluation of Columnar Storage Formats", VLDB 2023, section 4): the distinct-value
ratio (NDV / rows), the null ratio, the average run length, sortedness, and the average value width. They are
computed on the sample; the number of distinct values of the whole column can be supplied (exact from a local
table, ``approx_count_distinct`` on Spark) to scale dictionary sizes correctly.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeshrink.codecs.encodings.lazy import LazyField, resolved_state
from lakeshrink.codecs.encodings.sample import int64_array


@dataclass(frozen=True)
class ColumnStats:
    """Statistics of one leaf column's sample.

    Attributes:
        values: number of leaf values in the sample (nulls included).
        nulls: null values in the sample.
        distinct: distinct non-null values in the sample.
        mean_run: average length of runs of equal consecutive values (1.0: no repetition).
        sorted_fraction: share of consecutive non-null pairs that do not decrease (1.0: sorted ascending);
            ``None`` for types without an order. For strings it is computed when first read (a comparison of
            every neighbouring pair: the cost model needs it for few columns, the plan's reasons for all).
        width: average bytes per non-null value in Arrow (strings: payload bytes).
        full_distinct: distinct values of the whole column, when known (may be given as a callable: the cost
            model's Chao1 estimate of a part's column is made only if a rule or reason reads it).
        singletons: distinct values seen once in the sample; ``doubletons``: seen twice (for Chao1).

    ``distinct``, ``mean_run``, ``sorted_fraction``, ``singletons`` and ``doubletons`` each cost a pass over the
    sample (a sort, a hash, a comparison of neighbours): :func:`column_stats` gives them as callables, computed
    when first read. The cost model reads few of them (a sorted integer column needs no distinct count, a float
    column no order, and runs and Chao1's counts are read by one rule each and for a part of a table); the
    plan's reasons read the rest if someone reads a reason (a rewrite reads none). Until then the statistics
    hold the sample's arrays.
    """

    values: int
    nulls: int
    distinct: int = LazyField(0)  # type: ignore[assignment]  # these five may be given as callables (see below)
    mean_run: float = LazyField(1.0)  # type: ignore[assignment]
    sorted_fraction: float | None = LazyField(None)  # type: ignore[assignment]
    width: float = 0.0
    full_distinct: int | None = LazyField(None)  # type: ignore[assignment]
    singletons: int = LazyField(0)  # type: ignore[assignment]
    doubletons: int = LazyField(0)  # type: ignore[assignment]

    def __getstate__(self) -> dict:
        state = resolved_state(self, *LAZY_STATS)
        state.pop("_facts", None)  # the sample's values: not part of the statistics
        return state

    def ends_differ(self) -> bool | None:
        """Whether the first and last non-null values differ (``None``: these statistics do not hold them)."""
        facts = self.__dict__.get("_facts")
        return facts.ends_differ() if facts is not None else None

    @classmethod
    def of_facts(cls, values: int, nulls: int, facts: _NumericFacts | _FewStrings, width: float, full_distinct: int | None) -> ColumnStats:
        """Statistics whose costly fields are ``facts``' methods, computed when first read. (The fields are put
        in place directly: the frozen dataclass's ``__init__`` sets each through ``object.__setattr__`` and the
        lazy ones through their descriptor, which cost more than the statistics of a small column; one by one: a
        keyword call of ``dict.update`` builds a dictionary to copy.)"""
        stats = object.__new__(cls)
        state = stats.__dict__
        state["values"] = values
        state["nulls"] = nulls
        state["width"] = width
        state["_distinct_value"] = facts.distinct
        state["_mean_run_value"] = facts.mean_run
        state["_sorted_fraction_value"] = facts.ordered
        state["_full_distinct_value"] = full_distinct
        state["_singletons_value"] = facts.singletons
        state["_doubletons_value"] = facts.doubletons
        state["_facts"] = facts
        return stats

    def distinct_floor(self, enough: float) -> int:
        """A lower bound of the distinct count the cost model's repeats divide by (``full_distinct`` when it is
        given, else ``distinct``), 0 when none is had cheaply: the count itself when already known; else, for long
        strings, the distinct values of a short prefix of the sample when they are more than ``enough``
        (:meth:`_Strings.distinct_over`), without counting the whole column. A rule that asks whether a value
        repeats at least ``present / enough`` times is then answered without hashing every string."""
        state = self.__dict__
        full = state.get("_full_distinct_value")
        if full is not None:
            return 0 if callable(full) else full  # (an estimate still to make: the caller makes it)
        known = state.get("_distinct_value")
        if not callable(known):
            return known
        facts = state.get("_facts")
        return facts.distinct_over(enough) if isinstance(facts, _Strings) else 0

    def with_full_distinct(self, full_distinct: int | None | Callable[[], int | None]) -> ColumnStats:
        """These statistics with ``full_distinct`` set (a value, or a callable computed when first read), the
        ones not read yet still computed only when read (``dataclasses.replace`` would compute them all)."""
        copy = object.__new__(ColumnStats)
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_full_distinct_value"] = full_distinct
        return copy

    def chao1(self, total_rows: int) -> int:
        """Distinct values of a column of ``total_rows`` rows this sample was taken from (Chao1, see
        :func:`estimate_distinct`), from the sample's own counts: no second pass over the data."""
        if self.values == 0 or total_rows <= self.values:
            return self.distinct
        f1, f2 = self.singletons, self.doubletons
        estimate = self.distinct + (f1 * f1 / (2 * f2) if f2 else f1 * (f1 - 1) / 2)
        return int(min(total_rows * (1 - self.null_ratio), round(estimate)))

    @property
    def null_ratio(self) -> float:
        return self.nulls / self.values if self.values else 0.0

    @property
    def ndv_ratio(self) -> float:
        present = self.values - self.nulls
        return self.distinct / present if present else 0.0

    def describe(self) -> str:
        """One line for people: ``"NDV 12 (0.1%), nulls 3%, runs 40.0, sorted 100%"``."""
        parts = [f"NDV {self.full_distinct if self.full_distinct is not None else self.distinct:,}"]
        parts[-1] += f" ({self.ndv_ratio:.1%} of sample)"
        if self.nulls:
            parts.append(f"nulls {self.null_ratio:.0%}")
        if self.mean_run >= 1.5:
            parts.append(f"runs {self.mean_run:.1f}")
        if self.sorted_fraction is not None and self.sorted_fraction >= 0.9:
            parts.append(f"sorted {self.sorted_fraction:.0%}")
        return ", ".join(parts)


LAZY_STATS = ("distinct", "mean_run", "sorted_fraction", "full_distinct", "singletons", "doubletons")

EMPTY = ColumnStats(0, 0, 0, 1.0, None, 0.0)


def _width(array: pa.Array, present: int) -> float:
    if present == 0:
        return 0.0
    dtype = array.type
    if pa.types.is_binary(dtype) or pa.types.is_string(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_large_string(dtype):
        return float(pc.sum(pc.binary_length(array)).as_py() or 0) / present
    try:
        return dtype.bit_width / 8.0
    except ValueError:
        return float(array.nbytes) / present


def _runs(array: pa.Array) -> float:
    """Average length of runs of equal consecutive values (nulls form runs too)."""
    n = len(array)
    if n < 2:
        return float(n)
    encoded = pc.run_end_encode(array)
    return n / len(encoded.run_ends)


def _sorted_fraction(array: pa.Array) -> float | None:
    values = array.drop_null()
    if len(values) < 2:
        return None
    dtype = values.type
    if not (pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_temporal(dtype)
            or pa.types.is_decimal(dtype) or pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
            or pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype)):
        return None
    try:
        ordered = pc.less_equal(values.slice(0, len(values) - 1), values.slice(1))
    except pa.ArrowNotImplementedError:
        return None
    return float(pc.sum(ordered).as_py() or 0) / (len(values) - 1)


_NUMERIC_KINDS = {
    **{t.id: "i" for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.date32(), pa.date64(), pa.timestamp("s"),
                          pa.time32("s"), pa.time64("us"), pa.duration("s"))},
    **{t.id: "u" for t in (pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())},
    pa.float32().id: "f", pa.float64().id: "f",
}
"""numpy kind of the Arrow types whose values :func:`_numeric_view` reads, by type id (one look-up instead of a
``pa.types`` test per kind: a string column asked ten of them per advice)."""
_STRING_IDS = frozenset(t.id for t in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary()))
_LARGE_IDS = frozenset((pa.large_string().id, pa.large_binary().id))
_VIEW_TYPES = {pa.string_view().id: pa.large_string(), pa.binary_view().id: pa.large_binary()}  # counted as these


def _numeric_view(array: pa.Array, *, nan: bool = False) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(values, validity or ``None``) of an integer, float or date/time array as numpy views of its buffers, or
    ``None`` for other types (and floats holding NaN: one value to Arrow and Parquet, not to numpy; with ``nan``
    they are not looked for: the caller does)."""
    dtype = array.type
    kind = _NUMERIC_KINDS.get(dtype.id)
    if kind is None:
        return None
    validity, data = array.buffers()[:2]
    if data is None:
        return None
    n, offset = len(array), array.offset
    values = np.frombuffer(data, dtype=np.dtype(f"<{kind}{dtype.bit_width // 8}"))[offset:offset + n]
    valid = None
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[offset:offset + n].astype(bool)
    if kind == "f" and not nan and np.isnan(values if valid is None else values[valid]).any():
        return None
    return values, valid


def _numeric_stats(array: pa.Array, full_distinct: int | None) -> ColumnStats | None:
    """The statistics of an integer, float, date/time or string column with numpy (``None`` for other types),
    each computed when first read (:class:`_NumericFacts`): a sort and a few vector comparisons, without a
    compute-kernel call per statistic (each of which waits for Arrow's thread pool: the main cost of advising a
    table of thousands of rows). Strings are counted through their dictionary (one ``dictionary_encode``, one
    comparison of neighbours; no sort of the strings)."""
    view = _numeric_view(array, nan=True)
    if view is None:
        if not _is_string(array.type):
            return None
        facts: _NumericFacts | _FewStrings = _FewStrings(array) if len(array) <= FEW_STRINGS else _Strings(array)
        if facts.present == 0:
            return None
        width = (facts.payload if isinstance(facts, _FewStrings) else _string_bytes(array)) / facts.present
        if width > PACKED_BYTES and isinstance(facts, _Strings):
            facts._packed = None  # some value is longer than a packed one: not tried
    else:
        facts = _FloatFacts(*view, array) if view[0].dtype.kind == "f" else _NumericFacts(*view)
        if facts.present == 0:
            return None
        width = array.type.bit_width / 8.0
    n = len(array)
    return ColumnStats.of_facts(n, n - facts.present, facts, float(width), full_distinct)


class _NumericFacts:
    """The statistics of numeric values (``data`` with validity ``valid`` or ``None``) that cost a pass, each
    computed when first asked (the sort once, for the distinct count and Chao1's counts)."""

    def __init__(self, data: np.ndarray, valid: np.ndarray | None):
        self.data, self.valid = data, valid
        self.values = data if valid is None else data[valid]
        self.present = len(self.values)
        self._counts: np.ndarray | None = None
        self._new: np.ndarray | None = None
        self._sorted: np.ndarray | None = None

    def _ranked(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.values)
        return self._sorted

    def _starts(self) -> np.ndarray:
        """Whether each value of the sorted values differs from the one before (the first does)."""
        if self._new is None:
            ranked = self._ranked()
            self._new = np.concatenate(([True], ranked[1:] != ranked[:-1]))
        return self._new

    def counts(self) -> np.ndarray:
        """Occurrences of each distinct value."""
        if self._counts is None:
            self._counts = np.diff(np.append(np.flatnonzero(self._starts()), self.present))
        return self._counts

    def distinct(self) -> int:
        return int(np.count_nonzero(self._starts()))

    def singletons(self) -> int:
        return int(np.count_nonzero(self.counts() == 1))

    def doubletons(self) -> int:
        return int(np.count_nonzero(self.counts() == 2))

    def mean_run(self) -> float:
        data, valid = self.data, self.valid
        differ = data[1:] != data[:-1]
        if valid is not None:  # nulls form runs of their own
            differ = (differ & valid[1:] & valid[:-1]) | (valid[1:] != valid[:-1])
        return len(data) / (int(np.count_nonzero(differ)) + 1)

    def ends_differ(self) -> bool | None:
        """Whether the first and last non-null values differ (numpy: NaN differs from itself, as in Python)."""
        values = self.values
        return len(values) >= 2 and bool(values[0] != values[-1])

    def ordered(self) -> float | None:
        values, present = self.values, self.present
        return float(np.count_nonzero(values[1:] >= values[:-1])) / (present - 1) if present >= 2 else None


class _FloatFacts(_NumericFacts):
    """:class:`_NumericFacts` of floats, which may hold NaN (one value to Arrow and Parquet, not to numpy): the
    sort the distinct count needs anyway puts NaN last, and a column holding one gets every statistic from
    Arrow's kernels instead (:func:`_kernel_stats`), as before. (A NaN check of its own, before anything is
    read, was the costliest step of a float column's statistics in a rewrite.)"""

    def __init__(self, data: np.ndarray, valid: np.ndarray | None, array: pa.Array):
        super().__init__(data, valid)
        self.array = array
        self._kernels: ColumnStats | None | bool = None

    def _nan(self) -> ColumnStats | None:
        """Arrow's statistics of the column when it holds NaN, else ``None``."""
        if self._kernels is None:
            last = self._ranked()[-1]
            self._kernels = _kernel_stats(self.array, None) if last != last else False
        return self._kernels or None

    def distinct(self) -> int:
        kernels = self._nan()
        return kernels.distinct if kernels is not None else super().distinct()

    def singletons(self) -> int:
        kernels = self._nan()
        return kernels.singletons if kernels is not None else super().singletons()

    def doubletons(self) -> int:
        kernels = self._nan()
        return kernels.doubletons if kernels is not None else super().doubletons()

    def mean_run(self) -> float:
        kernels = self._nan()
        return kernels.mean_run if kernels is not None else super().mean_run()

    def ordered(self) -> float | None:
        kernels = self._nan()
        return kernels.sorted_fraction if kernels is not None else super().ordered()


class _Strings(_NumericFacts):
    """:class:`_NumericFacts` of a string or binary array. Strings of at most 7 bytes are packed with their length
    into one integer each (:func:`_packed_strings`: equal integers for equal strings, ordered as the bytes), and
    counted and ordered as numbers; longer ones through their dictionary: the dictionary index of each value (one
    ``dictionary_encode``, made when first asked) stands for the value, and the order compares the strings
    themselves. Both are made when first asked."""

    def __init__(self, array: pa.Array):
        self.array = array
        self.present = len(array) - array.null_count
        self._encoded: pa.DictionaryArray | None = None
        self._view: tuple[np.ndarray, np.ndarray | None] | None = None
        self._counts = None
        self._new = self._sorted = None
        self._packed: tuple[np.ndarray, np.ndarray | None] | None | bool = False  # False: not tried yet

    def _short(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        if self._packed is False:
            self._packed = _packed_strings(self.array)
        return self._packed  # type: ignore[return-value]

    def _encode(self) -> pa.DictionaryArray:
        if self._encoded is None:
            self._encoded = pc.dictionary_encode(self.array)
        return self._encoded

    def _indices(self) -> tuple[pa.DictionaryArray, np.ndarray, np.ndarray | None]:
        if self._view is None:
            view = _numeric_view(self._encode().indices)
            assert view is not None  # integer indices
            self._view = view
        return (self._encode(), *self._view)

    @property  # type: ignore[override]
    def data(self) -> np.ndarray:
        short = self._short()
        return short[0] if short is not None else self._indices()[1]

    @property  # type: ignore[override]
    def valid(self) -> np.ndarray | None:
        short = self._short()
        return short[1] if short is not None else self._indices()[2]

    @property  # type: ignore[override]
    def values(self) -> np.ndarray:  # (only of packed strings)
        data, valid = self._short()  # type: ignore[misc]
        return data if valid is None else data[valid]

    def counts(self) -> np.ndarray:
        if self._counts is None:
            if self._short() is not None:
                return super().counts()
            encoded, indices, valid = self._indices()
            self._counts = np.bincount(indices if valid is None else indices[valid], minlength=len(encoded.dictionary))
        return self._counts

    def distinct(self) -> int:
        if self._short() is not None:
            return super().distinct()
        return len(self._encode().dictionary)  # nulls are not in it (null_encoding="mask")

    def ends_differ(self) -> bool | None:
        return super().ends_differ() if self._short() is not None else None  # (else the caller compares two values)

    def distinct_over(self, enough: float) -> int:
        """The distinct non-null values among the first few of the array when they are more than ``enough`` (a lower
        bound of :meth:`distinct`), else 0; only for strings known to be longer than packed ones, whose count
        is a hash of every string (airports' ``name``: 1,458 strings, about a third of its advice).

        The prefix holds ``floor(enough) + 1`` values and a slack of an eighth of that, and is read only when it
        is at most a tenth of the array (:data:`PREFIX_SHARE`). Its first 16 values (:data:`PREFIX_HEAD`) are
        read first, and the rest only when they repeat no more often than the prefix can afford (a slack's worth
        over the whole prefix) and are not in order: a column of repeated values is counted anyway, and so is a
        sorted one (the rules ask a sorted column's repeats exactly, for DELTA_LENGTH_BYTE_ARRAY), so for them
        the prefix would cost its reading and save nothing (Loghub's timestamps: distinct, and sorted). Values
        are compared as Python objects (equal strings, equal UTF-8 bytes: what Arrow's hash compares)."""
        if self._packed is not None or self._encoded is not None:  # short or not known long, or already counted
            return 0
        need = int(enough) + 1  # more than ``enough`` distinct values
        slack = -(-need // 8)
        size = need + slack
        array = self.array
        if size * PREFIX_SHARE > len(array):
            return 0
        try:
            head = array.slice(0, min(size, PREFIX_HEAD)).to_pylist()
            seen = set(head)
            nulls = head.count(None)
            present = [v for v in head if v is not None] if nulls else head
            if (len(present) - (len(seen) - (nulls > 0))) * size > slack * len(head) or all(
                    map(operator.le, present, present[1:])):
                return 0  # repeats more often than the prefix can afford, or in order: the count is made anyway
            if len(head) < size:
                seen.update(array.slice(len(head), size - len(head)).to_pylist())
        except UnicodeDecodeError:  # (not valid UTF-8: the hash of the bytes counts it)
            return 0
        seen.discard(None)
        return len(seen) if len(seen) > enough else 0

    def ordered(self) -> float | None:
        if self.present < 2:
            return None
        return super().ordered() if self._short() is not None else _string_order(self.array, self.present)


PACKED_BYTES = 7  # the longest string packed into an integer (with its length: 8 bytes)
PREFIX_SHARE = 10  # :meth:`_Strings.distinct_over` reads a prefix of at most a tenth of the values,
PREFIX_HEAD = 16  # its first 16 values first


def _packed_strings(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None] | None:
    """A string or binary array of values of at most 7 bytes as one uint64 each (and its validity, or ``None``):
    the bytes, zero-padded to 7, then the length, read big-endian. Equal values give equal integers, and the
    integers are in the order of the bytes (a prefix first: its padding, then its length, is the smaller), which
    is the order of UTF-8 strings by code point, Arrow's. ``None`` when a value (null slots included) is longer.
    One-byte to seven-byte codes (airport codes, flags) are then counted with numpy, not hashed by a kernel."""
    validity, offsets_buffer, data_buffer = array.buffers()[:3]
    n, offset = len(array), array.offset
    large = array.type.id in _LARGE_IDS
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32)[offset:offset + n + 1]
    lengths = offsets[1:] - offsets[:-1]
    if n == 0:
        return None
    longest, shortest = int(lengths.max()), int(lengths.min())
    if longest > PACKED_BYTES or shortest < 0:
        return None
    first = int(offsets[0])
    total = int(offsets[-1]) - first
    packed = np.zeros((n, 8), dtype=np.uint8)
    if total:
        payload = np.frombuffer(data_buffer, dtype=np.uint8)[first:first + total]
        if longest == shortest:  # codes of one length: the payload is already a matrix
            packed[:, :longest] = payload.reshape(n, longest)
        else:  # each byte to its row (8 a row) and column (its place in its string), in one flat index
            starts = np.arange(0, 8 * n, 8, dtype=np.int64) - (offsets[:-1] - first)
            packed.reshape(-1)[np.arange(total, dtype=np.int64) + np.repeat(starts, lengths)] = payload
    packed[:, 7] = lengths
    keys = packed.view(">u8").reshape(n).astype(np.uint64)
    valid = None
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[offset:offset + n].astype(bool)
    return keys, valid


def _string_order(array: pa.Array, present: int) -> float:
    """Share of neighbouring non-null strings in order (compared in place: cheaper than sorting the distinct
    strings)."""
    values = array.drop_null() if array.null_count else array
    return pc.less_equal(values.slice(0, present - 1), values.slice(1)).true_count / (present - 1)


FEW_STRINGS = 128
"""String arrays of at most this many values get their statistics in Python: three compute-kernel calls (each
waiting for Arrow's thread pool) cost more than a loop over a hundred values."""


def _is_string(dtype: pa.DataType) -> bool:
    return dtype.id in _STRING_IDS


def _string_bytes(array: pa.Array) -> int:
    """Payload bytes of a string or binary array (null slots hold none), from its offsets."""
    large = array.type.id in _LARGE_IDS
    offsets = memoryview(array.buffers()[1]).cast("q" if large else "i")  # two reads: no numpy array needed
    return int(offsets[array.offset + len(array)] - offsets[array.offset])


class _FewStrings:
    """The statistics of a short string or binary array, in Python (UTF-8 orders as its code points), each
    computed when first asked (pairs of neighbours compared by ``map`` over ``operator``'s comparisons: no
    Python-level loop)."""

    __slots__ = ("values", "nulls", "present_values", "present", "payload", "_counts")  # (one per column of a
    # small table)

    def __init__(self, array: pa.Array):
        self.values = values = array.to_pylist()
        self.nulls = nulls = array.null_count
        self.present_values = [v for v in values if v is not None] if nulls else values
        self.present = len(self.present_values)
        # payload bytes of the array (:func:`_string_bytes`): without nulls, the values' own bytes (UTF-8 for
        # strings: what Arrow holds), which needs no view of the offsets buffer; a null slot may hold bytes, so
        # with nulls the offsets tell (worked out here: every caller reads it, for the width)
        self.payload = (_string_bytes(array) if nulls or not values else len("".join(values).encode())
                        if isinstance(values[0], str) else len(b"".join(values)))
        self._counts: Counter | None = None

    def counts(self) -> Counter:
        if self._counts is None:
            self._counts = Counter(self.present_values)
        return self._counts

    def distinct(self) -> int:
        return len(self.counts()) if self._counts is not None else len(set(self.present_values))

    def singletons(self) -> int:
        return list(self.counts().values()).count(1)

    def doubletons(self) -> int:
        return list(self.counts().values()).count(2)

    def mean_run(self) -> float:
        values = self.values
        return len(values) / (sum(map(operator.ne, values, values[1:])) + 1)  # nulls: runs of their own

    def ends_differ(self) -> bool | None:
        present = self.present_values
        return len(present) >= 2 and present[0] != present[-1]

    def ordered(self) -> float | None:
        present = self.present_values
        return sum(map(operator.le, present, present[1:])) / (len(present) - 1) if len(present) >= 2 else None


def column_stats(array: pa.Array | None, *, full_distinct: int | None = None) -> ColumnStats:
    """Statistics of one flat leaf array (``EMPTY`` when the leaf could not be extracted)."""
    if array is None:
        return EMPTY
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    type_id = array.type.id
    n = len(array)
    if 2 <= n <= FEW_STRINGS and type_id in _STRING_IDS:  # a few strings: in Python, straight away
        few = _FewStrings(array)
        if few.present:
            return ColumnStats.of_facts(n, n - few.present, few, few.payload / few.present, full_distinct)
    view_of = _VIEW_TYPES.get(type_id)
    if view_of is not None:
        array = array.cast(view_of)
    if n == 0:
        return ColumnStats(0, 0, 0, 1.0, None, 0.0, full_distinct)
    if n >= 2:
        fast = _numeric_stats(array, full_distinct)
        if fast is not None:
            return fast
    return _kernel_stats(array, full_distinct)


def _kernel_stats(array: pa.Array, full_distinct: int | None) -> ColumnStats:
    """:func:`column_stats` from Arrow's compute kernels (any type, NaN counted as one value)."""
    n = len(array)
    nulls = array.null_count
    present = n - nulls
    f1 = f2 = 0
    try:
        if present:
            counts = pc.value_counts(array.drop_null() if nulls else array).field("counts").to_numpy()
            distinct, f1, f2 = len(counts), int((counts == 1).sum()), int((counts == 2).sum())
        else:
            distinct = 0
        mean_run = _runs(array)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        distinct, mean_run = present, 1.0
    try:
        ordered, width = _sorted_fraction(array), _width(array, present)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        ordered, width = None, float(array.nbytes) / max(1, present)
    return ColumnStats(n, nulls, distinct, mean_run, ordered, width, full_distinct, f1, f2)


def exact_distinct(array: pa.Array | None) -> int | None:
    """Exact distinct non-null values of a whole leaf, or ``None`` when the type has no hash kernel."""
    if array is None:
        return None
    if pa.types.is_string_view(array.type) or pa.types.is_binary_view(array.type):
        array = array.cast(pa.large_binary())
    try:
        return int(pc.count_distinct(array, mode="only_valid").as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return None


def estimate_distinct(
    array: pa.Array | None, *, max_values: int = 250_000, total_rows: int | None = None
) -> int | None:
    """Distinct non-null values of a whole leaf: exact up to ``max_values`` values, else estimated.

    Above ``max_values``, every k-th value is taken (a systematic sample keeps strata, like the run sample) and
    the Chao1 estimator (Chao, "Nonparametric estimation of the number of classes in a population",
    Scand. J. Statistics 1984) scales it: ``d + f1^2 / (2 f2)`` (bias-corrected ``d + f1 (f1 - 1) / 2`` when
    ``f2 = 0``), where ``d`` is the distinct count of the sample and ``f_j`` counts values seen ``j`` times,
    capped at the number of non-null values. ``total_rows`` says ``array`` is only part of a column of that
    many rows (read by whole row groups); the part is then treated as the sample.
    """
    if array is None:
        return None
    n_total = len(array)
    if total_rows is not None and total_rows > n_total:
        return _chao1(array, total_rows, max_values)
    if n_total <= max_values:
        return exact_distinct(array)
    return _chao1(array, n_total, max_values)


def _chao1(array: pa.Array, n_total: int, max_values: int) -> int | None:
    n_have = len(array)
    null_share = array.null_count / n_have if n_have else 0.0
    step = max(1, -(-n_have // max_values))
    if pa.types.is_string_view(array.type) or pa.types.is_binary_view(array.type):
        array = array.cast(pa.large_binary())
    picked = array.take(int64_array(np.arange(0, n_have, step))) if step > 1 else array
    try:
        counts = pc.value_counts(picked.drop_null()).field("counts").to_numpy()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return None
    f1, f2 = int((counts == 1).sum()), int((counts == 2).sum())
    estimate = len(counts) + (f1 * f1 / (2 * f2) if f2 else f1 * (f1 - 1) / 2)
    return int(min(n_total * (1 - null_share), round(estimate)))


def is_sorted(array: pa.Array | pa.ChunkedArray, *, varying: bool = False) -> bool:
    """Whether a flat column is sorted ascending with nulls first or last only (used for ``sorting_columns``).

    With ``varying``, also whether it holds more than one distinct value (its first and last non-null values
    differ: the same pass, where a separate ``min_max`` would be another compute kernel).
    """
    if isinstance(array, pa.ChunkedArray):  # (one chunk: itself, not a copy)
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    view = _numeric_view(array)
    if view is not None:
        data, valid = view
        if valid is not None:
            nulls = ~valid
            k = int(nulls.sum())
            if not (nulls[:k].all() or nulls[len(nulls) - k:].all()):
                return False
            data = data[valid]
        if not bool(np.all(data[1:] >= data[:-1])):
            return False
        return not varying or (len(data) >= 2 and bool(data[0] != data[-1]))
    if len(array) <= FEW_STRINGS and _is_string(array.type):
        values = array.to_pylist()
        k = array.null_count
        present = [v for v in values if v is not None] if k else values
        if len(present) < 2:
            return not varying
        if k and not (all(v is None for v in values[:k]) or all(v is None for v in values[len(values) - k:])):
            return False
        return all(map(operator.le, present, present[1:])) and (not varying or present[0] != present[-1])
    k, n = array.null_count, len(array)
    values = array.drop_null() if k else array
    if len(values) < 2:
        return not varying
    if k and not (array.slice(0, k).null_count == k or array.slice(n - k, k).null_count == k):
        return False  # nulls not all at the start nor all at the end
    try:  # (the comparison's false_count, not an ``all`` kernel)
        ordered = pc.less_equal(values.slice(0, len(values) - 1), values.slice(1)).false_count == 0
    except pa.ArrowNotImplementedError:
        return False
    return ordered and (not varying or values[0].as_py() != values[len(values) - 1].as_py())
