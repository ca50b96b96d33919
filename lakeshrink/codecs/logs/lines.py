"""Lines and templates: exact splitting of bytes into lines, and of contents into template + parameters.

* :func:`split_lines` turns a chunk's bytes into a column of lines without terminators, a flag per line for a
  ``\\r`` before its ``\\n``, whether the chunk ends with ``\\n``, and the exact bytes of lines that are not
  UTF-8 (those lines go to the residue untouched).
* :func:`template_regex` turns a template such as ``Received block <*> of size <*>`` into an anchored regex
  with one lazy group per ``<*>``; the literal text between parameters is matched exactly, so a content that
  matches is exactly ``lit0 + p0 + lit1 + p1 + ...``. A content of the template's cluster that does not match
  (different whitespace, say) is kept whole in the residue.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.miner import WILDCARD

_SURROGATE = re.compile("[\udc80-\udcff]")
SMALL_TEMPLATE = 512


@dataclass(frozen=True)
class Lines:
    """A chunk as lines. ``binary`` maps line numbers to the exact bytes of lines that are not UTF-8."""

    text: pl.Series  # one string per line, no "\n", no trailing "\r"; "" for binary lines
    cr: pl.Series  # bool: the line ended with "\r" before its "\n" (or before the end of the chunk)
    final_newline: bool
    binary: dict[int, bytes]

    def __len__(self) -> int:
        return len(self.text)


def split_lines(data: bytes) -> Lines:
    """Split ``data`` on ``\\n`` exactly (vectorised; a Python loop only over lines that are not UTF-8)."""
    final_newline = data.endswith(b"\n")
    body = data[:-1] if final_newline else data
    binary: dict[int, bytes] = {}
    if not data:
        text = pl.Series("l", [], dtype=pl.String)
    else:
        try:
            decoded = body.decode("utf-8")
            text = pl.Series("l", [decoded], dtype=pl.String).str.split("\n").explode()
        except UnicodeDecodeError:
            parts = body.decode("utf-8", "surrogateescape").split("\n")
            for i, part in enumerate(parts):
                if _SURROGATE.search(part):
                    binary[i] = part.encode("utf-8", "surrogateescape")
                    parts[i] = ""
            text = pl.Series("l", parts, dtype=pl.String)
    cr = text.str.ends_with("\r").alias("cr")
    text = text.str.strip_suffix("\r").alias("l")
    for i, raw in binary.items():
        if raw.endswith(b"\r"):
            binary[i] = raw[:-1]
            cr[i] = True
    return Lines(text, cr, final_newline, binary)


def join_lines(lines: pl.Series, cr: pl.Series, final_newline: bool, binary: dict[int, bytes]) -> bytes:
    """Inverse of :func:`split_lines`."""
    if len(lines) == 0:
        return b"\n" if final_newline else b""
    if cr.any():
        frame = pl.DataFrame({"l": lines, "cr": cr})
        lines = frame.select(pl.when(pl.col("cr")).then(pl.col("l") + "\r").otherwise(pl.col("l")))["l"]
    if binary:
        parts = [s.encode("utf-8") for s in lines.to_list()]
        for i, raw in binary.items():
            parts[i] = raw + (b"\r" if cr[i] else b"")
        out = b"\n".join(parts)
    else:
        out = lines.str.join("\n")[0].encode("utf-8")
    return out + b"\n" if final_newline else out


def template_literals(template: str) -> tuple[str, ...]:
    """The literal pieces of a template around its ``<*>``, and a last empty one (the trailing whitespace
    group of :func:`template_regex`): what decoding needs, without building the regex (no polars)."""
    return (*template.split(WILDCARD), "")


@functools.lru_cache(maxsize=4096)
def template_regex(template: str) -> tuple[str, tuple[str, ...]]:
    """Anchored regex with groups ``p0..pk`` for a template, and the template's literal pieces.

    The last group takes trailing whitespace (Drain's tokenizer drops it), so there is one group more than
    the template has ``<*>``.
    """
    literals = template_literals(template)
    pieces = [pl.escape_regex(literals[0])]
    for i, literal in enumerate(literals[1:-1]):
        pieces.append(f"(?P<p{i}>.*?)")
        pieces.append(pl.escape_regex(literal))
    pieces.append(f"(?P<p{len(literals) - 2}>\\s*)")
    return "^" + "".join(pieces) + "$", literals


@functools.lru_cache(maxsize=4096)
def fast_template_regex(template: str) -> str | None:
    """:func:`template_regex` with its lazy groups made deterministic where that cannot change a match: a
    ``<*>`` followed by a literal starting with ``c`` takes ``[^c]*``, the last ``<*>`` (before the trailing
    whitespace group) takes everything up to the last non-space character. None for templates without
    ``<*>`` or with two ``<*>`` side by side (kept lazy there, a fast neighbour could move their split).

    Where this regex matches, it splits exactly as :func:`template_regex` does: the lazy group is the
    shortest run followed by its literal, which starts at the first ``c`` (the fast group's run has no
    ``c``), so both groups end there, and so on group after group. Values it does not match are left to the
    lazy regex (:func:`extract_groups`). Rust's regex engine runs the deterministic form several times faster.
    """
    literals = tuple(template.split(WILDCARD)) + ("",)
    if len(literals) < 3 or not all(literals[1:-2]):
        return None
    pieces = [pl.escape_regex(literals[0])]
    for i, literal in enumerate(literals[1:-1]):
        body = stop_before(literal[0]) if literal else _TO_LAST_NON_SPACE
        pieces.append(f"(?P<p{i}>{body})")
        pieces.append(pl.escape_regex(literal))
    pieces.append(f"(?P<p{len(literals) - 2}>\\s*)")
    return "^" + "".join(pieces) + "$"


_TO_LAST_NON_SPACE = r"(?:.*\S)?"


def stop_before(char: str) -> str:
    """A regex for any run of characters other than ``char``."""
    return f"[^\\x{{{ord(char):X}}}]*"


#: Columns of at least this many values are cut in two for a regex and both halves run at once on polars'
#: thread pool (one lazy query, :func:`regex_groups`); the result is the same, row for row.
PARALLEL_ROWS = 1 << 16


def regex_groups(values: pl.Series, regex: str) -> pl.DataFrame:
    """``values.str.extract_groups(regex).struct.unnest()``, on two cores for long columns."""
    if len(values) < PARALLEL_ROWS:
        return values.str.extract_groups(regex).struct.unnest()
    half = (len(values) + 1) // 2
    parts = [values.slice(start, half).to_frame("v").lazy().select(pl.col("v").str.extract_groups(regex).alias("s"))
             for start in (0, half)]
    return pl.concat(parts, parallel=True).collect().unnest("s")


def extract_groups(values: pl.Series, fast: str | None, slow: str, leading: Sequence[str] = ()) -> pl.DataFrame:
    """``values.str.extract_groups(slow)`` unnested, computed with ``fast`` (a regex with the same groups
    that, where it matches, gives the same groups; its first group is null where it does not match) and
    with ``slow`` only on the values ``fast`` did not match, or where a group named in ``leading`` does not
    start with a non-space character (the condition of :func:`~lakeshrink.codecs.logs.header.fast_header_regex`)."""
    groups = regex_groups(values, fast if fast is not None else slow)
    if fast is None or not len(values):
        return groups
    missed = groups[groups.columns[0]].is_null()
    if leading:
        trusted = groups.select(pl.all_horizontal(pl.col(g).str.contains(r"^\S").fill_null(False) for g in leading))
        missed = missed | ~trusted.to_series()
    if not missed.any():
        return groups
    rows = missed.arg_true()
    again = regex_groups(values.gather(rows), slow)
    return pl.DataFrame([groups[c].clone().scatter(rows, again[c]) for c in groups.columns])


def extract_params(template: str, contents: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
    """Which ``contents`` fit ``template`` exactly, and their parameters (one column per group)."""
    regex, _ = template_regex(template)
    groups = extract_groups(contents, fast_template_regex(template), regex)
    return groups["p0"].is_not_null(), groups


def fill_template(literals: tuple[str, ...], params: list[pl.Series], n: int) -> pl.Series:
    """Inverse of :func:`extract_params` for ``n`` lines (``literals`` as :func:`template_regex` gives them)."""
    if not params:
        return pl.Series("c", ["".join(literals)] * n, dtype=pl.String)
    if n <= SMALL_TEMPLATE:  # plain Python is cheaper than a polars call for a few lines
        return pl.Series("c", interleave_rows(literals, [p.to_list() for p in params]), dtype=pl.String)
    exprs: list[pl.Expr] = []
    for i, literal in enumerate(literals):
        if literal:
            exprs.append(pl.lit(literal))
        if i < len(params):
            exprs.append(pl.col(f"p{i}"))
    frame = pl.DataFrame({f"p{i}": p for i, p in enumerate(params)})
    return frame.select(pl.concat_str(exprs).alias("c"))["c"]


def interleave_rows(literals: Sequence[str], columns: Sequence[Sequence[str]]) -> list[str]:
    """Per row ``literals[0] + c0 + literals[1] + c1 + ...`` (one literal more than columns).

    One ``%``-format per row (a single C call) rather than a list of pieces joined.
    """
    pattern = _row_format(tuple(literals))
    return [pattern % row for row in zip(*columns)]


@functools.lru_cache(maxsize=4096)
def _row_format(literals: tuple[str, ...]) -> str:
    return "%s".join(literal.replace("%", "%%") for literal in literals)
