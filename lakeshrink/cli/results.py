"""What each command prints with ``--output json``: one frozen dataclass per command, serialised by
:func:`lakeshrink.serde.dumps`; :mod:`lakeshrink.api` returns the same document, parsed.

Commands whose library function already returns the whole result print that dataclass itself
(``containment scan``: :class:`~lakeshrink.containment.scan.ScanResult`, ``containment verify``:
:class:`~lakeshrink.containment.planner.marks.VerifyResult`, ``demo``: :class:`~lakeshrink.demos.DemoSummary`,
``logs decompress|salvage``: their reports). The classes below are for the commands that add to it what the
command line knows (where it wrote, the engine's name, the files a mark would free) or that print a list.
Nested values are kept as the library's dataclasses; in JSON they are objects with the same field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# -- containment -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanCommandResult:
    """``containment plan``: the plan's decisions and where it was written."""

    plan_dir: str
    marked: tuple[Any, ...]
    kept: tuple[Any, ...]
    bytes_saved: int
    bytes_total: int
    solver: str
    optimal: bool
    monthly_net_saving: float
    currency: str
    rejected: tuple[Any, ...]
    report: str


@dataclass(frozen=True)
class FreedFile:
    """A data file that deleting a marked table would free (its path relative to the lake root)."""

    table: str
    path: str
    bytes: int


@dataclass(frozen=True)
class MarkCommandResult:
    """``containment mark``: :class:`~lakeshrink.containment.planner.marks.MarkResult` and, like
    ``vacuum(dry_run=True)``, every file the marks would free."""

    dry_run: bool
    lake: str
    manifest: str
    marks: tuple[Any, ...]
    replaced: tuple[str, ...]
    delta_tables: tuple[str, ...]
    files: tuple[FreedFile, ...]


@dataclass(frozen=True)
class RebuildCommandResult:
    """``containment rebuild``: the rebuilt file, its rows and its verified row checksum."""

    table: str
    parent: str
    output: str
    rows: int
    bytes: int
    row_checksum: str
    verified: bool


# -- encode ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdviseCommandResult:
    """``encode advise``: the plan, its estimates against pyarrow's defaults and zstd, and the reader limits."""

    path: str
    engine: str
    plan_file: str | None
    seconds: float
    input_bytes: int | None
    estimated_bytes: int | None
    default_bytes: int | None
    zstd_bytes: int | None
    readers: str
    latest_bytes: int | None
    constrained: dict[str, list[str]]
    plan: dict[str, Any]


@dataclass(frozen=True)
class RewriteCommandResult:
    """``encode rewrite``: what was written, verified, and how it compares with the input."""

    input: str
    output: str
    engine: str
    files: int
    rows: int
    input_bytes: int
    output_bytes: int
    saved_bytes: int
    ratio: float
    verified: bool
    advise_seconds: float
    write_seconds: float
    estimated_bytes: int | None
    readers: str
    plan: dict[str, Any]
    table_format: str | None
    committed: Any
    notes: tuple[str, ...]


# -- logs ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompressCommandResult:
    """``logs compress``: :class:`~lakeshrink.codecs.logs.files.CompressReport`, the engine and the ratio."""

    engine: str
    archive: str
    files: int
    chunks: int
    lines: int
    input_bytes: int
    archive_bytes: int
    seconds: float
    format: str
    templates: int
    columnar_chunks: int
    fallback_chunks: int
    ratio: float


@dataclass(frozen=True)
class TemplatesCommandResult:
    """``logs templates``: the archive's templates with their line and chunk counts."""

    archive: str
    templates: tuple[Any, ...]


@dataclass(frozen=True)
class GrepMatch:
    file: str
    line_number: int
    line: str


@dataclass(frozen=True)
class GrepCommandResult:
    """``logs grep --json``: the matching lines and how many chunks were read or skipped."""

    archive: str
    pattern: str
    matches: tuple[GrepMatch, ...]
    stats: Any


@dataclass(frozen=True)
class StatsRow:
    bucket: str
    template: str
    lines: int


@dataclass(frozen=True)
class StatsCommandResult:
    """``logs stats --json``: lines per template and time bucket."""

    archive: str
    by: str
    every: str
    rows: tuple[StatsRow, ...] = field(default_factory=tuple)
