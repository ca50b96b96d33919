"""The log codec's per-runtime operation (a port, see :mod:`lakeshrink.engine`): compressing files into one archive.

The local engine compresses in this process (:func:`lakeshrink.codecs.logs.files.compress_files`); the Spark engine
reads the files with ``binaryFile`` and encodes their chunks in tasks. Both write the same archive format, detect
the header format of each file the same way, and report the same :class:`~lakeshrink.codecs.logs.files.CompressReport`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from lakeshrink.engine import Port

if TYPE_CHECKING:
    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import CompressReport


class LogCompressor(Protocol):
    def compress_files(self, inputs: Sequence[str], archive: str | os.PathLike[str],
                       config: CodecConfig | None = None, *, overwrite: bool = False,
                       exclude: Sequence[str] = ()) -> CompressReport:
        """Compress files, directories or ``-`` into one archive at ``archive`` (written atomically; an existing
        archive is replaced only with ``overwrite``; files matching an ``exclude`` glob are left out; compressed
        inputs are read decompressed)."""
        ...


LOG_COMPRESSOR: Port[LogCompressor] = Port("logs.compress", LogCompressor, "compress log files")
