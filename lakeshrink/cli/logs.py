"""``lakeshrink logs``: lossless log template compression (a thin layer over :mod:`lakeshrink.codecs.logs`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lakeshrink.cli._common import AliasOption, EngineChoice, emit, engine_options, human_bytes, open_engine, pass_state
# rich's tables and the result records are imported by the commands that print them: ``logs decompress`` of a
# 16 MiB log takes about 0.4 s, 13 ms of it were these imports
from lakeshrink.codecs.logs.ports import LOG_COMPRESSOR
from lakeshrink.codecs.logs.codec import DEFAULT_CHUNK_BYTES, CodecConfig

#: What rich's ``Text`` takes out of printed text (bell, backspace, vertical tab, form feed, carriage return):
#: :func:`say` prints without rich and takes out the same.
_STRIPPED = dict.fromkeys((7, 8, 11, 12, 13))


def say(state, payload: Any, *lines: str) -> None:
    """:func:`~lakeshrink.cli._common.emit` for a result whose text form is a few plain lines: as JSON with
    ``--output json``, else each line as rich's console printed it (control codes taken out, tabs expanded to
    8 columns, counted in characters), without importing rich: 11-25 ms of CPU, 5-9% of a ``logs decompress``
    of 2-16 MB (round 10; ``tests/test_logs_lazy.py`` checks that rich is not imported)."""
    if state.json:
        emit(state, payload)
    else:
        for line in lines:
            click.echo(line.translate(_STRIPPED).expandtabs(8))


@click.group()
def logs() -> None:
    """Lossless log template compression (compress, decompress, templates, grep, salvage)."""


@logs.command("compress")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "archive", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive to write.")
@click.option("--format", "log_format", default=None, metavar="F",
              help="Loghub-style header format ('<Date> <Time> <Level> <Content>') or a known name (HDFS, Spark...). "
                   "Default: detected from the first lines.")
@click.option("--level", type=click.IntRange(1, 22), default=19, show_default=True, help="zstd level for the columns.")
@click.option("--no-lzma", is_flag=True, help="Do not try LZMA2 per column (faster, slightly larger).")
@click.option("--chunk-mb", type=click.IntRange(1, 1024), default=DEFAULT_CHUNK_BYTES >> 20, show_default=True,
              help="Chunk size; peak memory is about 20x this.")
@click.option("--max-line-bytes", type=click.IntRange(0), default=4 << 20, show_default=True,
              help="Refuse lines longer than this (0: no limit).")
@click.option("--allow-binary", is_flag=True, help="Store input that looks like binary data instead of refusing it.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Leave out files matching GLOB, like tar: '*.tmp' at any depth, 'old' a directory, "
                   "'app/*.1' a path (repeatable; config key: exclude = [...]).")
@click.option("--overwrite", "--force", "force", cls=AliasOption, hidden_aliases=("--force",), is_flag=True,
              help="Replace the archive if it exists (never one of the inputs).")
@engine_options
@pass_state
def compress_cmd(state, inputs: tuple[str, ...], archive: Path, log_format: str | None, level: int, no_lzma: bool,
                 chunk_mb: int, max_line_bytes: int, allow_binary: bool, exclude: tuple[str, ...], force: bool,
                 engine: EngineChoice) -> None:
    """Compress INPUT files, directories or - (stdin) into one archive, byte-exact.

    Compressed inputs (.gz, .zst, .xz, .bz2: rotated logs, recognised by their first bytes) are read
    decompressed: the archive keeps their log lines under the name without the suffix, and decompress restores
    those lines (not the compressed file).
    """
    from lakeshrink.cli.results import CompressCommandResult

    config = CodecConfig(format=log_format, level=level, try_lzma=not no_lzma, chunk_bytes=chunk_mb << 20,
                         max_line_bytes=max_line_bytes, allow_binary=allow_binary)
    with open_engine(engine) as eng:
        report = eng.port(LOG_COMPRESSOR).compress_files(list(inputs), archive, config, overwrite=force,
                                                         exclude=list(exclude))
    payload = CompressCommandResult(engine=engine.name, **_asdict(report), ratio=round(report.ratio, 3))

    lines = [f"{report.files} file(s), {report.lines:,} lines, {human_bytes(report.input_bytes)} -> "
             f"{human_bytes(report.archive_bytes)} ({report.ratio:.2f}x) in {report.seconds:.1f}s; "
             f"{report.templates} templates, {report.columnar_chunks}/{report.chunks} chunks columnar"]
    if report.fallback_chunks:
        lines.append(f"{report.fallback_chunks} chunk(s) stored whole because their columnar form failed "
                     "(reasons logged; -v shows them)")
    say(state, payload, *lines, f"format: {report.format}", f"wrote {report.archive}")


@logs.command("decompress")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="A file (archive of one input), a directory (several inputs), or - for stdout (every file's "
                   "bytes, in order).")
@click.option("--overwrite", "--force", "force", cls=AliasOption, hidden_aliases=("--force",), is_flag=True,
              help="Replace OUTPUT if it exists.")
@pass_state
def decompress_cmd(state, archive: Path, output: Path, force: bool) -> None:
    """Give back the exact bytes that were compressed into ARCHIVE."""
    from lakeshrink.codecs.logs.files import decompress_archive

    from lakeshrink.errors import CorruptArchive
    from lakeshrink.memory import keep_freed_blocks

    keep_freed_blocks()  # this process ends with the command: its chunk buffers are reused, not faulted in anew

    try:
        if str(output) == "-":
            _decompress_to_stdout(archive)
            return
        report = decompress_archive(archive, output, overwrite=force)
    except CorruptArchive as exc:
        exc.hint = exc.hint or f"`lakeshrink logs salvage {archive} -o DIR` recovers its intact chunks"
        raise
    say(state, _asdict(report),
        f"wrote {report.output}: {report.files} file(s), {human_bytes(report.bytes)} in {report.seconds:.2f}s")


@logs.command("salvage")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="New directory for the chunks.")
@pass_state
def salvage_cmd(state, archive: Path, output: Path) -> None:
    """Recover the intact chunks of a truncated or damaged ARCHIVE (each checked against its checksum)."""
    from lakeshrink.codecs.logs.salvage import salvage

    report = salvage(archive, output)
    emit(state, _asdict(report), lambda c: c.print(
        f"recovered {report.chunks} chunk(s), {human_bytes(report.bytes)} into {report.output}; {report.reason}"
        + (f" at byte {report.stopped_at}" if report.stopped_at is not None else "")
        + (f"; damaged chunk(s) skipped at byte {', '.join(map(str, report.skipped))}" if report.skipped else "")))


@logs.command("templates")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(0), default=0, help="Show only the N most frequent (0: all).")
@pass_state
def templates_cmd(state, archive: Path, limit: int) -> None:
    """List the templates of ARCHIVE with their line counts (from the index; nothing is decompressed)."""
    from rich.table import Table

    from lakeshrink.cli.results import TemplatesCommandResult
    from lakeshrink.codecs.logs.grep import list_templates

    rows = list_templates(archive)
    if limit:
        rows = rows[:limit]

    def render(console) -> None:
        table = Table(title=f"{len(rows)} templates in {archive}")
        table.add_column("lines", justify="right")
        table.add_column("chunks", justify="right")
        table.add_column("template", overflow="fold")  # wrapped, never cut: a template is copied from here
        for r in rows:
            table.add_row(f"{r.lines:,}", str(r.chunks), r.template)
        console.print(table)

    emit(state, TemplatesCommandResult(str(archive), tuple(rows)), render)


@logs.command("grep")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("pattern")
@click.option("-F", "--fixed-strings", "fixed", is_flag=True, help="PATTERN is a literal string, not a regex.")
@click.option("-i", "--ignore-case", is_flag=True)
@click.option("-n", "--line-number", is_flag=True, help="Prefix each line with its line number in its file.")
@click.option("-H", "--with-filename", is_flag=True, help="Prefix each line with its file's path.")
@click.option("--template", default=None, help="Only lines of this template (exact text, as `logs templates` shows).")
@click.option("--from", "time_from", default=None, metavar="KEY",
              help="Only lines whose time fields, joined by spaces, are >= KEY as text (e.g. '2015-10-18 18:00').")
@click.option("--to", "time_to", default=None, metavar="KEY", help="Only lines whose time key is <= KEY as text.")
@click.option("--where", "where", multiple=True, metavar="COND",
              help="Only lines whose field meets COND: status=500, 'duration>100', level!=INFO, 'path~^/api' (repeatable).")
@click.option("--year", type=int, default=None, help="Year of month-name times without one (default: this year).")
@click.option("--lines", "lines_only", is_flag=True,
              help="Only the matching lines, not whole multi-line events (stack traces, statements over several lines).")
@pass_state
def grep_cmd(state, archive: Path, pattern: str, fixed: bool, ignore_case: bool, line_number: bool,
             with_filename: bool, template: str | None, time_from: str | None, time_to: str | None,
             where: tuple[str, ...], year: int | None, lines_only: bool) -> None:
    """Print the original lines of ARCHIVE that match PATTERN, skipping chunks that cannot match.

    A multi-line event (a header line and the lines after it that do not start with a header: stack traces,
    SQL over several lines) is printed whole when any of its lines matches; --lines prints only those lines.

    --from/--to take times as logs write them ('2026-11-30 12:43', 'Nov 30 12:43:17', epoch seconds) and
    compare parsed times; other keys are compared as text.
    """
    from lakeshrink.cli.results import GrepCommandResult, GrepMatch
    from lakeshrink.codecs.logs.grep import GrepStats, grep
    from lakeshrink.codecs.logs.query import parse_where

    stats = GrepStats()
    matches = grep(archive, pattern, fixed=fixed, ignore_case=ignore_case, template=template, time_from=time_from,
                   time_to=time_to, stats=stats, where=[parse_where(w) for w in where], year=year, events=not lines_only)
    if state.json:
        found = tuple(GrepMatch(m.file, m.line_number, m.line.decode("utf-8", "replace")) for m in matches)
        emit(state, GrepCommandResult(str(archive), pattern, found, stats))
        return
    out = sys.stdout.buffer
    try:
        for m in matches:
            prefix = b""
            if with_filename:
                prefix += m.file.encode("utf-8") + b":"
            if line_number:
                prefix += str(m.line_number).encode("ascii") + b":"
            out.write(prefix + m.line + b"\n")
        out.flush()
    except BrokenPipeError:  # `| head`: stop quietly, like grep
        sys.stderr.close()
        return
    if state.verbose:
        click.echo(f"{stats.matches} matches; read {stats.chunks_read} of {stats.chunks} chunks "
                   f"(skipped: {stats.skipped_by})", err=True)


def _decompress_to_stdout(archive: Path) -> None:
    """``-o -``: the bytes of every file of ARCHIVE, in order, on stdout (each chunk checked against its checksum)."""
    from lakeshrink.codecs.logs.archive import ArchiveReader

    out = sys.stdout.buffer
    try:
        with ArchiveReader(archive) as reader:
            for i in range(len(reader.index.files)):
                for data in reader.iter_file(i):
                    out.write(data)
        out.flush()
    except BrokenPipeError:  # `| head`: stop quietly
        sys.stderr.close()


@logs.command("stats")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", type=click.Choice(["template"]), default="template", show_default=True, help="What to count by.")
@click.option("--every", default="1h", show_default=True, help="Time bucket: 30s, 5m, 1h, 1d.")
@click.option("--year", type=int, default=None, help="Year of month-name times without one (default: this year).")
@pass_state
def stats_cmd(state, archive: Path, by: str, every: str, year: int | None) -> None:
    """Count the lines of ARCHIVE per template and time bucket."""
    import datetime as dt

    from lakeshrink.cli.results import StatsCommandResult, StatsRow
    from lakeshrink.codecs.logs.stats import parse_every, template_stats

    rows = template_stats(archive, parse_every(every), year=year)

    def when(bucket: float | None) -> str:
        return "(no time)" if bucket is None else dt.datetime.fromtimestamp(bucket, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    if state.json:
        emit(state, StatsCommandResult(str(archive), by, every,
                                       tuple(StatsRow(when(r.bucket), r.template, r.lines) for r in rows)))
        return
    for r in rows:
        click.echo(f"{when(r.bucket)}\t{r.lines}\t{r.template}")


def _asdict(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(obj)


def _attach_reports() -> None:
    from lakeshrink.cli.reports import logs_info, logs_report

    logs.add_command(logs_report)
    logs.add_command(logs_info)


_attach_reports()
