"""Integer columns coded per key: a value is stored as its difference from the previous value of the same key.

A JSON or CSV log of interleaved sessions numbers each session's lines (PostgreSQL's ``line_num``): in line
order the numbers jump between sessions, but given the session (``pid`` or ``session_id``, another column
of the same template) each one is the previous plus one. The column becomes an ``int`` whose inner integers
are ``kints``: the key per row as small codes and the residuals (metadata version 3). Which key, if any, is
chosen by the same zstd probe as every other typing choice; the decoder needs only the column's own streams.
"""

from __future__ import annotations

import lzma

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs import columns as col

#: Columns shorter than this are left as they are (the key stream would cost more than it can save).
MIN_ROWS = 256
#: A key column has at least 2 and at most this share of distinct values (sessions, not line numbers).
MAX_KEY_SHARE = 0.25
#: At most this many key columns are tried per template.
MAX_KEYS = 4


def _size(enc: col.Encoded) -> int:
    return sum(col._probe(st) + 8 for st in enc.streams)


#: False: key codes by ``rank("dense")``, as before round 8 (the tests compare the two).
CODES_BY_JOIN = True


def _key_codes(values: pl.Series) -> np.ndarray | None:
    """Each value's dense rank from 0 (its place among the distinct values in sorted order), or None for a
    column that is no key. A key has few distinct values, so they are sorted alone and each value looked up
    in them (a hash join): the same codes as ``rank("dense")``, which sorts the whole column (round 8:
    about half the CPU on 40,000 rows of 40 to 10,000 keys)."""
    n = len(values)
    distinct = values.n_unique()
    if not 2 <= distinct <= MAX_KEY_SHARE * n:
        return None
    if not CODES_BY_JOIN or values.null_count():
        return values.rank("dense").cast(pl.Int64).to_numpy() - 1
    ranks = values.unique().sort().to_frame("v").with_row_index("i")
    return values.to_frame("v").join(ranks, on="v", how="left", maintain_order="left")["i"].cast(pl.Int64).to_numpy()


def rekey(columns: list[pl.Series], encoded: list[col.Encoded]) -> list[col.Encoded]:
    """``encoded`` (the encodings of ``columns``, one template's parameters) with every integer column that
    is smaller coded per key of another column replaced by that coding."""
    n = len(columns[0]) if columns else 0
    if n < MIN_ROWS:
        return encoded
    keys: list[tuple[int, np.ndarray]] = []
    for j, (column, enc) in enumerate(zip(columns, encoded)):
        if enc.desc["t"] in ("int", "dict", "skel", "pack", "text") and len(keys) < MAX_KEYS:
            codes = _key_codes(column)
            if codes is not None:
                keys.append((j, codes))
    if not keys:
        return encoded
    out = list(encoded)
    # a key's own coding, its probed size and its rows in key order are the same for every column tried
    # with it: made once per key
    key_encs: dict[int, tuple[col.Encoded, int, np.ndarray]] = {}
    # the zstd probe picks the best key per column; LZMA2 then decides, since it finds some of the same
    # regularity by itself (on a PostgreSQL text log keyed forms the probe found 5% smaller came out larger
    # after LZMA2; on its jsonlog the session line numbers shrink to a fifth)
    for i, (column, enc) in enumerate(zip(columns, encoded)):
        if enc.desc["t"] != "int" or enc.desc["c"]["t"] != "ints":
            continue
        values = col.decode_ints(enc.desc["c"], list(enc.streams), n)
        best, best_size = enc, _size(enc)
        plain = best
        for j, codes in keys:
            if j == i:
                continue
            if j not in key_encs:
                key_enc = col.encode_ints(codes)
                key_encs[j] = (key_enc, _size(key_enc), col.stable_argsort(codes))
            key_enc, key_size, order = key_encs[j]
            residual = col.encode_ints(col.keyed_residuals(values, codes, order))
            inner = {"t": "kints", "k": key_enc.desc, "c": residual.desc}
            candidate = col.Encoded({"t": "int", "z": enc.desc["z"], "c": inner}, key_enc.streams + residual.streams)
            size = key_size + _size(residual)
            if size < best_size:
                best, best_size = candidate, size
        # the probe picks the key; LZMA2 (what the sections use) decides whether it is kept
        if best is not plain and _lzma_size(best) < _lzma_size(plain):
            out[i] = best
    return out


def _lzma_size(enc: col.Encoded) -> int:
    return sum(len(lzma.compress(st, format=lzma.FORMAT_RAW, filters=[
        {"id": lzma.FILTER_LZMA2, "preset": 1, "pb": 0}])) for st in enc.streams)
