"""Exceptions raised by lakeshrink.

Every error the library raises on purpose derives from :class:`LakeshrinkError`, so a caller can catch
"anything from lakeshrink" in one clause. Subclasses also derive from the built-in exception that reads
naturally (``ValueError``, ``OSError``...) and carry their context (path, column, table) as attributes.
The CLI turns any ``LakeshrinkError`` into a one-line message on stderr and exit code 1.
"""

from __future__ import annotations

from pathlib import Path


class LakeshrinkError(Exception):
    """Base class of every error lakeshrink raises on purpose."""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.path = str(path) if path is not None else None
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        if self.path and self.path not in text:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class EngineUnavailable(LakeshrinkError, RuntimeError):
    """The requested engine cannot run here (pyspark missing, no suitable Java, ...)."""

    def __init__(self, engine: str, message: str, *, hint: str | None = None):
        self.engine = engine
        super().__init__(message, hint=hint)


class InputError(LakeshrinkError, ValueError):
    """Input data that lakeshrink cannot use: unreadable, malformed, or of the wrong kind."""


class CorruptArchive(LakeshrinkError, ValueError):
    """A file written by lakeshrink failed its magic, version or checksum check."""

    def __init__(self, message: str, *, path: str | Path | None = None, offset: int | None = None):
        self.offset = offset
        super().__init__(message, path=path)


class SchemaMismatch(LakeshrinkError, ValueError):
    """A table or column does not have the schema an operation needs."""

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        column: str | None = None,
        path: str | Path | None = None,
    ):
        self.table = table
        self.column = column
        super().__init__(message, path=path)


class TableError(LakeshrinkError, ValueError):
    """A table in a lake could not be discovered, read or trusted."""

    def __init__(self, message: str, *, table: str | None = None, path: str | Path | None = None):
        self.table = table
        super().__init__(message, path=path)


class VerificationFailed(LakeshrinkError, RuntimeError):
    """Data written by lakeshrink did not read back equal to its input; nothing was kept."""
