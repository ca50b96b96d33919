"""The lake as the containment capability sees it: the names of :mod:`lakeshrink.tables`, where discovery and
reading live (one module resolves roots and table paths for every capability). Kept so that callers can import
them from the containment package."""

from __future__ import annotations

from lakeshrink.tables.discovery import Lake, discover, read_tables_file, resolve_root, table_at
from lakeshrink.tables.read import projection_bytes, read_schema, read_table, table_batches, table_parts
from lakeshrink.tables.refs import DELTA_HINT, DataFile, Skipped, TableFormat, TableRef

__all__ = [
    "DELTA_HINT", "DataFile", "Lake", "Skipped", "TableFormat", "TableRef", "discover", "projection_bytes",
    "read_schema", "read_table", "read_tables_file", "resolve_root", "table_at", "table_batches", "table_parts",
]
