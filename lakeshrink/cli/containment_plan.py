"""``lakeshrink containment plan|mark|verify|rebuild``: the deletion planner.

A thin layer over :mod:`lakeshrink.containment.planner.plan` and :mod:`lakeshrink.containment.planner.marks`. lakeshrink marks
tables; it never deletes a file. ``mark`` is a dry run unless ``--execute``.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lakeshrink.cli._common import (
    AliasOption, CliState, EngineChoice, emit, engine_options, human_bytes, open_engine, pass_state, styled,
)
from lakeshrink.cli.results import FreedFile, MarkCommandResult, PlanCommandResult, RebuildCommandResult
from lakeshrink.containment.planner.ports import REBUILDER


@click.command("plan")
@click.argument("scan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "--output-dir", "out_dir", cls=AliasOption, hidden_aliases=("--output-dir",), required=True, type=click.Path(path_type=Path), metavar="PLAN_DIR",
              help="Plan directory to write.")
@click.option("--costs", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Prices (JSON or key,value CSV).")
@click.option("--access", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Per-table reads_per_month, max_rebuild_seconds and keep (CSV or JSON); tables must be the scan's.")
@click.option("--keep", "keep", multiple=True, metavar="PATTERN",
              help="Never mark tables whose id matches this glob (repeatable), e.g. --keep 'gold/*'.")
@click.option("--solver", type=click.Choice(["auto", "milp", "greedy"]), default="auto", show_default=True,
              help="auto: the MILP (HiGHS), greedy past a size limit.")
@click.option("--milp-max-edges", type=click.IntRange(min=0), default=None,
              help="With --solver auto, usable edges past which greedy is used (default: the measured limit).")
@click.option("--gx/--no-gx", default=True, show_default=True,
              help="Audit rebuilds with Great Expectations; --no-gx checks row count and row checksum only.")
@click.option("--gx-data-docs", is_flag=True,
              help="Also build Great Expectations' HTML data docs (they load outside URLs; report.html needs none).")
@click.option("--overwrite", is_flag=True, help="Replace PLAN_DIR if it exists.")
@engine_options
@pass_state
def plan_command(state: CliState, scan_dir: Path, out_dir: Path, costs: Path | None, access: Path | None,
                 keep: tuple[str, ...], solver: str, milp_max_edges: int | None, gx: bool, gx_data_docs: bool,
                 overwrite: bool, engine: EngineChoice) -> None:
    """Choose which contained tables to mark; write PLAN_DIR/plan.json, recipes, audits and report.html."""
    from lakeshrink.containment.planner.plan import PlanOptions, make_plan

    options = PlanOptions(solver=solver, gx=gx, gx_data_docs=gx_data_docs, keep=tuple(keep))
    if milp_max_edges is not None:
        options = PlanOptions(solver=solver, gx=gx, gx_data_docs=gx_data_docs, keep=tuple(keep),
                              milp_max_edges=milp_max_edges)
    with open_engine(engine) as eng:
        plan = make_plan(scan_dir, out_dir, costs=costs, access=access, engine=eng,
                         options=options, overwrite=overwrite)
    payload = PlanCommandResult(
        plan_dir=str(out_dir), marked=tuple(plan.marked), kept=tuple(plan.kept), bytes_saved=plan.bytes_saved,
        bytes_total=plan.bytes_total, solver=plan.solver, optimal=plan.optimal,
        monthly_net_saving=plan.monthly_net_saving, currency=plan.currency, rejected=tuple(plan.rejected),
        report=str(out_dir / "report.html"))

    def render(console: Console) -> None:
        table = Table(title=f"plan: {len(plan.marked)} table(s) to mark, {human_bytes(plan.bytes_saved)} of {human_bytes(plan.bytes_total)}")
        for col in ("table", "rebuilt from", "bytes", "est. s", "rows"):
            table.add_column(col)
        for m in plan.marked:
            table.add_row(m.table, m.parent, human_bytes(m.bytes), f"{m.rebuild_seconds_estimate:.1f}", m.selector)
        console.print(table)
        for r in plan.rejected:
            console.print(styled(("not used", "yellow"), f" {r.child} <- {r.parent}: {r.reason}"))
        console.print(f"solver {plan.solver}{' (optimal)' if plan.optimal else ''}; net saving "
                      f"{plan.monthly_net_saving:.4g} {plan.currency}/month; report: {out_dir / 'report.html'}")
        if not plan.marked:
            console.print(_why_nothing(plan))
        else:
            console.print(f"nothing is marked yet: run `lakeshrink containment mark {out_dir}` to see, add --execute to mark")

    emit(state, payload, render)


def _why_nothing(plan) -> str:
    """One line saying why a plan marks no table (the reasons of the tables that could have been)."""
    if not plan.edges:
        return "nothing to mark: the scan found no table whose rows are all in another table"
    children = {c for c, _ in plan.edges}
    reasons: dict[str, int] = {}
    for k in plan.kept:
        if k.table in children:
            kind = k.reason.removeprefix("not marked: ").split(": ")[0].split(", and")[0]
            reasons[kind] = reasons.get(kind, 0) + 1
    shown = "; ".join(f"{r} ({n} table{'s' if n > 1 else ''})" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
    return f"nothing to mark: {shown or 'no candidate edge was usable'} (reasons per table: plan.json, report.html)"


@click.command("mark")
@click.argument("plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--execute", is_flag=True, help="Write the marks (default: a dry run that only prints them).")
@pass_state
def mark_command(state: CliState, plan_dir: Path, execute: bool) -> None:
    """Mark the plan's tables: a manifest at the lake root (and a Delta property). Never deletes a file."""
    from lakeshrink.containment.planner.marks import mark

    result = mark(plan_dir, execute=execute)
    # like vacuum(dry_run=True): every file each mark would free, with its bytes (paths relative to the lake root)
    files = tuple(FreedFile(m.table, f.path, f.size) for m in result.marks for f in m.child_state.files)
    payload = MarkCommandResult(result.dry_run, result.lake, result.manifest, result.marks, result.replaced,
                                result.delta_tables, files)

    def render(console: Console) -> None:
        verb = "would mark" if result.dry_run else "marked"
        for m in result.marks:
            console.print(f"{verb} {m.table} ({human_bytes(m.bytes)}), rebuilt from {m.parent}")
            for f in m.child_state.files:
                console.print(f"    {human_bytes(f.size):>10}  {f.path}")
        for t in result.replaced:
            console.print(f"{'would withdraw' if result.dry_run else 'withdrew'} the older mark of {t}")
        console.print(f"{len(result.marks)} table(s), {len(files)} file(s), {human_bytes(result.bytes)} that deleting "
                      f"them would free; manifest {result.manifest}"
                      + ("  (dry run: add --execute to write the marks)" if result.dry_run else ""))

    emit(state, payload, render)


@click.command("verify")
@click.argument("plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only report marks that would be withdrawn.")
@pass_state
def verify_command(state: CliState, plan_dir: Path, dry_run: bool) -> None:
    """Re-check every mark against the lake now; withdraw (with the reason) marks whose parent changed."""
    from lakeshrink.containment.planner.marks import verify

    result = verify(plan_dir, dry_run=dry_run)

    def render(console: Console) -> None:
        for t in result.valid:
            console.print(styled(("ok", "green"), f" {t}"))
        verb = "would withdraw" if result.dry_run else "withdrew"
        for w in result.withdrawn:
            console.print(styled((verb, "red"), f" {w.table}: {w.reason}"))
        if result.manifest is None:
            console.print("no marks manifest at the lake (nothing marked yet): checked the plan's marks only")

    emit(state, result, render)


@click.command("rebuild")
@click.argument("plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("table")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="OUTPUT",
              help="Parquet file to write.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@engine_options
@pass_state
def rebuild_command(state: CliState, plan_dir: Path, table: str, output: Path, overwrite: bool,
                    engine: EngineChoice) -> None:
    """Rebuild marked TABLE (its id in the plan) as one Parquet file at OUTPUT and verify its row checksum.

    With --engine spark the rows are selected and checked on the cluster (for parents too big for one machine).
    """
    from lakeshrink.containment.planner.plan import load_plan
    from lakeshrink.containment.planner.recipes import write_rebuild

    if output.exists() and not overwrite:
        raise click.UsageError(f"{output} exists; add --overwrite to replace it")
    plan = load_plan(plan_dir)
    recipe = plan.recipe(table)
    with open_engine(engine) as eng:
        checksum = eng.port(REBUILDER).write_rebuild(recipe, plan.lake, output)
    payload = RebuildCommandResult(table, recipe.parent, str(output), recipe.child_rows, output.stat().st_size,
                                   checksum, True)
    emit(state, payload, lambda c: c.print(f"rebuilt {table} from {recipe.parent}: {recipe.child_rows:,} rows, "
                                           f"{human_bytes(payload.bytes)} at {output}; row checksum {checksum} verified"))


COMMANDS: list[click.Command] = [plan_command, mark_command, verify_command, rebuild_command]
