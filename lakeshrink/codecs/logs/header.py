"""Header formats: split each log line into header fields and its Content, exactly.

A format is a Loghub-style string (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP'19)
such as ``<Date> <Time> <Pid> <Level> <Component>: <Content>``: ``<Name>`` is a field, ``\\[`` an escaped
literal, ``( ... )?`` an optional part and a run of spaces any run of whitespace. Loghub turns it into a regex
and throws the separators away; lakeshrink must give back the exact bytes, so every separator becomes a *gap*
group of its own. A matching line is then exactly the concatenation of its groups in order (optional parts that
are absent give empty strings), which :func:`split_header` checks line by line; a line that does not match goes
to the residue path of the chunk unchanged.

The 16 Loghub formats ship in ``known_formats.json`` (see its ``_provenance`` note); :func:`detect_format` picks
among them and a few generic ones from a sample of lines.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs import structured
from lakeshrink.codecs.logs.lines import extract_groups, stop_before
from lakeshrink.errors import InputError

CONTENT = "Content"
_KNOWN_PATH = Path(__file__).with_name("known_formats.json")

#: Generic formats tried after the known ones, most specific first. ``<Content>`` matches every line.
GENERIC_FORMATS: tuple[str, ...] = (
    "<Date> <Time> <Level> <Component>: <Content>",
    "<Date> <Time> <Level> <Content>",
    "<Date> <Time> <Content>",
    "<Content>",
)


class FormatError(InputError):
    """A header format string that cannot be parsed, or that matches none of the lines it is given."""


@dataclass(frozen=True)
class Part:
    """One capture group of a format's regex: a named ``field`` or a ``gap`` (literal separator)."""

    kind: str  # "field" | "gap"
    name: str  # field name, or "gap<k>"
    group: str  # regex group name (g0, g1, ...)


@dataclass(frozen=True)
class LogFormat:
    """A parsed header format. ``parts`` in line order; their concatenation is the line."""

    spec: str
    parts: tuple[Part, ...]
    regex: str
    name: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if p.kind == "field")

    @property
    def has_content(self) -> bool:
        return CONTENT in self.fields


@dataclass(frozen=True)
class KnownFormat:
    """A format shipped with lakeshrink, with the Loghub masking regexes and Drain settings for that system."""

    name: str
    spec: str
    masks: tuple[str, ...]
    similarity: float
    depth: int


@functools.lru_cache(maxsize=1)
def known_formats() -> tuple[KnownFormat, ...]:
    """The 16 Loghub formats (name, format string, masking regexes, Drain ``st`` and ``depth``)."""
    raw = json.loads(_KNOWN_PATH.read_text(encoding="utf-8"))["formats"]
    return tuple(
        KnownFormat(name, v["log_format"], tuple(v.get("regex", ())), float(v.get("st", 0.5)), int(v.get("depth", 4)))
        for name, v in raw.items()
    )


def known_format(name: str) -> KnownFormat:
    for known in known_formats():
        if known.name.lower() == name.lower():
            return known
    names = ", ".join(k.name for k in known_formats())
    raise FormatError(f"unknown log format name {name!r}; known names: {names}")


_RUST_META = set("\\.+*?()|[]{}^$#&-~")


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in _RUST_META:
            out.append("\\" + ch)
        elif ch == " ":
            out.append("\\s+")
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=256)
def parse_format(spec: str) -> LogFormat:
    """Parse a Loghub-style format string (or the name of a known format, e.g. ``"HDFS"``).

    Raises:
        FormatError: unbalanced ``( ... )?``, an empty or repeated field name, or unknown syntax.
    """
    if "<" not in spec:
        spec = known_format(spec).spec
    parts: list[Part] = []
    pieces: list[str] = []
    literal: list[str] = []
    seen: set[str] = set()
    depth = 0

    def flush() -> None:
        if literal:
            text = "".join(literal)
            # runs of spaces become one \s+ gap; other literals are escaped
            text = re.sub(" +", " ", text)
            group = f"g{len(parts)}"
            parts.append(Part("gap", f"gap{len(parts)}", group))
            pieces.append(f"(?P<{group}>{_escape(text)})")
            literal.clear()

    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "<":
            end = spec.find(">", i)
            name = spec[i + 1 : end] if end > 0 else ""
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or "-"):
                raise FormatError(f"bad field at position {i} of format {spec!r}: expected <Name>")
            if name in seen:
                raise FormatError(f"field <{name}> appears twice in format {spec!r}")
            seen.add(name)
            flush()
            group = f"g{len(parts)}"
            parts.append(Part("field", name, group))
            pieces.append(f"(?P<{group}>.*?)")
            i = end + 1
        elif ch == "\\" and i + 1 < len(spec):
            literal.append(spec[i + 1])
            i += 2
        elif ch == "(":
            flush()
            pieces.append("(?:")
            depth += 1
            i += 1
        elif ch == ")":
            if depth == 0 or spec[i + 1 : i + 2] != "?":
                raise FormatError(f"format {spec!r}: only optional groups '( ... )?' are supported (position {i})")
            flush()
            pieces.append(")?")
            depth -= 1
            i += 2
        else:
            literal.append(ch)
            i += 1
    flush()
    if depth:
        raise FormatError(f"format {spec!r}: unbalanced '('")
    if not any(p.kind == "field" for p in parts):
        raise FormatError(f"format {spec!r} has no <Field>; use '<Content>' for unstructured lines")
    return LogFormat(spec, tuple(parts), "^" + "".join(pieces) + "$")


@dataclass(frozen=True)
class HeaderSplit:
    """Lines split by a format: ``matched`` per line, and one string column per part (empty where unmatched)."""

    matched: pl.Series
    parts: pl.DataFrame


_PIECE = re.compile(r"\(\?P<(g\d+)>((?:\\.|[^\\()])*)\)")


@functools.lru_cache(maxsize=256)
def fast_header_regex(regex: str) -> tuple[str, tuple[str, ...]] | None:
    """A format's regex with each lazy field made deterministic (the way
    :func:`~lakeshrink.codecs.logs.lines.fast_template_regex` does for templates), and the fields whose value
    must start with a non-space character for its split to be trusted. A field before a gap that starts
    with spaces takes ``\\S*``, before another literal character ``c`` ``[^c]*``, the last field ``.*``.
    None for formats with optional groups or two fields side by side.

    A split of the fast regex is the lazy regex's split when every gap ending in spaces is followed by a
    non-space character (the listed fields start with one): each lazy field is then the shortest run
    followed by its gap, which begins at the first space (or ``c``), where the fast field stops too, and each
    gap's spaces are the whole run of spaces there, which the greedy gap of the lazy regex takes as well.
    Without that condition a fast match may leave spaces for a later gap (``a   b`` as ``a``, `` ``, ``""``,
    `` ``, ...), so such lines are split by the lazy regex (:func:`~lakeshrink.codecs.logs.lines.extract_groups`).
    """
    if not (regex.startswith("^") and regex.endswith("$")) or "(?:" in regex:
        return None
    body = regex[1:-1]
    pieces = _PIECE.findall(body)
    if "".join(f"(?P<{g}>{inner})" for g, inner in pieces) != body:
        return None
    out = []
    leading = []
    for k, (group, inner) in enumerate(pieces):
        if inner != ".*?":
            out.append(f"(?P<{group}>{inner})")
            if inner.endswith("\\s+") and k + 2 < len(pieces):
                leading.append(pieces[k + 1][0])
            continue
        following = pieces[k + 1][1] if k + 1 < len(pieces) else None
        if following is None:
            fast = ".*"
        elif following == ".*?" or not following:
            return None
        elif following.startswith("\\s"):
            fast = "\\S*"
        else:
            char = following[1] if following[0] == "\\" else following[0]
            fast = stop_before(char)
        out.append(f"(?P<{group}>{fast})")
    return "^" + "".join(out) + "$", tuple(leading)


@functools.lru_cache(maxsize=256)
def space_fields(regex: str) -> int | None:
    """The number of fields of a format whose fields are all separated by runs of spaces (``<Date> <Time>
    <Level> <Content>``: 4), or None for any other format (other separators, optional groups)."""
    if not (regex.startswith("^") and regex.endswith("$")) or "(?:" in regex:
        return None
    body = regex[1:-1]
    pieces = _PIECE.findall(body)
    if "".join(f"(?P<{g}>{inner})" for g, inner in pieces) != body or len(pieces) % 2 == 0:
        return None
    if any(inner != (".*?" if k % 2 == 0 else "\\s+") for k, (_, inner) in enumerate(pieces)):
        return None
    return (len(pieces) + 1) // 2


def split_on_spaces(lines: pl.Series, fields: int, names: list[str], regex: str) -> pl.DataFrame:
    """The groups ``names`` of ``regex`` (a format of :func:`space_fields`) for ``lines``, found by cutting each
    line at its first ``fields - 1`` spaces, which needs no regex engine.

    Where no field but the last holds whitespace, the inner fields are not empty and the last does not
    start with whitespace, each gap is exactly one space and the split is the regex's: a lazy field stops
    at the first whitespace after it (its gap must follow), which is that space, and the greedy gap takes
    that one space only, the next character not being whitespace. The other lines (tabs, runs of spaces,
    too few fields) are split by the regex (:func:`split_header`'s path), and the results put together in
    line order. A format of one field is the whole line (``.`` matches all but ``\n``, which lines lack)."""
    if fields == 1:
        return pl.DataFrame([lines.alias(names[0])])
    cut = lines.str.splitn(" ", fields).struct.unnest()
    cols = cut.columns
    checks = [pl.col(c).str.contains(r"\s").not_() for c in cols[:-1]]
    checks += [pl.col(c).str.len_bytes() > 0 for c in cols[1:-1]]
    checks.append(pl.col(cols[-1]).str.contains(r"^\s").not_())
    ok = cut.select(pl.all_horizontal(checks).fill_null(False).alias("ok"))["ok"]
    space = pl.Series("s", [" "], dtype=pl.String).extend_constant(" ", len(lines) - 1) if len(lines) else None
    frame = pl.DataFrame([cut[cols[k // 2]].alias(name) if k % 2 == 0 else space.alias(name)
                          for k, name in enumerate(names)])
    if ok.all():
        return frame
    rows = (~ok).arg_true()
    fast = fast_header_regex(regex)
    rest = lines.gather(rows)
    again = extract_groups(rest, fast[0], regex, fast[1]) if fast else extract_groups(rest, None, regex)
    return pl.DataFrame([frame[c].clone().scatter(rows, again[c]) for c in names])


def split_header(fmt: LogFormat, lines: pl.Series) -> HeaderSplit:
    """Split ``lines`` (no line terminators) into the format's parts; exact by construction and checked."""
    fields = space_fields(fmt.regex)
    if fields is not None and len(lines):
        groups = split_on_spaces(lines, fields, [p.group for p in fmt.parts], fmt.regex)
    else:
        fast = fast_header_regex(fmt.regex)
        groups = extract_groups(lines, fast[0], fmt.regex, fast[1]) if fast else extract_groups(lines, None, fmt.regex)
    names = [p.group for p in fmt.parts]
    frame = groups.select(names)
    matched = groups[names[0]].is_not_null()
    frame = frame.with_columns(pl.all().fill_null(""))
    rebuilt = frame.select(pl.concat_str(names).alias("l"))["l"]
    exact = matched & (rebuilt == lines).fill_null(False)
    return HeaderSplit(exact.alias("matched"), frame)


_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
#: What a header field of a well-known name looks like; used only to tell formats apart in detection.
FIELD_SHAPES: dict[str, str] = {
    "Month": rf"^({_MONTHS})[a-z]*$",
    "Date": rf"^([^\s]*\d[^\s]*|({_MONTHS})[a-z]*)$",
    "Day": r"^\d{1,2}$",
    "Time": r"\d",
    "Timestamp": r"^\d+$",
    "Pid": r"^\d+$",
    "PID": r"^\d+$",
    "Tid": r"^\d+$",
    "Id": r"^\d+$",
    "LogId": r"^\d+$",
    "Level": r"^[A-Za-z]+$",
    "Component": r"^\S+$",
    "Node": r"^\S+$",
}


def _score(fmt: LogFormat, sample: pl.Series) -> float:
    """Fraction of lines that match with each header field of a known name looking as it should."""
    split = split_header(fmt, sample)
    ok = split.matched
    for part in fmt.parts:
        shape = FIELD_SHAPES.get(part.name)
        if part.kind == "field" and shape is not None:
            values = split.parts[part.group]
            ok = ok & (values.str.contains(shape) | (values == ""))
    return float(ok.mean() or 0.0)


def detect_format(sample: list[str] | pl.Series, *, min_fraction: float = 0.5) -> tuple[LogFormat, KnownFormat | None]:
    """Pick the format that fits most of ``sample`` (ties: the one with more fields), known formats first.

    A line counts as fitting when it matches and no header field but Content holds whitespace. Falls back to
    ``<Content>`` (every line, no header) when nothing fits ``min_fraction`` of the sample.
    """
    lines = sample if isinstance(sample, pl.Series) else pl.Series("l", list(sample), dtype=pl.String)
    lines = lines.str.strip_chars_end("\r")
    if structured.detect(lines) == "json":  # a header would cut the first key off: the whole line is the record
        return parse_format("<Content>"), None
    best: tuple[float, int] = (-1.0, 0)
    choice: tuple[LogFormat, KnownFormat | None] = (parse_format("<Content>"), None)
    candidates = [(k.spec, k) for k in known_formats()] + [(g, None) for g in GENERIC_FORMATS]
    for spec, known in candidates:
        if spec == "<Content>":
            continue  # the fallback; it fits every line, so it would beat a header that continuation lines dilute
        fmt = parse_format(spec)
        score = _score(fmt, lines) if len(lines) else 0.0
        if score < min_fraction:
            continue
        key = (round(score, 2), len(fmt.fields))
        if key > best:
            best, choice = key, (fmt, known)
    return choice


def check_format_matches(fmt: LogFormat, lines: pl.Series, *, path: str | None = None) -> None:
    """Raise :class:`FormatError` when a user-given format matches none of ``lines``."""
    if len(lines) and not split_header(fmt, lines.str.strip_chars_end("\r")).matched.any():
        raise FormatError(
            f"the log format {fmt.spec!r} matches none of the first {len(lines)} lines",
            path=path,
            hint="check the format string, or leave --format out to detect it",
        )
