"""Derived columns: a parameter computed from another parameter of the same line, stored as the rule only.

Logs often print one number twice: ``1228 bytes (1.19 KB) sent`` (Proxifier, through Windows'
``StrFormatByteSize``: three significant digits, truncated, base 1024), ``34151 bytes (33.4 KiB)``, ``1.2 MB``
beside a byte count. Once the byte count is stored, the human-readable size costs nothing: it is decoded by
computing it. Here a template's string column *derives* from one of its integer columns when, for most rows,
``value == prefix + f(source) + suffix`` for one function ``f`` of a small family of byte-size formats
(value, unit, or both; base 1024 or 1000; three significant digits truncated or rounded, one or two decimals),
with the prefix and suffix constant (``(1.19`` and ``KB)`` when the miner cut the parentheses with the value).
Rows that do not follow the rule are stored as exceptions: their row numbers and their values.

Descriptor (chunk metadata version 4)::

    {"t": "drv", "s": source column index in the template, "f": function name, "p": prefix, "q": suffix,
     "k": exception count, "x": ints descriptor (exception rows, ascending), "v": strings descriptor}

Only integer columns (``"t": "int"``, which decode on their own) are sources, and a source is never derived
itself, so a template's columns decode in two passes: the others, then the derived ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs import columns as col

#: Columns shorter than this are left as they are.
MIN_ROWS = 32
#: Rows of the sample a rule is first tried on, and the share of them (and then of all rows) it must fit.
SAMPLE = 64
MIN_SHARE = 0.8
UNITS = {
    "KB": ("bytes", "KB", "MB", "GB", "TB", "PB"),
    "KiB": ("B", "KiB", "MiB", "GiB", "TiB", "PiB"),
    "kB": ("B", "kB", "MB", "GB", "TB", "PB"),
}
_MAX_SOURCE = 1 << 62


def _scale(a: int, base: int) -> tuple[int, int]:
    """The unit index and its divisor: the largest power of ``base`` not above ``a`` (at most 5)."""
    i, div = 0, 1
    while a >= div * base and i < 5:
        div *= base
        i += 1
    return i, div


def _number(a: int, base: int, rule: str) -> str:
    """``a`` in its unit as text: ``t3``/``r3`` three significant digits truncated/rounded half-even,
    ``f1``/``f2`` one/two decimals rounded half-even (exact integer arithmetic, no floats)."""
    _, div = _scale(a, base)
    if rule in ("t3", "r3"):
        decimals = max(0, 3 - len(str(a // div)))
    else:
        decimals = 1 if rule == "f1" else 2
    q, r = divmod(a * 10**decimals, div)
    if rule != "t3" and (2 * r > div or (2 * r == div and q % 2)):
        q += 1
    if not decimals:
        return str(q)
    digits = str(q).rjust(decimals + 1, "0")
    return f"{digits[:-decimals]}.{digits[-decimals:]}"


def _rule(name: str) -> Callable[[int], str]:
    """The function called ``name``: ``<part>:<base>:<units>:<digits>``, part ``n`` (number), ``u`` (unit) or
    ``nu`` (number, space, unit)."""
    part, base_text, units_name, digits = name.split(":")
    base, units = int(base_text), UNITS[units_name]
    if part == "n":
        return lambda a: _number(a, base, digits)
    if part == "u":
        return lambda a: units[_scale(a, base)[0]]
    return lambda a: f"{_number(a, base, digits)} {units[_scale(a, base)[0]]}"


RULES: tuple[str, ...] = tuple(
    f"{part}:{base}:{units}:{digits}"
    for part in ("n", "nu", "u")
    for base in (1024, 1000)
    for units in (UNITS if part != "n" else ("KB",))
    for digits in (("t3", "r3", "f1", "f2") if part != "u" else ("t3",))
)


def compute(name: str, sources: Sequence[int], prefix: str, suffix: str) -> list[str]:
    f = _rule(name)
    return [f"{prefix}{f(a)}{suffix}" for a in sources]


def _source_ints(column: pl.Series) -> list[int] | None:
    values = column.cast(pl.Int64, strict=False)
    if values.null_count() or len(values) == 0 or int(values.min()) < 0 or int(values.max()) >= _MAX_SOURCE:
        return None
    return values.to_list()


def _fit(name: str, sources: list[int], target: list[str]) -> tuple[str, str] | None:
    """The prefix and suffix with which ``name`` fits one of the first rows, if it fits most of the sample."""
    f = _rule(name)
    k = min(SAMPLE, len(target))
    for row in range(min(3, k)):  # the first row may be an exception
        core = f(sources[row])
        at = target[row].find(core)
        if at < 0:
            continue
        prefix, suffix = target[row][:at], target[row][at + len(core):]
        hits = sum(f"{prefix}{f(a)}{suffix}" == t for a, t in zip(sources[:k], target[:k]))
        if hits >= MIN_SHARE * k:
            return prefix, suffix
    return None


def _size(enc: col.Encoded) -> int:
    return sum(col._probe(st) + 8 for st in enc.streams)


def derive(columns: list[pl.Series], encoded: list[col.Encoded]) -> list[col.Encoded]:
    """``encoded`` (one template's parameter columns) with each column that follows a rule from an integer
    column of the same template, and comes out smaller that way, replaced by a ``drv`` descriptor."""
    n = len(columns[0]) if columns else 0
    if n < MIN_ROWS or len(columns) < 2:
        return encoded
    sources = {j: _source_ints(c) for j, (c, e) in enumerate(zip(columns, encoded)) if e.desc["t"] == "int"}
    sources = {j: s for j, s in sources.items() if s is not None}
    if not sources:
        return encoded
    out = list(encoded)
    for i, (column, enc) in enumerate(zip(columns, encoded)):
        if enc.desc["t"] in ("int", "const"):
            continue  # integers are the sources; a source is never derived
        target = column.to_list()
        best: col.Encoded | None = None
        for j, src in sources.items():
            if j == i:
                continue
            for name in RULES:
                fit = _fit(name, src, target)
                if fit is None:
                    continue
                made = np.array(compute(name, src, *fit), dtype=object)
                wrong = np.flatnonzero(made != np.array(target, dtype=object))
                if len(wrong) > (1 - MIN_SHARE) * n:
                    continue
                rows = col.encode_ints(wrong) if len(wrong) else col.Encoded({"t": "iconst", "v": 0}, ())
                values = col.encode_strings(column.gather(wrong), mine=False)
                candidate = col.Encoded({"t": "drv", "s": j, "f": name, "p": fit[0], "q": fit[1], "k": len(wrong),
                                         "x": rows.desc, "v": values.desc}, rows.streams + values.streams)
                if best is None or _size(candidate) < _size(best):
                    best = candidate
        if best is not None and _size(best) < _size(enc):
            out[i] = best
    return out


def decode_template(descs: list[dict], streams: list[list[bytes]], n: int) -> list[pl.Series]:
    """The decoded parameter columns of one template (derived ones computed from their sources)."""
    out = [col.decode_strings(d, st, n) if d["t"] != "drv" else None for d, st in zip(descs, streams)]
    for i, (d, st) in enumerate(zip(descs, streams)):
        if d["t"] == "drv":
            source = out[_source(d, descs)]
            assert source is not None
            out[i] = pl.Series("c", decode_list(d, st, source.to_list(), n), dtype=pl.String)
    return out  # type: ignore[return-value]


def decode_lists(descs: list[dict], streams: list[list[bytes]], n: int) -> dict[int, list[str]]:
    """The derived columns of one template as lists, by column index (for the list decoder)."""
    out: dict[int, list[str]] = {}
    for i, (d, st) in enumerate(zip(descs, streams)):
        if d["t"] == "drv":
            s = _source(d, descs)
            out[i] = decode_list(d, st, col.decode_list(descs[s], streams[s], n), n)
    return out


def _source(desc: dict, descs: list[dict]) -> int:
    s = desc["s"]
    if not (isinstance(s, int) and 0 <= s < len(descs) and descs[s]["t"] == "int"):
        raise col.FramingError(f"a derived column names source {str(s)[:20]}, which is not an integer column")
    return s


def decode_list(desc: dict, streams: list[bytes], source: Sequence[str], n: int) -> list[str]:
    """A derived column's values, given its source column's decoded values."""
    k = desc["k"]
    if desc["f"] not in RULES:
        raise col.FramingError(f"unknown derived column rule {str(desc['f'])[:40]!r}")
    if k > n:
        raise col.FramingError(f"a derived column of {n} rows cannot have {k} exceptions")
    count = col.stream_count(desc["x"])
    values = compute(desc["f"], [int(s) for s in source], desc["p"], desc["q"])
    col.charge(sum(map(len, values)) + n, "a derived column")
    if k:
        rows = col.decode_ints(desc["x"], streams[:count], k)
        if rows.min() < 0 or rows.max() >= n:
            raise col.FramingError("a derived column's exception lies outside it")
        for r, v in zip(rows.tolist(), col.decode_list(desc["v"], streams[count:], k)):
            values[r] = v
    return values
