"""Linked columns: a parameter that repeats a value another template's line of the same session printed before.

Server logs print one value on several lines of a session: PostgreSQL under pgbench logs ``UPDATE
pgbench_accounts ... WHERE aid = 42`` and then, from the same backend (pid), ``SELECT abalance ... WHERE aid =
42`` and ``INSERT INTO pgbench_history (tid, bid, aid, delta, ...) VALUES (.., .., 42, ..)``; a web server logs a
request id on its start and end lines. Each template's columns are typed on their own, so the repeat was stored
twice (three times, for the account id). Here a column is *linked* to another template's column (the source)
when, for most rows, its value is the value of the ``l``-th last source row before it whose key column (the
session: a pid, a connection id) has the same value as its own key column; or, without keys, the ``l``-th last
source row before it. Rows that do not follow are stored as exceptions, as in :mod:`.derived`. The idea is
the "variable-aware grouping" of LogShrink (Li et al., ICSE'24) and Denum (Yu et al., ASE'24), across
templates and keyed by session.

Descriptor (chunk metadata version 5)::

    {"t": "lnk", "s": source template's index in ``tpl``, "j": source column, "a": own key column (-1: none),
     "b": source key column (-1: none), "l": lag (1..MAX_LAG), "k": exception count,
     "x": ints descriptor (exception rows, ascending), "v": strings descriptor (their values)}

Sources and keys are plain columns (neither ``lnk`` nor ``drv``), so a chunk's linked columns are computed in one
pass after its plain columns (:func:`plans`). "Before" is line order: a template's rows are in line order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs import columns as col

#: Target columns shorter than this are left as they are.
MIN_ROWS = 64
#: A link is tried on this many rows of the target first (evenly spaced), and kept when this share of them fits.
SAMPLE = 1024
MIN_SHARE = 0.5
#: The share of a target's sampled values that must occur in a source for the source to be tried at all.
MIN_OVERLAP = 0.3
#: Lags tried: the value of the 1st, 2nd, ... last source row of the same key.
MAX_LAG = col.LINK_MAX_LAG
#: Key columns: at least 1 and at most this share of distinct values; at most MAX_KEYS per template.
MAX_KEY_SHARE = 0.25
MAX_KEYS = 3
#: Targets whose probed size is below this are not worth a link (the descriptor alone is ~100 bytes).
MIN_TARGET_BYTES = 512
#: A link is kept when its probed size is below this share of the column's own encoding.
KEEP_BELOW = 0.8
#: Types that are never sources or keys (they are computed from other columns) or never worth linking.
_COMPUTED = ("lnk", "drv")
_CONSTANT = ("const", "iconst")


def _size(enc: col.Encoded) -> int:
    return sum(col._probe(st) + 8 for st in enc.streams)


class _Order:
    """The rows of one template sorted by (key code, line): where the l-th last row of a key before a line is."""

    def __init__(self, rows: np.ndarray, codes: np.ndarray, top: int):
        self.top = top
        composite = codes.astype(np.int64) * top + rows.astype(np.int64)
        self.order = np.argsort(composite, kind="stable")
        self.sorted = composite[self.order]
        self.sorted_codes = codes[self.order]

    def lookup(self, rows: np.ndarray, codes: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
        """Per target row (line ``rows``, key ``codes``; -1 = a key the source never has): whether a source row
        ``lag`` back exists, and its position in the source (in the source's own row order)."""
        idx = np.searchsorted(self.sorted, codes.astype(np.int64) * self.top + rows.astype(np.int64), side="left") - lag
        ok = (codes >= 0) & (idx >= 0)
        if not len(self.order):
            return ok & False, np.zeros(len(rows), dtype=np.int64)
        safe = np.where(ok, idx, 0)
        ok &= self.sorted_codes[safe] == codes
        return ok, self.order[safe]


def _codes_in(uniques: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each key's index in the sorted ``uniques``, -1 for a key not among them."""
    at = np.minimum(np.searchsorted(uniques, keys), len(uniques) - 1)
    return np.where(uniques[at] == keys, at, -1).astype(np.int64)


#: At most this many source columns are tried per target: those holding most of its sampled values.
MAX_SOURCES = 8


class _Holders:
    """Which columns hold which values: every plain column's distinct value hashes in one sorted array, so the
    columns holding most of a target's values are found at once (no pass over every column per target)."""

    def __init__(self, ids: list[tuple[int, int]], h) -> None:
        self.ids = ids
        uniques = [np.unique(h(p, q)) for p, q in ids]
        self.uniques = dict(zip(ids, uniques))
        values = np.concatenate(uniques) if uniques else np.zeros(0, dtype=np.uint64)
        owners = np.repeat(np.arange(len(ids)), [len(u) for u in uniques])
        order = np.argsort(values, kind="stable")
        self.values, self.owners = values[order], owners[order]

    def distinct(self, i: int, j: int) -> np.ndarray:
        """The distinct hashes of column ``j`` of template ``i`` (sorted)."""
        return self.uniques[(i, j)]

    def sources(self, target: np.ndarray, own: tuple[int, int]) -> list[tuple[int, int]]:
        """The columns (not ``own``) holding at least MIN_OVERLAP of the distinct values of ``target``, most first."""
        distinct = np.unique(target)
        lo = np.searchsorted(self.values, distinct, side="left")
        hi = np.searchsorted(self.values, distinct, side="right")
        lengths = hi - lo
        total = int(lengths.sum())
        if not total:
            return []
        starts = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
        counts = np.bincount(self.owners[np.arange(total) + starts], minlength=len(self.ids))
        ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] >= MIN_OVERLAP * len(distinct)]
        return [self.ids[c] for c in ranked if self.ids[c] != own][:MAX_SOURCES]


def hashes(columns: Sequence[pl.Series]) -> list[np.ndarray]:
    """What :func:`link` needs of a template's parameter values: a 64-bit hash per value (the values themselves
    are not kept: links are tried on the hashes, and the chosen ones made exact from the columns' encodings)."""
    return [c.hash(seed=7).to_numpy() for c in columns]


def link(rows: Sequence[np.ndarray], columns: Sequence[Sequence[np.ndarray]],
         encoded: Sequence[list[col.Encoded]]) -> list[list[col.Encoded]]:
    """``encoded`` (per template of a chunk, its parameter encodings) with the columns that are smaller as links
    to another template's column replaced by ``lnk`` descriptors.

    ``rows``: per template, its lines' positions among the chunk's matched lines (ascending); ``columns``: per
    template, its parameters' :func:`hashes`.
    """
    out = [list(e) for e in encoded]
    if len(rows) < 1:
        return out
    top = int(max((int(r[-1]) for r in rows if len(r)), default=0)) + 2

    def h(i: int, j: int) -> np.ndarray:
        return columns[i][j]

    def share_in(values: np.ndarray, p: int, q: int) -> float:
        """The share of ``values`` (hashes) that column ``q`` of template ``p`` holds."""
        return float((_codes_in(holders.distinct(p, q), values) >= 0).mean())

    plain = {(i, j) for i, encs in enumerate(encoded) for j, e in enumerate(encs)
             if e.desc["t"] not in _COMPUTED and e.desc["t"] not in _CONSTANT and len(rows[i])}
    key_columns: dict[int, list[int]] = {}

    def keys(i: int) -> list[int]:
        """The columns of template ``i`` that may be keys (sessions): few distinct values for its rows."""
        if i not in key_columns:
            n = len(rows[i])
            key_columns[i] = [j for j in range(len(columns[i])) if (i, j) in plain
                              and 1 <= len(holders.distinct(i, j)) <= max(1, MAX_KEY_SHARE * n)][:MAX_KEYS]
        return key_columns[i]

    holders = _Holders(sorted(plain), h)
    orders: dict[tuple[int, int], tuple[_Order, np.ndarray | None]] = {}

    def order_of(p: int, b: int) -> tuple[_Order, np.ndarray | None]:
        if (p, b) not in orders:
            if b >= 0:
                uniques, codes = np.unique(h(p, b), return_inverse=True)
                orders[(p, b)] = (_Order(rows[p], codes.ravel().astype(np.int64), top), uniques)
            else:
                orders[(p, b)] = (_Order(rows[p], np.zeros(len(rows[p]), dtype=np.int64), top), None)
        return orders[(p, b)]

    def predict(i: int, a: int, p: int, b: int, lag: int, at_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order, uniques = order_of(p, b)
        codes = _codes_in(uniques, h(i, a)[at_rows]) if uniques is not None else np.zeros(len(at_rows), dtype=np.int64)
        return order.lookup(rows[i][at_rows], codes, lag)

    # candidate links per target, best first
    candidates: dict[tuple[int, int], list[tuple[float, tuple]]] = {}
    own_sizes: dict[tuple[int, int], int] = {}
    for i, encs in enumerate(encoded):
        n = len(rows[i])
        if n < MIN_ROWS:
            continue
        sample = np.unique(np.linspace(0, n - 1, min(n, SAMPLE)).astype(np.int64))
        for j, enc in enumerate(encs):
            if (i, j) not in plain:
                continue
            size = _size(enc)
            if size < MIN_TARGET_BYTES:
                continue
            own_sizes[(i, j)] = size
            target = h(i, j)[sample]
            found = []
            for p, q in holders.sources(target, (i, j)):
                for a in [-1, *keys(i)]:
                    for b in ([-1] if a < 0 else keys(p)):
                        if a >= 0 and (a == j or (p, b) == (p, q)):
                            continue
                        if a >= 0 and share_in(h(i, a)[sample], p, b) < 0.9:
                            continue
                        for lag in range(1, MAX_LAG + 1):
                            ok, at = predict(i, a, p, b, lag, sample)
                            share = float((ok & (h(p, q)[at] == target)).mean())
                            if share >= MIN_SHARE:
                                found.append((share, (p, q, a, b, lag)))
            if found:
                found.sort(key=lambda f: -f[0])
                candidates[(i, j)] = found
    if not candidates:
        return out
    # greedy, biggest targets first; a target is never a source or key, a source or key never a target; sources
    # that are no target candidates themselves are preferred (the repeat's first occurrence)
    targets: set[tuple[int, int]] = set()
    pinned: set[tuple[int, int]] = set()
    for i, j in sorted(candidates, key=lambda t: (-own_sizes[t], t)):
        if (i, j) in pinned:
            continue
        best_share = candidates[(i, j)][0][0]
        options = sorted(candidates[(i, j)], key=lambda f: (round(f[0] - best_share, 2) < -0.02, (f[1][0], f[1][1]) in candidates, -f[0]))
        for _share, (p, q, a, b, lag) in options:
            used = {(p, q)} | ({(p, b)} if b >= 0 else set()) | ({(i, a)} if a >= 0 else set())
            if used & targets:
                continue
            made = _encode(encoded, rows, top, i, j, p, q, a, b, lag)
            if _size(made) < KEEP_BELOW * own_sizes[(i, j)]:
                out[i][j] = made
                targets.add((i, j))
                pinned |= used
                break
    return out


def _encode(encoded: Sequence[list[col.Encoded]], rows: Sequence[np.ndarray], top: int, i: int, j: int, p: int,
            q: int, a: int, b: int, lag: int) -> col.Encoded:
    """Column ``j`` of template ``i`` as a link: the rows are found as the decoder finds them (keys compared
    exactly, from the columns' encodings), and every row whose value differs is an exception."""
    def values(t: int, c: int) -> pl.Series:
        return col.decode_strings(encoded[t][c].desc, list(encoded[t][c].streams), len(rows[t]))

    def streams(t: int, c: int) -> list[bytes]:
        return list(encoded[t][c].streams)

    n = len(rows[i])
    if a >= 0:
        src_codes, own_codes = _key_codes(encoded[p][b].desc, streams(p, b), len(rows[p]), encoded[i][a].desc,
                                          streams(i, a), n)
    else:
        src_codes, own_codes = np.zeros(len(rows[p]), dtype=np.int64), np.zeros(n, dtype=np.int64)
    ok, at = _Order(rows[p], src_codes, top).lookup(rows[i], own_codes, lag)
    own = values(i, j)
    made = values(p, q).gather(at)
    wrong = np.flatnonzero(~ok | (made != own).fill_null(True).to_numpy())
    exc_rows = col.encode_ints(wrong) if len(wrong) else col.Encoded({"t": "iconst", "v": 0}, ())
    exc_values = col.encode_strings(own.gather(wrong), mine=False)
    return col.Encoded({"t": "lnk", "s": p, "j": q, "a": a, "b": b, "l": lag, "k": len(wrong),
                        "x": exc_rows.desc, "v": exc_values.desc}, exc_rows.streams + exc_values.streams)


@dataclass(frozen=True)
class Plan:
    """How a linked column is read: per row the source row its value is taken from (-1: an exception), and the
    exceptions' rows (ascending) and values. Each decoder gathers from the source column as it decodes it."""

    source: tuple[int, int]  # template index, column index
    index: np.ndarray
    rows: np.ndarray
    values: list[str]


def plans(templates: Sequence[Sequence[dict]], streams: Sequence[Sequence[list[bytes]]],
          rows: Sequence[np.ndarray]) -> dict[int, dict[int, Plan]]:
    """The linked columns of a chunk: per template index, per column index, its :class:`Plan`.

    ``templates``: per template its parameter descriptors; ``streams``: their streams; ``rows``: per template its
    lines' positions among the matched lines, ascending (what the kind column gives)."""
    out: dict[int, dict[int, Plan]] = {}
    if not any(d["t"] == "lnk" for descs in templates for d in descs):
        return out
    top = int(max((int(r[-1]) for r in rows if len(r)), default=0)) + 2

    def plain(i: int, j: int) -> dict:
        if not (0 <= i < len(templates) and 0 <= j < len(templates[i])) or templates[i][j]["t"] in _COMPUTED:
            raise col.FramingError(f"a linked column names column {j} of template {i}, which is not a plain column")
        return templates[i][j]

    for i, descs in enumerate(templates):
        for j, d in enumerate(descs):
            if d["t"] != "lnk" or not len(rows[i]):
                continue
            n, k, p, q, a, b = len(rows[i]), d["k"], d["s"], d["j"], d["a"], d["b"]
            if k > n:
                raise col.FramingError(f"a linked column of {n} rows cannot have {k} exceptions")
            plain(p, q)
            if a >= 0:
                src_codes, own_codes = _key_codes(plain(p, b), streams[p][b], len(rows[p]), plain(i, a), streams[i][a], n)
            else:
                src_codes, own_codes = np.zeros(len(rows[p]), dtype=np.int64), np.zeros(n, dtype=np.int64)
            ok, at = _Order(rows[p], src_codes, top).lookup(rows[i], own_codes, d["l"])
            col.charge(2 * n, "a linked column")
            index = np.where(ok, at, -1)
            count = col.stream_count(d["x"])
            exc = np.zeros(0, dtype=np.int64)
            values: list[str] = []
            if k:
                exc = col.decode_ints(d["x"], streams[i][j][:count], k)
                if exc.min() < 0 or exc.max() >= n or (len(exc) > 1 and np.any(np.diff(exc) <= 0)):
                    raise col.FramingError("a linked column's exceptions lie outside it or are out of order")
                values = col.decode_list(d["v"], streams[i][j][count:], k)
                index[exc] = -1
                ok[exc] = True
            if not ok.all():
                raise col.FramingError("a linked column has rows with neither a source value nor an exception")
            out.setdefault(i, {})[j] = Plan((p, q), index, exc, values)
    return out


def _key_codes(src: dict, src_streams: list[bytes], n_src: int, own: dict, own_streams: list[bytes],
               n_own: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the source's and the target's key values, equal exactly when the keys' texts are equal (-1 for a
    target key the source never has). Integer columns of the same zero padding compare as integers (their
    texts are equal exactly then); other columns as text."""
    if src["t"] == own["t"] == "int" and src["z"] == own["z"]:
        src_keys = col.decode_ints(src["c"], src_streams, n_src)
        own_keys = col.decode_ints(own["c"], own_streams, n_own)
        uniques, codes = np.unique(src_keys, return_inverse=True)
        return codes.ravel().astype(np.int64), _codes_in(uniques, own_keys)
    src_text = col.decode_list(src, src_streams, n_src)
    own_text = col.decode_list(own, own_streams, n_own)
    table = {key: c for c, key in enumerate(dict.fromkeys(src_text))}
    return (np.fromiter((table[key] for key in src_text), dtype=np.int64, count=n_src),
            np.fromiter((table.get(key, -1) for key in own_text), dtype=np.int64, count=n_own))


def as_list(plan: Plan, source: list[str]) -> list[str]:
    """A linked column's values, given its source column's (the list decoder)."""
    out = np.empty(len(plan.index), dtype=object)
    given = plan.index >= 0
    out[given] = col.take_strings(source, plan.index[given])
    if len(plan.rows):
        out[plan.rows] = plan.values
    col.charge(sum(map(len, out.tolist())) + len(out), "a linked column")
    return out.tolist()
