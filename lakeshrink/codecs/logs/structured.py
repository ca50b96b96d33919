"""Structured log lines (NDJSON, CSV, TSV): each line's *shape* is its template, its values the parameters.

Drain splits contents on whitespace, which does not see the structure of ``{"ts":"...","pid":7553,...}`` or
``2026-11-30 12:43:17.446 UTC,"bench",7553,...`` (one token per line: every line a cluster of its own, and a
search over all of them per line). For such lines the template is computed directly, as clp-s does for JSON
(Wang et al., OSDI'24): the line with every value cut out and the keys, quotes, separators and spacing kept, so

* NDJSON ``{"a": 1, "b":"x"}`` has the shape ``{"a": <*>, "b":"<*>"}`` (values after ``:``; strings without
  their quotes, so the value columns get typed as integers, timestamps, dictionaries...);
* CSV ``12:00,"bench",,7553`` has the shape ``<*>,"<*>",,<*>`` (quoted fields keep their quotes);
* TSV ``1.2\\tdns\\t-`` has the shape ``<*>\\t<*>\\t<*>``.

Every value of a shape is one column per (shape, position), that is per key path for JSON and per field for
CSV/TSV, typed by :mod:`.columns`. Nothing here needs exactness: the chunk encoder extracts each line's values
with the template's anchored regex (the literals must match exactly) and decodes the whole chunk before it
keeps it. Shapes are found with a few vectorised regex replacements (polars), in time linear in the input.
"""

from __future__ import annotations

from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.miner import WILDCARD

#: a JSON string without its quotes, with escapes
_JSON_STRING = r'(?:[^"\\]|\\.)*'
_JSON_SCALAR = r"-?[0-9][0-9.eE+-]*|true|false|null"
_CSV_QUOTED = r'"(?:[^"]|"")*"'
_HOLE = "\x00"
_SAMPLE = 2000
#: share of the sampled lines that must look structured before a chunk is shaped instead of mined
MIN_SHARE = 0.6


def detect(contents: pl.Series) -> str | None:
    """``"json"``, ``"tsv"``, ``"csv"`` or None, from the first lines of ``contents``."""
    sample = contents.head(_SAMPLE)
    if len(sample) == 0:
        return None
    stripped = sample.str.strip_chars()
    if float((stripped.str.starts_with("{") & stripped.str.ends_with("}")).mean() or 0) >= MIN_SHARE:
        return "json"
    tabs = sample.str.count_matches("\t")
    if float((tabs >= 2).mean() or 0) >= MIN_SHARE and _modal_share(tabs) >= MIN_SHARE:
        return "tsv"
    # CSV: commas outside quoted fields, the same number (at least 4) on most lines
    commas = sample.str.replace_all(_CSV_QUOTED, "").str.count_matches(",")
    if float((commas >= 4).mean() or 0) >= MIN_SHARE and _modal_share(commas) >= MIN_SHARE:
        return "csv"
    return None


def _modal_share(counts: pl.Series) -> float:
    top = counts.value_counts(sort=True).row(0)[1]
    return top / len(counts)


#: The replacements that cut values out, each as (regex, replacement; a form without capture groups and its
#: replacement; a regex for the values where that form might differ). Rust's regex engine replaces without
#: captures on its fast path, about twice as fast here (:func:`_replace`).
_JSON_STRINGS = (rf'(:\s*)"{_JSON_STRING}"', f'${{1}}"{_HOLE}"', rf':"{_JSON_STRING}"', f':"{_HOLE}"', r':\s+"')
_JSON_SCALARS = (rf"(:\s*)(?:{_JSON_SCALAR})", f"${{1}}{_HOLE}", rf":(?:{_JSON_SCALAR})", f":{_HOLE}", r":\s+[-0-9tfn]")
_CSV_FIELDS = (r'(^|,)[^,"\x00]+', f"${{1}}{_HOLE}", r'[^,"\x00]+', _HOLE, r'["\x00][^,"\x00]')
#: False: every replacement with its capture groups, as before round 8 (the tests compare the two).
FAST_REPLACE = True


def _replace(values: pl.Series, rule: tuple[str, str, str, str, str]) -> pl.Series:
    r"""``values.str.replace_all(regex, replacement)`` for a rule of :data:`_JSON_STRINGS` and the like.

    The fast form gives the same text on every value its last regex does not match:

    * JSON, ``(:\s*)"..."`` and ``(:\s*)SCALAR``: with no ``:`` followed by white space and then ``"`` (or a
      scalar's first character) anywhere in the value, every match has an empty ``\s*``: it is a match of
      ``:"..."`` (``:SCALAR``) at the same place with the same end, and the replacement writes the same ``:``;
    * CSV, ``(^|,)RUN+`` (RUN: not ``,``, ``"`` or NUL): with no RUN character after a ``"`` or a NUL, every
      maximal run starts the value or follows a ``,``; both forms replace each maximal run, the slow one with
      its ``,`` written back.

    The other values (rare: JSON written with a space after its colons) are replaced by the slow form.
    """
    slow, slow_with, fast, fast_with, unsafe = rule
    if not FAST_REPLACE:
        return values.str.replace_all(slow, slow_with)
    out = values.str.replace_all(fast, fast_with)
    risky = values.str.contains(unsafe).fill_null(False)
    if risky.any():
        rows = risky.arg_true()
        out = out.scatter(rows, values.gather(rows).str.replace_all(slow, slow_with))
    return out


def shapes(kind: str, contents: pl.Series) -> pl.Series:
    """Each content's template (``<*>`` for every value); null where a line has no values or holds ``<*>``."""
    if kind == "json":
        shaped = _replace(_replace(contents, _JSON_STRINGS), _JSON_SCALARS)
    elif kind == "tsv":
        shaped = contents.str.replace_all(r"[^\t]+", _HOLE)
    elif kind == "csv":
        shaped = _replace(contents.str.replace_all(_CSV_QUOTED, f'"{_HOLE}"'), _CSV_FIELDS)
    else:
        raise ValueError(f"unknown structured kind {kind!r}")
    ok = shaped.str.contains(_HOLE, literal=True) & ~contents.str.contains(WILDCARD, literal=True)
    return pl.select(pl.when(pl.lit(ok)).then(pl.lit(shaped).str.replace_all(_HOLE, WILDCARD, literal=True)))[:, 0]
