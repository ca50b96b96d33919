"""``lakeshrink encode``: per-column Parquet encoding choices (a thin layer over
:mod:`lakeshrink.codecs.encodings`, through the engine's encoding ports)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lakeshrink.cli._common import EngineChoice, emit, engine_options, human_bytes, open_engine, pass_state
from lakeshrink.cli.results import AdviseCommandResult, RewriteCommandResult
from lakeshrink.codecs.encodings.ports import ENCODING_ADVISOR, ENCODING_REWRITER
from lakeshrink.codecs.encodings.plan import OBJECTIVES, EncodingPlan, load_plan
from lakeshrink.codecs.encodings.profiles import resolve_profile

OBJECTIVE_HELP = "size: smallest; speed: fastest to decode; balanced: smallest within a decode-time budget."
READERS_HELP = ("Engines that must read the output, comma-separated: portable (default: every engine listed), latest "
                "(everything the format allows), or some of spark-3.3, spark-3.5, spark-4, trino, athena, duckdb-1.1, "
                "duckdb, polars, pyarrow, bigquery, snowflake.")
readers_option = click.option("--readers", default="portable", show_default=True, metavar="PROFILE[,PROFILE...]",
                              help=READERS_HELP)


@click.group()
def encode() -> None:
    """Per-column Parquet encodings chosen from samples (advise, rewrite)."""


def _plan_table(plan: EncodingPlan, *, why: bool) -> Table:
    table = Table(title=f"encoding plan ({plan.objective}, {plan.sample_rows:,} of {plan.rows:,} rows sampled)")
    constrained = any(c.constrained_by for c in plan.columns)
    for name in ("column", "type", "choice", "estimate", "default", "zstd"):
        table.add_column(name, justify="right" if name in ("estimate", "default", "zstd") else "left")
    if constrained:
        table.add_column("latest", justify="right")
        table.add_column("constrained by")
    if why:
        table.add_column("why")
    for c in plan.columns:
        row = [escape(c.path), c.physical_type, c.candidate.key,
               *(human_bytes(v) if v is not None else "?" for v in (c.estimated_bytes, c.default_bytes, c.zstd_bytes))]
        if constrained:
            row += [human_bytes(c.latest_bytes) if c.constrained_by and c.latest_bytes is not None else "",
                    ", ".join(c.constrained_by)]
        if why:
            row.append(escape(c.reason))
        table.add_row(*row)
    return table


def _render_totals(console: Console, plan: EncodingPlan) -> None:
    est, default, zstd = plan.estimated_bytes, plan.default_bytes, plan.zstd_bytes
    if est is not None and default:
        console.print(f"estimated {human_bytes(est)} vs pyarrow's default {human_bytes(default)} "
                      f"({est / default:.2f}x) and zstd everywhere {human_bytes(zstd or 0)}")
    latest = plan.latest_bytes
    if est and latest is not None and latest < est:
        who = sorted({r for c in plan.columns for r in c.constrained_by})
        console.print(f"reader profile {escape(plan.readers)}: {sum(1 for c in plan.columns if c.constrained_by)} "
                      f"column(s) constrained by {', '.join(who)}; latest would take {human_bytes(latest)} "
                      f"({latest / est - 1:+.1%})")
    elif est is None and any(c.constrained_by for c in plan.columns):  # the cost model: choices, no sizes
        who = sorted({r for c in plan.columns for r in c.constrained_by})
        console.print(f"reader profile {escape(plan.readers)}: {sum(1 for c in plan.columns if c.constrained_by)} "
                      f"column(s) constrained by {', '.join(who)} (what latest would write is in their reason; "
                      "no size estimate: chosen by the cost model)")
    elif plan.readers != "latest":
        console.print(f"reader profile {escape(plan.readers)} costs nothing here (latest would choose the same)")
    if plan.sorting_columns:
        console.print("declared sort order: " + escape(", ".join(k.path for k in plan.sorting_columns)))
    for note in plan.notes:
        console.print(f"note: {escape(note)}")


@encode.command("advise")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--objective", type=click.Choice(OBJECTIVES), default="balanced", show_default=True, help=OBJECTIVE_HELP)
@click.option("--save-plan", type=click.Path(dir_okay=False, path_type=Path), help="Write the plan as JSON here.")
@click.option("--why/--no-why", default=True, show_default=True, help="Show the reason of each choice.")
@readers_option
@engine_options
@pass_state
def advise_cmd(state, path: Path, objective: str, save_plan: Path | None, why: bool, readers: str,
               engine: EngineChoice) -> None:
    """Advise per-column encodings for the Parquet file or directory PATH (estimates vs the default writer)."""
    with open_engine(engine) as eng:
        advice = eng.port(ENCODING_ADVISOR).advise_path(str(path), objective=objective, readers=readers)
    plan = advice.plan
    if save_plan is not None:
        plan.save(save_plan)
    payload = AdviseCommandResult(
        path=str(path), engine=engine.name, plan_file=str(save_plan) if save_plan is not None else None,
        seconds=advice.seconds, input_bytes=advice.input_bytes, estimated_bytes=plan.estimated_bytes,
        default_bytes=plan.default_bytes, zstd_bytes=plan.zstd_bytes, readers=plan.readers,
        latest_bytes=plan.latest_bytes,
        constrained={c.path: list(c.constrained_by) for c in plan.columns if c.constrained_by}, plan=plan.to_dict())

    def render(console: Console) -> None:
        console.print(_plan_table(plan, why=why))
        if advice.input_bytes is not None:
            console.print(f"files as they are: {human_bytes(advice.input_bytes)}")
        _render_totals(console, plan)
        console.print(f"advised in {advice.seconds:.2f} s" + (f"; plan written to {save_plan}" if save_plan else ""))

    emit(state, payload, render)


@encode.command("rewrite")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Where to write (the INPUT path itself: replace it atomically).")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Use this plan (from `encode advise --save-plan`) instead of advising.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default="balanced", show_default=True, help=OBJECTIVE_HELP)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--iceberg-catalog", metavar="NAME", help="The pyiceberg catalog an Iceberg table INPUT is committed through.")
@readers_option
@engine_options
@pass_state
def rewrite_cmd(state, input_path: Path, output: Path, plan_file: Path | None, objective: str, overwrite: bool,
                iceberg_catalog: str | None, readers: str, engine: EngineChoice) -> None:
    """Rewrite the Parquet file or directory INPUT with per-column encodings into OUTPUT, verified.

    Every rewritten file is read back and compared with its input before OUTPUT is put in place; on any
    difference nothing is replaced and the command fails. A plan outside the --readers profile is refused.
    A Delta or Iceberg table (OUTPUT = INPUT) is rewritten through its own log as ONE new version or snapshot;
    a concurrent commit makes it fail cleanly.
    """
    plan = load_plan(plan_file) if plan_file is not None else None
    resolve_profile(readers)  # an unknown name fails before any work
    with open_engine(engine) as eng:
        result = eng.port(ENCODING_REWRITER).rewrite(str(input_path), str(output), plan=plan, objective=objective,
                                                     overwrite=overwrite, readers=readers,
                                                     iceberg_catalog=iceberg_catalog)
    payload = RewriteCommandResult(
        input=result.input, output=result.output, engine=engine.name, files=result.files, rows=result.rows,
        input_bytes=result.input_bytes, output_bytes=result.output_bytes, saved_bytes=result.saved_bytes,
        ratio=result.ratio, verified=result.verified, advise_seconds=result.advise_seconds,
        write_seconds=result.write_seconds, estimated_bytes=result.plan.estimated_bytes, readers=readers,
        plan=result.plan.to_dict(), table_format=result.table_format, committed=result.committed,
        notes=tuple(result.notes))

    def render(console: Console) -> None:
        console.print(f"rewrote {result.files} file(s), {result.rows:,} rows: {human_bytes(result.input_bytes)} -> "
                      f"{human_bytes(result.output_bytes)} ({result.ratio:.2f}x, saved {human_bytes(result.saved_bytes)})")
        est = result.plan.estimated_bytes
        if est and result.output_bytes:
            console.print(f"the plan estimated {human_bytes(est)}; written {human_bytes(result.output_bytes)} "
                          f"({est / result.output_bytes - 1:+.1%})")
        console.print(f"content verified equal to the input; written to {result.output}")
        if result.committed:
            console.print(f"committed through the {result.table_format} log: {result.committed}")
        for note in result.notes:
            console.print(f"note: {note}")
        console.print(f"advised in {result.advise_seconds:.2f} s, written and verified in {result.write_seconds:.2f} s")

    emit(state, payload, render)


def _attach_reports() -> None:
    from lakeshrink.cli.reports import encode_report

    encode.add_command(encode_report)


_attach_reports()
