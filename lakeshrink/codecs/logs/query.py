"""What ``logs grep`` filters on besides a pattern: field values (``--where``) and times of any common shape.

* :func:`parse_where` reads ``status=500``, ``duration>100``, ``level!=INFO``, ``path~^/api`` (regex);
  :func:`where_mask` finds the field in each line: a header field of that name, else a JSON key of that name,
  else ``name=value`` / ``name: value`` in the text (``duration: 1.2 ms`` gives 1.2). ``<``, ``>``, ``<=`` and
  ``>=`` compare numbers; ``=`` and ``!=`` compare text, or numbers when both sides are numbers.
* :func:`parse_times` turns time texts into epoch seconds: ISO dates (``T`` or space, ``,`` or ``.`` before
  the fraction, ``Z``/``UTC`` suffix), ``yy/MM/dd HH:mm:ss``, ``yyMMdd HHmmss``, month names (``Nov 30
  12:43:17``: the year is ``year``, default this year; ``Sun Dec 04 04:47:44 2005``), and epoch seconds or
  milliseconds. :func:`line_times` finds each line's time: its header time fields, else a ``timestamp``-like
  JSON key, else a time at the start of the line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.header import LogFormat, split_header
from lakeshrink.errors import InputError

_WHERE = re.compile(r"^\s*([A-Za-z_@.][\w@.\-]*)\s*(<=|>=|!=|=|<|>|~)\s*(.*?)\s*$")
NUMERIC_OPS = ("<", ">", "<=", ">=")


@dataclass(frozen=True)
class Where:
    """One condition on a field: ``field op value``."""

    field: str
    op: str
    value: str


def parse_where(text: str) -> Where:
    """``"status=500"`` -> ``Where("status", "=", "500")``.

    Raises:
        InputError: not ``field OP value``, a numeric comparison with a value that is not a number, or a bad regex.
    """
    m = _WHERE.match(text)
    if not m:
        raise InputError(f"--where {text!r}: expected FIELD=VALUE, FIELD!=VALUE, FIELD>N, FIELD<N, FIELD>=N, FIELD<=N or FIELD~REGEX")
    cond = Where(m.group(1), m.group(2), m.group(3))
    if cond.op in NUMERIC_OPS:
        try:
            float(cond.value)
        except ValueError:
            raise InputError(f"--where {text!r}: {cond.op} compares numbers, and {cond.value!r} is not one") from None
    if cond.op == "~":
        try:
            pl.Series(["x"]).str.contains(cond.value)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"--where {text!r}: invalid regex ({exc})") from exc
    return cond


def field_values(lines: pl.Series, name: str, fmt: LogFormat | None = None) -> pl.Series:
    """The value of field ``name`` in each line (null where it has none)."""
    if fmt is not None:
        part = next((p for p in fmt.parts if p.kind == "field" and p.name.lower() == name.lower()), None)
        if part is not None:
            split = split_header(fmt, lines)
            return pl.select(pl.when(pl.lit(split.matched)).then(pl.lit(split.parts[part.group])))[:, 0]
    key = re.escape(name)
    json_value = lines.str.extract_groups(rf'"{key}"\s*:\s*(?:"(?P<s>(?:[^"\\]|\\.)*)"|(?P<v>[^,}}\]\s]+))').struct.unnest()
    text_value = lines.str.extract(rf'(?:^|[\s,;{{(\[]){key}\s*[=:]\s*"?([^\s,;")\]}}]+)', 1)
    return json_value["s"].fill_null(json_value["v"]).fill_null(text_value)


def where_mask(lines: pl.Series, conditions: list[Where], fmt: LogFormat | None = None) -> np.ndarray:
    """Lines meeting every condition."""
    ok = np.ones(len(lines), dtype=bool)
    for cond in conditions:
        values = field_values(lines, cond.field, fmt)
        numbers = values.cast(pl.Float64, strict=False)
        if cond.op in NUMERIC_OPS:
            target = float(cond.value)
            hit = {"<": numbers < target, ">": numbers > target, "<=": numbers <= target, ">=": numbers >= target}[cond.op]
        elif cond.op == "~":
            hit = values.str.contains(cond.value)
        else:
            same = values == cond.value
            try:
                same = same | (numbers == float(cond.value))
            except ValueError:
                pass
            hit = ~same if cond.op == "!=" else same
        ok &= hit.fill_null(cond.op == "!=" and False).to_numpy().astype(bool)
    return ok


# ------------------------------------------------------------------------------------------------------ times
_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%y%m%d %H%M%S",
    "%Y %b %d %H:%M:%S",
    "%Y %b %d %H:%M",
    "%a %b %d %H:%M:%S %Y",
    "%d/%b/%Y:%H:%M:%S",
    "%Y.%m.%d %H:%M:%S",
)


def parse_times(texts: pl.Series, year: int | None = None) -> pl.Series:
    """Epoch seconds (Float64, UTC) of each time text; null where no known shape fits."""
    year = year or dt.datetime.now(dt.timezone.utc).year
    t = texts.cast(pl.String).str.strip_chars().str.strip_chars("[]")
    t = t.str.replace(r"(?:\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))$", "").str.replace(r"(\d{2}:\d{2}:\d{2}),(\d)", "$1.$2")
    # month name first, no year: "Nov 30 12:43:17" (also "Nov  3 ...") gets one
    t = t.str.replace(r"^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}:\d{2}(?::\d{2})?)$", f"{year} $1 $2 $3")
    out = pl.Series("t", [None] * len(t), dtype=pl.Float64)
    for fmt in _FORMATS:
        parsed = t.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        out = out.fill_null(parsed.dt.epoch("us").cast(pl.Float64) / 1e6)
    epoch = t.str.extract(r"^(\d{9,13}(?:\.\d+)?)$", 1).cast(pl.Float64, strict=False)
    epoch = pl.select(pl.when(pl.lit(epoch) > 1e11).then(pl.lit(epoch) / 1000).otherwise(pl.lit(epoch)))[:, 0]
    return out.fill_null(epoch).alias("t")


def parse_time(text: str, year: int | None = None) -> float | None:
    """:func:`parse_times` of one text."""
    value = parse_times(pl.Series([text]), year)[0]
    return None if value is None else float(value)


_TIME_FIELDS = ("Date", "Day", "Month", "Time", "Timestamp")
_JSON_TIME = r'"(?:timestamp|@timestamp|ts|time|Timestamp|datetime|date)"\s*:\s*"?([^",}]+)'
_LEADING_TIME = (r"^\[?((?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| UTC)?)|(?:[A-Z][a-z]{2}\s+\d{1,2}\s+"
                 r"\d{2}:\d{2}:\d{2})|(?:\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})|(?:\d{10}(?:\.\d+)?))")


def line_times(lines: pl.Series, fmt: LogFormat | None = None, year: int | None = None) -> pl.Series:
    """Each line's time in epoch seconds (null where none is found)."""
    out = pl.Series("t", [None] * len(lines), dtype=pl.Float64)
    if fmt is not None:
        groups = [(p.name, p.group) for p in fmt.parts if p.kind == "field" and p.name in _TIME_FIELDS]
        if groups:
            split = split_header(fmt, lines)
            order = {"Month": 0, "Day": 1}
            names = [g for _, g in sorted(groups, key=lambda ng: order.get(ng[0], 2))]  # "Month Day Time"
            key = split.parts.select(pl.concat_str(names, separator=" ").alias("k"))["k"]
            out = pl.select(pl.when(pl.lit(split.matched)).then(pl.lit(parse_times(key, year))))[:, 0]
    if out.null_count():
        out = out.fill_null(parse_times(lines.str.extract(_JSON_TIME, 1), year))
    if out.null_count():
        out = out.fill_null(parse_times(lines.str.extract(_LEADING_TIME, 1), year))
    return out.alias("t")
