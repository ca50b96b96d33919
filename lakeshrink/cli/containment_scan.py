"""``lakeshrink containment scan``: the R2D2 containment pipeline (a thin layer over
:func:`lakeshrink.containment.scan.scan_lake`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lakeshrink.cli._common import AliasOption, EngineChoice, emit, engine_options, human_bytes, open_engine, pass_state, styled
from lakeshrink.containment.scan.ports import CATALOG_READER
from lakeshrink.containment.scan.compare import TYPES_MODES
from lakeshrink.containment.lake import read_tables_file
from lakeshrink.containment.scan import SCAN_FILE, ScanResult, scan_catalog, scan_lake
from lakeshrink.containment.scan.sketches import DEFAULT_K
from lakeshrink.errors import InputError

SHOWN_EDGES = 30  # reduction edges listed in the text summary


def _render(result: ScanResult, out_dir: Path) -> callable:
    def render(console: Console) -> None:
        console.print(styled((str(result.tables), "bold"), f" tables in {result.lake} (types: {result.types}, engine: {result.engine})"))
        funnel = Table(title="candidate pairs")
        for column in ("stage", "pairs in", "pairs out", "seconds", "footer bytes", "data bytes"):
            funnel.add_column(column, justify="left" if column == "stage" else "right")
        for s in result.stages:
            funnel.add_row(s.name, f"{s.pairs_in:,}", f"{s.pairs_out:,}", f"{s.seconds:.2f}", human_bytes(s.footer_bytes), human_bytes(s.data_bytes))
        console.print(funnel)
        console.print(
            f"{len(result.edges)} contained pairs, {len(result.reduction)} after transitive reduction; "
            f"{len(result.contained_tables)} tables contained in another, holding {human_bytes(result.contained_bytes)} "
            f"({human_bytes(result.removable_bytes)} removable, keeping one table of each group of equal tables)"
        )
        for edge in result.reduction[:SHOWN_EDGES]:
            console.print(f"  {edge.child}  ⊆  {edge.parent}")
        if len(result.reduction) > SHOWN_EDGES:
            console.print(f"  ... and {len(result.reduction) - SHOWN_EDGES} more (all in {out_dir / SCAN_FILE})")
        for s in result.skipped:
            console.print(styled(("skipped", "yellow"), f" {s.table}: {s.reason}"))
        console.print(f"written: {out_dir / SCAN_FILE}")

    return render


@click.command("scan")
@click.argument("lake", required=False)
@click.option("-o", "--output", "--out", "out_dir", cls=AliasOption, hidden_aliases=("--out",), required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory (containment.json, edges.parquet).")
@click.option("--types", type=click.Choice(TYPES_MODES), default="exact", show_default=True, help="exact: same Arrow type; compatible: int32/int64, float32/float64, string/large_string/dictionary alike.")
@click.option("--tables", "tables_file", type=click.Path(dir_okay=False, path_type=Path), help="File listing the tables to scan, one path per line.")
@click.option("--catalog", "catalog", metavar="DB", help="With --engine spark: scan the tables of this catalog database (LAKE not needed).")
@click.option("--iceberg-catalog", metavar="NAME", help="A pyiceberg catalog (~/.pyiceberg.yaml or PYICEBERG_CATALOG__NAME__*) whose tables' current metadata is used for Iceberg tables under LAKE.")
@click.option("--sketch-k", default=DEFAULT_K, show_default=True, type=click.IntRange(min=1), help="Bottom-k sketch size of stage 3.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), help="Keep fingerprints, footers and edges here between scans: a re-scan reads only the tables that changed.")
@engine_options
@pass_state
def scan(state, lake: str | None, out_dir: Path, types: str, tables_file: Path | None, catalog: str | None,
         iceberg_catalog: str | None, sketch_k: int, cache_dir: Path | None, engine: EngineChoice) -> None:
    """Find tables of LAKE contained in other tables (schema graph, min-max, sketches, exact verification).

    LAKE is a local path or a URI (s3://, gs://, hdfs://, file://). A table is contained in another when all of
    its columns are columns of the other and all of its rows are rows of the other's projection. Delta and
    Iceberg tables are read at their current version or snapshot, deletes applied; Hudi tables are skipped.
    """
    if (lake is None) == (catalog is None):
        raise click.UsageError("give a LAKE path, or --catalog DB with --engine spark (not both)")
    tables = read_tables_file(tables_file) if tables_file is not None else None
    with open_engine(engine) as eng:
        if catalog is not None:
            if not eng.has_port(CATALOG_READER):
                raise click.UsageError(f"--catalog needs an engine with a catalog (--engine spark), not {eng.name}")
            result = scan_catalog(catalog, engine=eng, types=types, k=sketch_k, cache=cache_dir)
        else:
            if tables is not None and not tables:
                raise InputError("the tables file lists no tables", path=tables_file)
            result = scan_lake(lake, engine=eng, types=types, tables=tables, k=sketch_k,  # type: ignore[arg-type]
                               iceberg_catalog=iceberg_catalog, cache=cache_dir)
    result.save(out_dir)
    emit(state, result, _render(result, out_dir))


COMMANDS: list[click.Command] = [scan]
