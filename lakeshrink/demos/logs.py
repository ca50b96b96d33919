"""``lakeshrink demo`` for log compression: the bundled log slices compressed, checked, and compared.

Every figure is measured in this run: the archive of ``ctx.logs_dir/*.log`` is decompressed and compared
byte for byte with its inputs, and the same bytes are compressed with xz -9e and zstd -19 side by side.
"""

from __future__ import annotations

import lzma
import time

import zstandard

from lakeshrink.codecs.logs.files import decompress_archive
from lakeshrink.codecs.logs.grep import list_templates
from lakeshrink.codecs.logs.ports import LOG_COMPRESSOR
from lakeshrink.demos import DemoContext, DemoFigure, DemoReport


def run(ctx: DemoContext) -> DemoReport:
    """Compress the bundled logs, verify the round trip, and compare with xz -9e and zstd -19."""
    inputs = sorted(ctx.logs_dir.glob("*.log"))
    data = b"".join(p.read_bytes() for p in inputs)
    archive = ctx.work_dir / "logs.lslog"
    report = ctx.engine.port(LOG_COMPRESSOR).compress_files([str(p) for p in inputs], archive)
    restored = ctx.work_dir / "restored"
    start = time.perf_counter()
    decompress_archive(archive, restored)
    decompress_seconds = time.perf_counter() - start
    exact = all((restored / p.name).read_bytes() == p.read_bytes() for p in inputs) if len(inputs) > 1 else (
        restored.read_bytes() == data
    )
    xz = sum(len(lzma.compress(p.read_bytes(), preset=9 | lzma.PRESET_EXTREME)) for p in inputs)
    zstd = sum(len(zstandard.ZstdCompressor(level=19).compress(p.read_bytes())) for p in inputs)
    top = list_templates(archive)[:1]
    saved = report.input_bytes - report.archive_bytes if exact else 0
    figures = (
        DemoFigure("files", len(inputs)),
        DemoFigure("lines", report.lines),
        DemoFigure("byte-exact round trip", exact),
        DemoFigure("archive", report.archive_bytes, "bytes"),
        DemoFigure("ratio", round(report.ratio, 2), "x"),
        DemoFigure("ratio vs xz -9e", round(xz / report.archive_bytes, 3), "x"),
        DemoFigure("ratio vs zstd -19", round(zstd / report.archive_bytes, 3), "x"),
        DemoFigure("templates", report.templates),
        DemoFigure("compress", round(report.input_bytes / 1e6 / report.seconds, 2), "MB/s"),
        DemoFigure("decompress", round(report.input_bytes / 1e6 / decompress_seconds, 2), "MB/s"),
    )
    notes = (f"most frequent template: {top[0].template!r} ({top[0].lines} lines)",) if top else ()
    return DemoReport(input_bytes=report.input_bytes, saved_bytes=saved, figures=figures, notes=notes)
