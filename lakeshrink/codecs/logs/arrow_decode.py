"""A columnar chunk rebuilt with Arrow kernels: whole columns at a time, outside the GIL.

The list decoder (:func:`lakeshrink.codecs.logs.chunk._decode_lists`) makes a Python string per value and
joins them per row; that holds the GIL, so two chunks cannot decode on two threads at once. Here every
column is an Arrow ``binary`` array and the lines are built by Arrow's C++ kernels, which release the GIL:

* integers become text with ``cast`` (and ``utf8_lpad`` for zero-padded widths);
* a ``text`` stream (values joined by ``\\n``) becomes an array over the stream's own bytes (offsets from
  numpy), with the newlines cut by ``binary_slice``; hex is one ``bytes.hex()`` viewed at a fixed width;
* dictionaries and conditional columns are a ``take`` of their values;
* a template's lines are one ``binary_join_element_wise`` of its literals and parameter columns; the pieces
  of each kind are put in line order by one ``take``;
* the chunk is one more ``binary_join_element_wise`` of the header columns and ``\\n``, whose data buffer
  *is* the chunk's text: no string per line and no final join.

Only what the list decoder does with a Python loop per value and has no kernel here (zero-padding of
per-row widths, derived sizes) is decoded as lists and converted. The output is the same bytes as the list
decoder's for every payload the writer makes (``tests/test_logs_arrow.py`` compares the two); budgets
(:func:`lakeshrink.codecs.logs.columns.charge`) are charged with the same units, before the same
allocations. Arrays use 32-bit offsets: :func:`lakeshrink.codecs.logs.chunk.decode_chunk` only sends chunks
under :data:`lakeshrink.codecs.logs.chunk.ARROW_MAX_BYTES` here (a column larger than 2 GiB, which only a
damaged payload can ask for, fails with Arrow's offset overflow error, never silently).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from pyarrow import _compute

from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import derived
from lakeshrink.codecs.logs.linked import Plan
from lakeshrink.codecs.logs.lines import template_literals

BIN = pa.binary()

#: A column as the pieces whose row-wise concatenation it is: a literal (the same bytes on every row), an
#: array of ``n`` values, or ``(values, positions)``: row ``i`` takes ``values[positions[i]]`` (a column of
#: every matched line, on the rows of one template).
Piece = bytes | pa.Array | tuple[pa.Array, np.ndarray]


#: Arrow's kernels here allocate with the C library's malloc, not Arrow's default jemalloc/mimalloc pool: a
#: compression worker checks a chunk with the list decoder and then this one, and memory freed by the first
#: could not be reused by a second allocator (the 1 GB run's workers peaked at 417 MiB each with the default
#: pool); the workers give malloc's pages back after each chunk (:func:`lakeshrink.memory.release_memory`).
_POOL = pa.system_memory_pool()


def _call(name: str, *args: pa.Array, options: object = None) -> pa.Array:
    """Arrow's compute function ``name``. Called through ``pyarrow._compute``, what ``pyarrow.compute`` wraps:
    importing ``pyarrow.compute`` makes a Python wrapper with a docstring for each of its 300 functions, about
    0.17 s of CPU in every process that decodes."""
    return _compute.call_function(name, list(args), options, _POOL)


# Arrays are made from buffers, never with ``pa.array``: that imports pandas when it is installed (to check
# whether its argument is a pandas object), about 0.45 s of CPU on the first call.
def _from_offsets(data: bytes | pa.Buffer, offsets: np.ndarray) -> pa.Array:
    """The binary array whose value ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (no copy of ``data``)."""
    buf = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    return pa.Array.from_buffers(BIN, len(offsets) - 1, [None, pa.py_buffer(offsets.astype(np.int32)), buf])


def binaries(values: Sequence[bytes]) -> pa.Array:
    """A binary array of ``values``."""
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
    return _from_offsets(b"".join(values), offsets)


def ints(values: np.ndarray) -> pa.Array:
    """An int64 array of ``values``."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def suffixes(flags: np.ndarray, suffix: bytes) -> pa.Array:
    """``suffix`` on the rows where ``flags`` is true, ``b""`` elsewhere."""
    offsets = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags.astype(np.int64) * len(suffix), out=offsets[1:])
    return _from_offsets(suffix * int(np.count_nonzero(flags)), offsets)


def _offsets(values: pa.Array) -> np.ndarray:
    return np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]


def split_text(data: bytes, n: int | None = None) -> pa.Array:
    """Inverse of ``b"\\n".join(values)``: the values as an array (``n`` checks their number)."""
    nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    count = len(nl) + 1
    if n is not None and count != n:
        raise col.FramingError(f"a text stream holds {count} values where {n} are expected")
    # each value with its newline (the last one gets one too), then the newlines cut off: offsets must be
    # contiguous, so the array cannot skip the separators itself
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = nl + 1
    offsets[-1] = len(data) + 1
    return _call("binary_slice", _from_offsets(data + b"\n", offsets), options=_compute.SliceOptions(0, -1))


def _lengths(values: pa.Array) -> np.ndarray:
    return np.diff(_offsets(values)).astype(np.int64)


#: Zero-padded integers of up to this many digits that all fit their width, and integers that all have this
#: many digits or fewer and the same number of them, are written by table look-ups (:func:`digit_matrix`).
_FIXED_DIGITS = 18
#: Round 7: integers whose text all has one width are written from a table of 4-digit groups (about 3x faster
#: than Arrow's ``cast``, and the result folds with its neighbours in :func:`assemble`). ``False``: round 5's
#: digit matrix for zero-padded widths of up to 8 digits, ``cast`` for the others (the tests compare the two).
DIGIT_TABLE = True


@functools.cache
def _groups_of_four() -> np.ndarray:
    """``b"0000"`` to ``b"9999"`` as 10,000 little-endian 32-bit words (40 KB)."""
    digits = np.arange(10_000, dtype=np.int64)[:, None] // np.array([1000, 100, 10, 1]) % 10 + 48
    return digits.astype(np.uint8).view(np.uint32).reshape(-1)


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """``"%0<width>d"`` of each value as the rows of a ``len(values)`` x ``width`` byte matrix, for values in
    ``[0, 10**width)`` and ``width <= 18``: one look-up in a table of 4-digit groups per 4 digits, no division
    per digit."""
    groups = -(-width // 4)
    words = np.empty((len(values), groups), dtype=np.uint32)
    rest = values.astype(np.int64)  # a copy: divided in place below
    table = _groups_of_four()
    for j in range(groups - 1, -1, -1):
        np.take(table, rest % 10_000, out=words[:, j])
        rest //= 10_000
    matrix = words.view(np.uint8)
    return matrix[:, groups * 4 - width :] if groups * 4 != width else matrix


def _same_width(values: np.ndarray, width: int) -> int:
    """The width every value's ``"%0<width>d"`` text has when one table look-up can write them all (values
    not negative, at most :data:`_FIXED_DIGITS` digits, all with the same number of digits or zero-padded to
    ``width``), else 0."""
    if not len(values):
        return 0
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= 10**_FIXED_DIGITS:
        return 0
    if width:
        return width if width <= _FIXED_DIGITS and high < 10**width else 0
    digits = len(str(high))
    return digits if low >= (10 ** (digits - 1) if digits > 1 else 0) else 0


def int_text(values: np.ndarray, width: int = 0) -> pa.Array:
    """The decimal text of integers, zero-padded to ``width`` digits (``"%0<width>d"``)."""
    fixed = _same_width(values, width) if DIGIT_TABLE else 0
    if fixed:
        matrix = np.ascontiguousarray(digit_matrix(values, fixed))
        return _from_offsets(pa.py_buffer(matrix), np.arange(len(values) + 1, dtype=np.int64) * fixed)
    if not DIGIT_TABLE and 0 < width <= 8 and len(values) and int(values.min()) >= 0 and int(values.max()) < 10**width:
        # every value has exactly ``width`` digits (clock fields, packed timestamps): a digit matrix, no kernel
        digits = values.astype(np.int64)[:, None] // _POWERS[width - 1 :: -1] % 10 + 48
        return _from_offsets(digits.astype(np.uint8).tobytes(), np.arange(len(values) + 1, dtype=np.int64) * width)
    text = _call("cast", ints(values), options=_compute.CastOptions.safe(pa.string()))
    if width:
        if len(values) and int(values.min()) < 0:  # "%05d" % -3 is "-0003", not a left pad: as the lists do
            return _listed(col.int_strings(values, width))
        text = _call("utf8_lpad", text, options=_compute.PadOptions(width, "0"))
    return pa.Array.from_buffers(BIN, len(text), text.buffers(), offset=text.offset)  # the same bytes


_POWERS = 10 ** np.arange(8, dtype=np.int64)


def assemble(n: int, groups: Sequence[tuple[np.ndarray, Sequence[Piece]]], tail: Sequence[Piece] = ()) -> pa.Array:
    """An array of ``n`` rows: row ``rows[i]`` of each ``(rows, pieces)`` group is the concatenation of its
    pieces' ``i``-th values, then the ``tail`` pieces (arrays of ``n`` values, or literals); rows of no group
    hold only the tail.

    One ``take`` does it: every value is laid out in row order in one array (the pieces' arrays concatenated,
    each literal once), whose data buffer is then every row's bytes back to back; the rows are cut from it by
    the offsets of their first and last pieces, without another copy. That is several times faster than a
    ``binary_join_element_wise`` of many columns."""
    arrays: list[pa.Array] = []
    size = 0
    literals: dict[bytes, int] = {}
    bases: dict[int, int] = {}  # id of an array given as (values, positions) -> where its values start

    def index_of(piece: Piece, count: int, local: np.ndarray) -> int | np.ndarray:
        nonlocal size
        if isinstance(piece, bytes):
            if piece not in literals:
                arrays.append(binaries([piece]))
                literals[piece] = size
                size += 1
            return literals[piece]
        if isinstance(piece, tuple):
            values, positions = piece
            if len(positions) != count or (count and (positions.min() < 0 or positions.max() >= len(values))):
                raise col.FramingError(f"positions of {count} rows outside a column of {len(values)}")
            if id(values) not in bases:
                arrays.append(values)
                bases[id(values)] = size
                size += len(values)
            return positions + bases[id(values)]
        if len(piece) != count:
            raise col.FramingError(f"{len(piece)} values for {count} rows")
        arrays.append(piece)
        size += count
        return local + (size - count)

    groups = [(rows, pieces) for rows, pieces in groups if len(rows)]
    if FOLD_FIXED and tail and all(isinstance(p, bytes) for p in tail):
        # a literal tail (``\n``) goes into each group, where it can fold with the pieces before it; rows of
        # no group keep it alone (the groups' rows are disjoint: each row is in one group or none)
        named = np.zeros(n, dtype=bool)
        for rows, _ in groups:
            named[rows] = True
        groups = [(rows, [*pieces, *tail]) for rows, pieces in groups]
        if not named.all():
            groups.append((np.flatnonzero(~named), list(tail)))
        tail = []
    widths: dict[int, int | None] = {}  # id of an array -> the width of all its values (None: not one width)
    groups = [(rows, _merged(pieces, len(rows), widths)) for rows, pieces in groups]
    tail = _merged(tail, n, widths)
    empty = index_of(b"", 0, np.arange(0))
    if len(groups) == 1 and len(groups[0][0]) == n:  # every row in one group, in order (rows are sorted)
        k = len(groups[0][1]) + len(tail)
        local = np.arange(n, dtype=np.int64)
        matrix = np.empty((n, k), dtype=np.int64)
        for j, piece in enumerate([*groups[0][1], *tail]):
            matrix[:, j] = index_of(piece, n, local)
        flat = matrix.reshape(-1)
        starts = np.arange(0, n * k + 1, k, dtype=np.int64) if k else np.zeros(n + 1, dtype=np.int64)
    else:
        counts = np.full(n, len(tail), dtype=np.int64)
        for rows, pieces in groups:
            counts[rows] += len(pieces)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        flat = np.full(int(starts[-1]), empty, dtype=np.int64)  # (a row named twice, only by a damaged payload)
        for rows, pieces in groups:
            if not pieces:
                continue
            local = np.arange(len(rows), dtype=np.int64)
            matrix = np.empty((len(rows), len(pieces)), dtype=np.int64)
            for j, piece in enumerate(pieces):
                matrix[:, j] = index_of(piece, len(rows), local)
            flat[(starts[:-1][rows][:, None] + np.arange(len(pieces))).reshape(-1)] = matrix.reshape(-1)
        local = np.arange(n, dtype=np.int64)
        for j, piece in enumerate(tail):
            flat[starts[1:] - len(tail) + j] = index_of(piece, n, local)
    # int32 indices when they fit: half the bytes for ``take`` to read
    index = pa.Array.from_buffers(pa.int32(), len(flat), [None, pa.py_buffer(flat.astype(np.int32))]) if size < 2**31 else ints(flat)
    taken = _call("take", pa.concat_arrays(arrays, memory_pool=_POOL), index)
    offsets = _offsets(taken)
    return pa.Array.from_buffers(BIN, n, [None, pa.py_buffer(offsets[starts]), taken.buffers()[2]])


#: Adjacent pieces whose values all have one width (literals, clock fields, zero-padded or same-length
#: integers, hex, dictionary words of one length) are laid out as one piece by :func:`_fold` (round 7): one
#: ``take`` index per run instead of one per piece. ``False``: every piece is laid out by the ``take``
#: (round 5's layout; the tests compare the two).
FOLD_FIXED = True
#: Groups of fewer rows are not folded (the matrices would cost more than the indices they save).
FOLD_MIN_ROWS = 64


def _merged(pieces: Sequence[Piece], count: int = 0, widths: dict[int, int | None] | None = None) -> list[Piece]:
    """``pieces`` with adjacent literals made one and empty literals left out (fewer values to lay out); with
    :data:`FOLD_FIXED` and ``count`` rows or more, each run of two or more adjacent pieces of one width per
    value made one array of ``count`` rows by :func:`_fold` (``widths`` caches the width of each array)."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            if not piece:
                continue
            if out and isinstance(out[-1], bytes):
                out[-1] += piece
                continue
        out.append(piece)
    if not FOLD_FIXED or count < FOLD_MIN_ROWS or len(out) < 2:
        return out
    widths = {} if widths is None else widths
    folded: list[Piece] = []
    run: list[tuple[Piece, int]] = []

    def close() -> None:
        if len(run) >= 2:
            folded.append(_fold(run, count))
        else:
            folded.extend(piece for piece, _ in run)
        run.clear()

    for piece in out:
        width = _piece_width(piece, widths)
        if width is None:
            close()
            folded.append(piece)
        else:
            run.append((piece, width))
    close()
    return folded


def _piece_width(piece: Piece, widths: dict[int, int | None]) -> int | None:
    """The width of every value of ``piece`` (bytes), or None when its values differ in length."""
    if isinstance(piece, bytes):
        return len(piece)
    values = piece[0] if isinstance(piece, tuple) else piece
    if id(values) not in widths:
        widths[id(values)] = _fixed_width(values)
    return widths[id(values)]


def _fixed_width(values: pa.Array) -> int | None:
    """The length of every value of ``values`` when they all have one, else None."""
    if not len(values) or values.null_count:
        return None
    offsets = _offsets(values)
    width, rest = divmod(int(offsets[-1]) - int(offsets[0]), len(values))
    if rest or not (offsets[1:] - offsets[:-1] == width).all():
        return None
    return width


def _fold(run: Sequence[tuple[Piece, int]], count: int) -> pa.Array:
    """The pieces of ``run`` (each given with the width of all its values) as one array of ``count`` rows:
    a byte matrix whose columns are the literals and the pieces' values, side by side. Lengths and positions
    are checked as :func:`assemble` checks them."""
    total = sum(width for _, width in run)
    matrix = np.empty((count, total), dtype=np.uint8)
    at = 0
    for piece, width in run:
        if isinstance(piece, bytes):
            matrix[:, at : at + width] = np.frombuffer(piece, dtype=np.uint8)
        elif isinstance(piece, tuple):
            values, positions = piece
            if len(positions) != count or (count and (positions.min() < 0 or positions.max() >= len(values))):
                raise col.FramingError(f"positions of {count} rows outside a column of {len(values)}")
            if width:  # straight into its columns, no temporary (the positions were checked just above)
                np.take(_matrix(values, width), positions, axis=0, out=matrix[:, at : at + width], mode="clip")
        else:
            if len(piece) != count:
                raise col.FramingError(f"{len(piece)} values for {count} rows")
            if width:
                matrix[:, at : at + width] = _matrix(piece, width)
        at += width
    return _from_offsets(pa.py_buffer(matrix), np.arange(count + 1, dtype=np.int64) * total)


def _matrix(values: pa.Array, width: int) -> np.ndarray:
    """The bytes of ``values``, all ``width`` long, as a ``len(values)`` x ``width`` matrix (a view)."""
    start = int(_offsets(values)[0])
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    return data[start : start + len(values) * width].reshape(len(values), width)


def join(pieces: Sequence[Piece], n: int) -> pa.Array:
    """Per row the concatenation of ``pieces`` (``n`` rows)."""
    arrays = [p for p in pieces if not isinstance(p, bytes)]
    if len(arrays) == 1 and len(pieces) == 1:
        return arrays[0]
    return assemble(n, [(np.arange(n), pieces)])


def scatter(parts: Sequence[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """An array of ``n`` rows with ``values[i]`` at ``rows[i]`` for each ``(rows, values)`` of ``parts``;
    rows no part names are empty (as the list decoder's ``""``)."""
    return assemble(n, [(rows, [values]) for rows, values in parts])


def _listed(values: list[str]) -> pa.Array:
    return binaries([v.encode("utf-8") for v in values])


def pieces_of(desc: dict, streams: list[bytes], n: int) -> list[Piece]:
    """:func:`lakeshrink.codecs.logs.columns.decode_columns` as Arrow pieces (``n >= 1`` rows)."""
    kind = desc["t"]
    if kind == "const":
        col.charge(n * len(desc["v"]), "a constant column")
        return [desc["v"].encode("utf-8")] if desc["v"] else []
    if kind == "int":
        col.charge(n * (max(desc["z"], 1) + 1), "an integer column")
        return [int_text(col.decode_ints(desc["c"], streams, n), desc["z"])]
    if kind == "pack":
        col.charge(n * (sum(desc["w"]) + sum(map(len, desc["s"])) + 1), "a packed column")
        return [_packed(desc, col.decode_ints(desc["c"], streams, n))]
    if kind == "skel":
        col.charge(n * (sum(map(len, desc["s"])) + 1), "a skeleton column")
        pieces = [desc["s"][0].encode("utf-8")] if desc["s"][0] else []
        pos = 0
        for sub, literal in zip(desc["c"], desc["s"][1:]):
            k = col.stream_count(sub)
            pieces += pieces_of(sub, streams[pos : pos + k], n)
            pos += k
            if literal:
                pieces.append(literal.encode("utf-8"))
        return pieces
    return [array_of(desc, streams, n)]


def _packed(desc: dict, values: np.ndarray) -> pa.Array:
    """A ``pack`` column (``18:01:47,978`` from ``180147978``) as one array: every value has the same width, so
    its bytes are a matrix, the literals written down their columns and each digit column computed at once
    (a value with fewer digits than the fields' widths gets leading zeros, as ``"%0<w>d"`` of each field gives)."""
    literals = [lit.encode("utf-8") for lit in desc["s"]]
    width = sum(desc["w"]) + sum(map(len, literals))
    matrix = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    end = width
    # from the last digit leftwards: digit p of the packed integer is (value // 10**p) % 10, floor division
    # as the list decoder's (value // 10**rest) % 10**w per field
    for literal, digits in zip(reversed(literals), [*reversed(desc["w"]), 0]):
        if literal:
            matrix[:, end - len(literal) : end] = np.frombuffer(literal, dtype=np.uint8)
            end -= len(literal)
        for _ in range(digits):
            end -= 1
            matrix[:, end] = rest % 10 + 48
            rest //= 10
    return _from_offsets(matrix.tobytes(), np.arange(len(values) + 1, dtype=np.int64) * width)


def array_of(desc: dict, streams: list[bytes], n: int) -> pa.Array:
    """:func:`lakeshrink.codecs.logs.columns.decode_list` as one binary array of ``n`` values."""
    kind = desc["t"]
    if n == 0:
        return binaries([])
    if kind == "text":
        col.charge(len(streams[0]) + n, "a text column")
        return split_text(streams[0], n)
    if kind in ("int", "pack", "skel", "const"):
        return join(pieces_of(desc, streams, n), n)
    if kind == "hex":
        col.charge(n * (desc["w"] + 1), "a hex column")
        w = desc["w"]
        if len(streams[0]) * 2 != n * w:
            raise col.FramingError(f"a hex stream of {len(streams[0])} bytes cannot hold {n} values of {w} digits")
        text = streams[0].hex()
        return _from_offsets((text.upper() if desc["u"] else text).encode("ascii"), np.arange(n + 1, dtype=np.int64) * w)
    if kind == "dict":
        words = split_text(streams[0])
        codes = col.decode_ints(desc["c"], streams[1:], n)
        col._charge_gather(_lengths(words), codes, "a dictionary column")
        return _call("take", words, ints(codes))
    if kind == "eint":
        k = col.stream_count(desc["c"])
        col.charge(n + col.MAX_DIGITS * desc["k"], "an optional integer column")
        present = np.flatnonzero(col.decode_ints(desc["m"], streams[k:], n))
        values = int_text(col.decode_ints(desc["c"], streams[:k], desc["k"])) if len(present) else binaries([])
        return scatter([(present, values)], n)
    if kind == "tmpl":
        return _mined(desc, streams, n)
    return _listed(col.decode_list(desc, streams, n))


def _mined(desc: dict, streams: list[bytes], n: int) -> pa.Array:
    """Free text kept as templates of its own (:func:`lakeshrink.codecs.logs.columns._decode_mined`)."""
    k = col.stream_count(desc["k"])
    codes = col.decode_ints(desc["k"], streams[:k], n)
    pos = k
    by_code = col.stable_argsort(codes)
    bounds = np.searchsorted(codes[by_code], np.arange(len(desc["p"]) + 2))
    groups = []
    for i, (text, descs) in enumerate(desc["p"], start=1):
        rows = by_code[bounds[i] : bounds[i + 1]]
        columns = []
        for d in descs:
            c = col.stream_count(d)
            columns.append([array_of(d, streams[pos : pos + c], len(rows))])
            pos += c
        if len(rows):
            literals = template_literals(text)
            col.charge(len(rows) * (sum(map(len, literals)) + 1), "a template column")
            groups.append((rows, _fill(literals, columns)))
    rows = by_code[bounds[0] : bounds[1]]
    if len(rows):
        groups.append((rows, [array_of(desc["r"], streams[pos:], len(rows))]))
    return assemble(n, groups)


def _fill(literals: Sequence[str], columns: Sequence[Sequence[Piece]]) -> list[Piece]:
    """The pieces of ``literals[0] + c0 + literals[1] + c1 + ...`` (each column given as its pieces)."""
    pieces: list[Piece] = []
    for literal, column in zip(literals, columns):
        if literal:
            pieces.append(literal.encode("utf-8"))
        pieces += column
    if literals[-1]:
        pieces.append(literals[-1].encode("utf-8"))
    return pieces


def template_pieces(text: str, descs: list[dict], streams: list[list[bytes]], n: int,
                    linked: dict[int, pa.Array] | None = None) -> list[Piece]:
    """The pieces of the contents of a template's ``n`` lines: its literals and parameter columns (``linked``:
    its linked columns' arrays, by index, :func:`gathered`)."""
    computed = {i: [_listed(v)] for i, v in derived.decode_lists(descs, streams, n).items()}
    computed.update({i: [v] for i, v in (linked or {}).items()})
    columns = [computed[i] if i in computed else pieces_of(d, s, n) for i, (d, s) in enumerate(zip(descs, streams))]
    return _fill(template_literals(text), columns)


def gathered(plan: Plan, source: pa.Array) -> pa.Array:
    """A linked column (:mod:`.linked`) as an array: its source's values taken at the plan's rows, and its
    exceptions."""
    given = np.flatnonzero(plan.index >= 0)
    index = plan.index[given]
    col._charge_gather(_lengths(source), index, "a linked column")
    taken = _call("take", source, ints(index))
    if not len(plan.rows):
        return taken
    return scatter([(given, taken), (plan.rows, binaries([v.encode("utf-8") for v in plan.values]))], len(plan.index))


def conditional(desc: dict, streams: list[bytes], keys: np.ndarray) -> pa.Array:
    """:func:`lakeshrink.codecs.logs.columns.decode_conditional_list` as an array."""
    if desc["t"] != "cond":
        return array_of(desc, streams, len(keys))
    index, value_streams = col._conditional_index(desc, streams, keys)
    values = array_of(desc["v"], value_streams, desc["n"])
    col._charge_gather(_lengths(values), index, "a conditional column")
    return _call("take", values, ints(index))


def lines_bytes(lines: pa.Array, final_newline: bool, copy: bool = True) -> bytes | memoryview:
    """The bytes of an array of lines each ending in ``\\n`` (its data buffer, without the last ``\\n`` when
    the chunk has none); ``copy=False``: a view of that buffer (unsigned bytes), no copy."""
    offsets = _offsets(lines)
    start, end = int(offsets[0]), int(offsets[-1])
    data = lines.buffers()[2][start : end - (0 if final_newline else 1)]
    return data.to_pybytes() if copy else memoryview(data).cast("B")
