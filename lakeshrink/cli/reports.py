"""``lakeshrink logs report|info`` and ``lakeshrink encode report``: what an archive or a rewrite holds, as an offline
HTML report (:mod:`lakeshrink.reports`) or, for ``logs info``, as a summary of the archive's index."""

from __future__ import annotations

from pathlib import Path

import click

from lakeshrink.cli._common import emit, pass_state


@click.command("report")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write.")
@pass_state
def logs_report(state, archive: Path, output: Path) -> None:
    """Write an HTML report of ARCHIVE: bytes per stream, templates over time, templates, chunks (works offline)."""
    from lakeshrink.reports.logs import write_report

    summary = write_report(archive, output)
    emit(state, summary, lambda c: c.print(f"wrote {output}: {summary['files']} stream(s), {summary['chunks']} chunk(s), "
                                           f"{summary['templates']} templates"))


@click.command("report")
@click.argument("before", type=click.Path(exists=True, path_type=Path))
@click.argument("after", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write.")
@pass_state
def encode_report(state, before: Path, after: Path, output: Path) -> None:
    """Write an HTML report comparing the Parquet BEFORE and AFTER (e.g. `encode rewrite`'s input and output):
    bytes per column and per encoding, from their footers (works offline)."""
    from lakeshrink.reports.encodings import write_report

    summary = write_report(before, after, output)
    emit(state, summary, lambda c: c.print(f"wrote {output}: {summary['columns']} columns, "
                                           f"{summary['before_bytes']:,} -> {summary['after_bytes']:,} bytes"))


@click.command("info")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def logs_info(state, archive: Path) -> None:
    """What ARCHIVE holds, from its index (like parquet-tools meta): format, files, chunks, modes, time range."""
    from collections import Counter

    from lakeshrink.cli._common import human_bytes
    from lakeshrink.codecs.logs.archive import VERSION, ArchiveReader
    from lakeshrink.codecs.logs.chunk import MODE_NAMES

    with ArchiveReader(archive) as reader:
        index = reader.index
    chunks = index.chunks
    times = [c.time_range for c in chunks if c.time_range]
    modes = Counter(MODE_NAMES.get(c.mode, str(c.mode)) for c in chunks)
    files = [{"path": f.path, "bytes": f.size, "chunks": len(f.chunks),
              "lines": sum(chunks[i].lines for i in f.chunks), "stored_bytes": sum(chunks[i].length for i in f.chunks)}
             for f in index.files]
    payload = {"archive": str(archive), "archive_bytes": archive.stat().st_size, "version": VERSION,
               "format": index.format, "files": files, "chunks": len(chunks), "modes": dict(modes),
               "lines": sum(c.lines for c in chunks), "input_bytes": sum(c.raw_bytes for c in chunks),
               "first_time": min(t[0] for t in times) if times else None,
               "last_time": max(t[1] for t in times) if times else None}

    def render(console) -> None:
        from rich.table import Table

        console.print(f"archive {archive}: version {VERSION}, {human_bytes(payload['archive_bytes'])} "
                      f"holding {human_bytes(payload['input_bytes'])} ({payload['lines']:,} lines)")
        console.print(f"header format{' of the first file (each chunk carries its own)' if len(index.files) > 1 else ''}: "
                      f"{index.format}")
        console.print("chunks: " + ", ".join(f"{n} {m}" for m, n in sorted(modes.items())) + f" ({len(chunks)} in all)")
        if times:
            console.print(f"time keys: {payload['first_time']} .. {payload['last_time']}")
        table = Table(title=f"{len(files)} file(s)")
        for col in ("file", "bytes", "stored", "lines", "chunks"):
            table.add_column(col, justify="left" if col == "file" else "right")
        for f in files:
            table.add_row(f["path"], human_bytes(f["bytes"]), human_bytes(f["stored_bytes"]), f"{f['lines']:,}",
                          str(f["chunks"]))
        console.print(table)

    emit(state, payload, render)
