"""Reader profiles: which Parquet encodings, page versions and codecs the engines that read a lake can open.

A rewritten file is only useful if every engine reading the lake still opens it: Spark 3.5's vectorized reader
fails on BYTE_STREAM_SPLIT (``FLOAT``/``DOUBLE`` included), DuckDB 1.1 on BYTE_STREAM_SPLIT integers and on
DELTA_BYTE_ARRAY decimals, Spark 3.3 on LZ4_RAW, Snowflake on V2 data pages. The data file ``readers.toml``
(beside this module) maps each reader to what it supports, cell by cell (encoding x physical type, page version,
codec), with the source of each cell; ``checked_by`` names the real reader the test suite runs on every cell, and
readers without one are *unverified* (their cells come from documentation only).

A :class:`ReaderProfile` is the intersection of the named readers. ``portable`` (the default) intersects every
reader in the file; ``latest`` allows everything the format allows. The advisor never chooses a setting outside
its profile, and a plan made for a wider profile is refused by :meth:`ReaderProfile.check_plan`.

Example:
    >>> profile = resolve_profile("spark-3.5,duckdb-1.1")
    >>> profile.allows_encoding("DOUBLE", "BYTE_STREAM_SPLIT")
    False
    >>> sorted(profile.refusing("DOUBLE", "BYTE_STREAM_SPLIT"))
    ['spark-3.5']
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING

from lakeshrink.codecs.encodings.candidates import CODECS, ENCODINGS_BY_TYPE, Candidate
from lakeshrink.errors import InputError

if TYPE_CHECKING:
    from lakeshrink.codecs.encodings.plan import EncodingPlan

DEFAULT_PROFILE = "portable"
LATEST = "latest"
PAGE_VERSIONS: tuple[str, ...] = ("1.0", "2.0")
FILE_CODECS: dict[str, str] = {"NONE": "NONE", "SNAPPY": "SNAPPY", "LZ4": "LZ4_RAW", "ZSTD": "ZSTD"}
"""Candidate codec -> the codec's name in the file (pyarrow's ``lz4`` writes ``LZ4_RAW``)."""
DICTIONARY = "RLE_DICTIONARY"


def encoding_name(candidate: Candidate) -> str:
    """The data-page encoding a candidate writes, as the file's metadata names it."""
    return DICTIONARY if candidate.dictionary else str(candidate.encoding)


def format_cells() -> Mapping[str, frozenset[str]]:
    """Every encoding the format allows per physical type (what ``latest`` allows)."""
    return _FORMAT_CELLS


_FORMAT_CELLS: Mapping[str, frozenset[str]] = MappingProxyType({
    ptype: frozenset(encs) | ({DICTIONARY} if ptype != "BOOLEAN" else frozenset())
    for ptype, encs in ENCODINGS_BY_TYPE.items()})


@dataclass(frozen=True)
class Reader:
    """One engine's cells, each mapped to the key of its source in the data file.

    Attributes:
        name: the profile name (``spark-3.5``).
        title: what it covers, for people.
        checked_by: the real reader the test suite runs on every cell ("" : unverified).
        encodings: physical type -> encoding -> source key.
        page_versions: data page version (``"1.0"``, ``"2.0"``) -> source key.
        codecs: codec as the file names it (``LZ4_RAW``) -> source key.
    """

    name: str
    title: str
    checked_by: str
    encodings: Mapping[str, Mapping[str, str]]
    page_versions: Mapping[str, str]
    codecs: Mapping[str, str]

    @property
    def verified(self) -> bool:
        return bool(self.checked_by)

    def reads(self, physical_type: str, encoding: str | None = None, *, page_version: str | None = None,
              codec: str | None = None) -> bool:
        """Whether this reader opens the given cell (dimensions left ``None`` are not checked)."""
        if encoding is not None and encoding not in self.encodings.get(physical_type, {}):
            return False
        if page_version is not None and page_version not in self.page_versions:
            return False
        return codec is None or codec in self.codecs


@dataclass(frozen=True)
class Cell:
    """One combination a profile allows: written as a single-column file by the compatibility tests."""

    physical_type: str
    encoding: str
    page_version: str
    codec: str


@dataclass(frozen=True)
class ReaderProfile:
    """The intersection of some readers (none: ``latest``, everything the format allows).

    Attributes:
        name: as given (``portable``, ``latest``, ``spark-3.5,duckdb-1.1``).
        readers: the readers that must open the output.
    """

    name: str
    readers: tuple[Reader, ...]

    @property
    def reader_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.readers)

    @property
    def unverified(self) -> tuple[str, ...]:
        """Readers of this profile whose cells no installable reader checks."""
        return tuple(r.name for r in self.readers if not r.verified)

    @functools.cached_property
    def _description(self) -> str:
        return self._describe()

    def describe(self) -> str:
        """``portable (spark-3.3, spark-3.5, ...)`` or ``latest (everything the format allows)``."""
        return self._description

    def _describe(self) -> str:
        if not self.readers:
            return f"{self.name} (everything the format allows)"
        names = ", ".join(self.reader_names)
        return self.name if names == self.name else f"{self.name} ({names})"

    @functools.cached_property
    def memo(self) -> dict[str, dict]:
        """Answers other modules derive from this profile alone, by their own name (a profile is immutable: the
        cost model's pick for a wanted setting is worked out once per process, not per column)."""
        return {}

    # -- single dimensions -----------------------------------------------------------------------------
    @functools.cached_property
    def _answers(self) -> dict[tuple[str, str | None, str | None, str | None], tuple[str, ...]]:
        """:meth:`refusing`'s answers so far (a profile is immutable; the advisor asks the same few cells for
        every column of every table, so each is worked out once per process)."""
        return {}

    def refusing(self, physical_type: str, encoding: str | None = None, *, page_version: str | None = None,
                 codec: str | None = None) -> tuple[str, ...]:
        """Names of the readers that cannot open the cell (empty: allowed)."""
        cell = (physical_type, encoding, page_version, codec)
        known = self._answers.get(cell)
        if known is not None:
            return known
        if encoding is not None and encoding not in format_cells().get(physical_type, frozenset({"PLAIN"})):
            answer: tuple[str, ...] = (LATEST,)
        else:
            answer = tuple(r.name for r in self.readers
                           if not r.reads(physical_type, encoding, page_version=page_version, codec=codec))
        self._answers[cell] = answer
        return answer

    def allows_encoding(self, physical_type: str, encoding: str) -> bool:
        return not self.refusing(physical_type, encoding)

    def allows_page_version(self, version: str) -> bool:
        return not self.refusing("INT32", page_version=version)

    def allows_codec(self, codec: str) -> bool:
        return not self.refusing("INT32", codec=codec)

    @property
    def page_versions(self) -> tuple[str, ...]:
        return tuple(v for v in PAGE_VERSIONS if self.allows_page_version(v))

    @property
    def codecs(self) -> tuple[str, ...]:
        """Candidate codecs (``LZ4``, not ``LZ4_RAW``) the profile allows."""
        return tuple(c for c in CODECS if self.allows_codec(FILE_CODECS[c]))

    # -- candidates and plans --------------------------------------------------------------------------
    def candidate_refused_by(self, candidate: Candidate, physical_type: str) -> tuple[str, ...]:
        """Readers that cannot open ``candidate`` on a column of ``physical_type``."""
        return self.refusing(physical_type, encoding_name(candidate), codec=FILE_CODECS[candidate.compression])

    def allows(self, candidate: Candidate, physical_type: str) -> bool:
        return not self.candidate_refused_by(candidate, physical_type)

    def plan_problems(self, plan: EncodingPlan) -> list[str]:
        """Why ``plan`` could not be read by this profile's readers (empty: it can)."""
        problems = []
        refusing = self.refusing("INT32", page_version=plan.data_page_version)
        if refusing:
            problems.append(f"data page version {plan.data_page_version} ({', '.join(refusing)} cannot read it)")
        refusing = self.refusing("INT32", page_version="2.0") if plan.writer == "duckdb-v2" else ()
        if refusing:
            problems.append(f"DuckDB's writer with V2 data pages ({', '.join(refusing)} cannot read them)")
        for c in plan.columns:
            who = self.candidate_refused_by(c.candidate, c.physical_type)
            if who:
                problems.append(f"column {c.path!r}: {encoding_name(c.candidate)} on {c.physical_type} with "
                                f"{FILE_CODECS[c.compression]} ({', '.join(who)} cannot read it)")
        return problems

    def check_plan(self, plan: EncodingPlan, *, where: object = None) -> None:
        """Raise :class:`InputError` when a reader of this profile could not read files written with ``plan``."""
        problems = self.plan_problems(plan)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise InputError(f"the encoding plan is outside the reader profile {self.describe()}: "
                             f"{'; '.join(problems[:3])}{more}", path=where,  # type: ignore[arg-type]
                             hint="advise again with this profile, or pass --readers naming the engines that "
                                  "really read the output (--readers latest allows everything)")

    def cells(self) -> Iterator[Cell]:
        """Every (physical type, encoding, page version, codec) the profile allows, in a stable order."""
        for ptype, encodings in sorted(format_cells().items()):
            for enc in sorted(encodings):
                if not self.allows_encoding(ptype, enc):
                    continue
                for version in self.page_versions:
                    for codec in CODECS:
                        if self.allows_codec(FILE_CODECS[codec]):
                            yield Cell(ptype, enc, version, FILE_CODECS[codec])


# -- the data file -------------------------------------------------------------------------------------------------
@functools.cache
def load_readers() -> dict[str, Reader]:
    """Every reader of ``readers.toml``, by name (validated: known cells, sources that exist)."""
    text = resources.files("lakeshrink.codecs.encodings").joinpath("readers.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if data.get("format") != "lakeshrink.reader-profiles" or data.get("version") != 1:
        raise InputError("readers.toml is not a version 1 lakeshrink reader-profiles file")
    sources = data["sources"]
    known = format_cells()
    codecs = set(FILE_CODECS.values())
    out = {}
    for name, entry in data["readers"].items():
        cells = [src for encs in entry["encodings"].values() for src in encs.values()]
        cells += list(entry["page_versions"].values()) + list(entry["codecs"].values())
        missing = sorted({s for s in cells if s not in sources})
        bad = [f"{p}/{e}" for p, encs in entry["encodings"].items() for e in encs if e not in known.get(p, ())]
        bad += [c for c in entry["codecs"] if c not in codecs] + [v for v in entry["page_versions"] if v not in PAGE_VERSIONS]
        if missing or bad:
            raise InputError(f"readers.toml: reader {name!r} cites unknown sources {missing} or cells {bad}")
        out[name] = Reader(name, entry["title"], entry["checked_by"], entry["encodings"], entry["page_versions"],
                           entry["codecs"])
    return out


def sources() -> dict[str, str]:
    """Source key -> the statement and link it stands for."""
    text = resources.files("lakeshrink.codecs.encodings").joinpath("readers.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["sources"])


def profile_names() -> tuple[str, ...]:
    """Names ``--readers`` accepts: ``portable``, ``latest`` and every reader."""
    return (DEFAULT_PROFILE, LATEST, *load_readers())


def resolve_profile(spec: str | Sequence[str] | ReaderProfile | None = None) -> ReaderProfile:
    """The profile for ``--readers``: names separated by commas (or a sequence); ``None`` is ``portable``.

    ``latest`` adds no constraint (with other names, they constrain); ``portable`` is every reader.

    Raises:
        InputError: an unknown name (the message lists the known ones).
    """
    if isinstance(spec, ReaderProfile):
        return spec
    if spec is None:
        spec = DEFAULT_PROFILE
    return _resolve(spec if isinstance(spec, str) else tuple(spec))


@functools.lru_cache(maxsize=64)
def _resolve(spec: str | tuple[str, ...]) -> ReaderProfile:
    """:func:`resolve_profile` of a name list (cached: profiles are immutable and looked up per column)."""
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    if not names:
        names = [DEFAULT_PROFILE]
    readers = load_readers()
    unknown = [n for n in names if n not in readers and n not in (DEFAULT_PROFILE, LATEST)]
    if unknown:
        raise InputError(f"unknown reader profile {', '.join(map(repr, unknown))}; known: {', '.join(profile_names())}")
    chosen: list[Reader] = []
    for n in names:
        group = list(readers.values()) if n == DEFAULT_PROFILE else [] if n == LATEST else [readers[n]]
        chosen.extend(r for r in group if r not in chosen)
    return ReaderProfile(",".join(names), tuple(chosen))
