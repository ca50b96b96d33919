"""What discovery finds: a table, its data files, and the state it was found in (frozen, picklable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TableFormat = Literal["parquet", "directory", "delta", "iceberg"]
FORMAT_TABLES = ("delta", "iceberg")
DELTA_HINT = "pip install 'lakeshrink[delta]'"
ICEBERG_HINT = "pip install 'lakeshrink[iceberg]'"


@dataclass(frozen=True)
class DataFile:
    """One Parquet data file of a table: its filesystem path, size, hive partition values and modification time
    (nanoseconds, when the filesystem tells; used to notice tables that change during a scan).

    ``deleted_rows`` counts the file's rows that a table format deletes without rewriting the file (a Delta
    deletion vector, Iceberg position deletes): its statistics then describe more rows than the table holds.
    """

    path: str
    size: int
    partition: tuple[tuple[str, str], ...] = ()
    mtime_ns: int | None = None
    deleted_rows: int = 0


@dataclass(frozen=True)
class TableRef:
    """A table found in a lake. ``path`` is in the lake's filesystem; ``id`` is relative to the root (a
    table-format table's id is its directory).

    The state a format table was found in is pinned: ``delta_version`` for Delta, ``snapshot_id`` (and the
    ``metadata`` file it was read from) for Iceberg. Readers read exactly that state.
    """

    id: str
    path: str
    format: TableFormat
    files: tuple[DataFile, ...]
    partition_keys: tuple[str, ...] = ()
    delta_version: int | None = None
    snapshot_id: int | None = None
    metadata: str | None = None

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def is_format_table(self) -> bool:
        """Whether the table lives behind a transaction log (Delta, Iceberg): its files are not the table."""
        return self.format in FORMAT_TABLES


@dataclass(frozen=True)
class Skipped:
    table: str
    reason: str
