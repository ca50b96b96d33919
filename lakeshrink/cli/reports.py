"""``lakeshrink logs report`` and ``lakeshrink encode report``: offline HTML reports (:mod:`lakeshrink.reports`)."""

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
