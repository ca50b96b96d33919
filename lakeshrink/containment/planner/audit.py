"""Audit: rebuild each table from its recipe and validate it against the original with Great Expectations.

Before the planner marks a table, it rebuilds the table from its recipe and checks the rebuild against the
table as it is stored. The expectation suite is derived from the original (computed with pandas, as GX computes
its metrics) and run on the rebuild:

* row count (``ExpectTableRowCountToEqual``) and the column list (``ExpectTableColumnsToMatchOrderedList``);
* per column, the share of non-null values (``ExpectColumnProportionOfNonNullValuesToBeBetween`` with equal
  bounds: with the row count, that is the null count), the number of distinct values
  (``ExpectColumnUniqueValueCountToBeBetween``), and for numeric, date and time columns min and max
  (``ExpectColumnMin/MaxToBeBetween``);
* the order-independent row checksum of :mod:`lakeshrink.containment.rowhash`: the rebuild carries a column
  holding its checksum, expected to equal the recipe's (``ExpectColumnDistinctValuesToEqualSet``).

Each table's validation result is written as JSON (``audit/<table>.json``; ``format`` ``"lakeshrink-audit"``,
``version`` 1, ``table``, ``success``, ``tool``, and GX's ``validation`` results or the ``checks``); the plan's
report (``report.html``) shows every expectation of every table, offline. GX's own HTML data docs (which load
outside URLs) are built under ``audit/data_docs/`` only when asked (``--gx-data-docs``). A table whose validation
fails is not marked.

Great Expectations is an optional extra (``pip install 'lakeshrink[gx]'``), imported only when an audit runs.
Without it, :class:`ChecksumAuditor` checks the row count and row checksum alone (``--no-gx`` on the command line).
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakeshrink.containment.planner import recipes
from lakeshrink.containment.rowhash import table_checksum
from lakeshrink.errors import LakeshrinkError
from lakeshrink.serde import write_json

GX_HINT = "pip install 'lakeshrink[gx]'"
CHECKSUM_COLUMN = "__lakeshrink_row_checksum__"
_log = logging.getLogger(__name__)


class AuditUnavailable(LakeshrinkError, RuntimeError):
    """Great Expectations is needed for the audit but is not installed."""


@dataclass(frozen=True)
class AuditCheck:
    expectation: str
    column: str | None
    expected: Any
    observed: Any
    success: bool


@dataclass(frozen=True)
class AuditResult:
    """The audit of one rebuild: passed or not, why not, and where its results are (relative to the plan)."""

    table: str
    success: bool
    tool: str
    checks: tuple[AuditCheck, ...]
    reason: str = ""
    result_json: str | None = None

    @property
    def failed(self) -> tuple[AuditCheck, ...]:
        return tuple(c for c in self.checks if not c.success)


def slug(table_id: str) -> str:
    """A file-name-safe form of a table id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", table_id).strip("._") or "table"


AUDIT_FORMAT = "lakeshrink-audit"
AUDIT_VERSION = 1


def _write_result(path: Path, table: str, success: bool, tool: str, details: dict[str, Any]) -> None:
    """One audit result file: ``{"format": "lakeshrink-audit", "version": 1, "table", "success", "tool", ...}``
    with ``checks`` (checksum audit) or ``validation`` (GX's validation results, as GX writes them)."""
    write_json({"format": AUDIT_FORMAT, "version": AUDIT_VERSION, "table": table, "success": success, "tool": tool, **details}, path)


def require_gx() -> Any:
    """The ``great_expectations`` module, or :class:`AuditUnavailable` naming the extra to install."""
    try:
        import great_expectations as gx
    except ImportError as exc:
        raise AuditUnavailable(f"the audit needs Great Expectations, which is not installed ({exc.name or exc})",
                               hint=f"{GX_HINT}, or plan with --no-gx for a checksum-only audit") from exc
    return gx


def _failure_reason(checks: tuple[AuditCheck, ...]) -> str:
    failed = [c for c in checks if not c.success]
    if not failed:
        return ""
    parts = [f"{c.expectation}{'(' + c.column + ')' if c.column else ''}: expected {c.expected!r}, found {c.observed!r}" for c in failed[:3]]
    return f"audit failed ({len(failed)} of {len(checks)} expectations): " + "; ".join(parts)


class ChecksumAuditor:
    """The audit without Great Expectations: row count and row checksum only."""

    tool = "checksum"

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)

    def __enter__(self) -> ChecksumAuditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release."""

    def page(self, name: str) -> str | None:
        """No data docs without Great Expectations."""
        return None

    def validate(self, recipe: recipes.Recipe, original: pa.Table, rebuilt: pa.Table, name: str) -> AuditResult:
        got = table_checksum(rebuilt)
        checks = (
            AuditCheck("row_count", None, original.num_rows, rebuilt.num_rows, original.num_rows == rebuilt.num_rows),
            AuditCheck("row_checksum", None, recipe.row_checksum, got, got == recipe.row_checksum),
        )
        result = AuditResult(recipe.child, all(c.success for c in checks), self.tool, checks, _failure_reason(checks),
                             result_json=f"audit/{name}.json")
        _write_result(self.out_dir / f"{name}.json", recipe.child, result.success, self.tool, {"checks": result.checks})
        return result


def _plain(value: Any) -> Any:
    """A pandas/numpy value as a plain Python value GX accepts as an expectation bound."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _minmax_kind(type_: pa.DataType) -> bool:
    return (pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_date(type_)
            or (pa.types.is_timestamp(type_) and type_.tz is None))


class GxAuditor:
    """Validates rebuilds with Great Expectations; one ephemeral context and one data docs site per plan."""

    tool = "great_expectations"

    def __init__(self, out_dir: Path, *, data_docs: bool = False):
        gx = require_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.out_dir = Path(out_dir).resolve()
        self.docs_dir = self.out_dir / "data_docs"
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site in list(self.context.get_site_names()):
            self.context.delete_data_docs_site(site)
        self.data_docs = data_docs
        if data_docs:
            self.context.add_data_docs_site(
                site_name="lakeshrink",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self.source = self.context.data_sources.add_pandas("lakeshrink_rebuilds")
        self._validated = 0
        self._built = False

    def __enter__(self) -> GxAuditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Build the data docs once, for every validation run (the context itself is in memory)."""
        if self.data_docs and self._validated and not self._built:
            self._built = True
            try:
                self.context.build_data_docs()
            except Exception as exc:  # noqa: BLE001 - the JSON results stand; only the HTML view is missing
                _log.warning("Great Expectations could not build the data docs: %s", exc)

    def page(self, name: str) -> str | None:
        """The data docs page of validation ``name`` (relative to the plan directory), once :meth:`close` ran."""
        gx_name = re.sub(r"[^A-Za-z0-9_-]", "_", name)
        found = sorted((self.docs_dir / "validations" / f"rebuild-{gx_name}").rglob("*.html"))
        return str(found[0].relative_to(self.out_dir.parent)) if found else None

    def _suite(self, name: str, original: pa.Table, recipe: recipes.Recipe) -> Any:
        E = self._gx.expectations
        frame = original.to_pandas()
        n = len(frame)
        expectations: list[Any] = [
            E.ExpectTableRowCountToEqual(value=n),
            E.ExpectTableColumnsToMatchOrderedList(column_list=[*original.column_names, CHECKSUM_COLUMN]),
        ]
        if not n:  # an empty table: no row carries a checksum and no column has values; count and columns decide
            return self.context.suites.add(self._gx.ExpectationSuite(name=f"rebuild-{name}", expectations=expectations))
        expectations.append(E.ExpectColumnDistinctValuesToEqualSet(column=CHECKSUM_COLUMN, value_set=[recipe.row_checksum]))
        for field in original.schema:
            col = frame[field.name]
            if n:
                share = float(col.notna().sum()) / n
                expectations.append(E.ExpectColumnProportionOfNonNullValuesToBeBetween(column=field.name, min_value=share, max_value=share))
            try:
                distinct = int(col.nunique(dropna=True))
            except TypeError:  # unhashable values (lists, maps): the checksum covers them
                distinct = None
            if distinct is not None:
                expectations.append(E.ExpectColumnUniqueValueCountToBeBetween(column=field.name, min_value=distinct, max_value=distinct))
            if _minmax_kind(field.type) and col.notna().any():
                for cls, value in ((E.ExpectColumnMinToBeBetween, col.min()), (E.ExpectColumnMaxToBeBetween, col.max())):
                    value = _plain(value)
                    if value is None:
                        continue
                    if isinstance(value, datetime.datetime) and pa.types.is_date(field.type):
                        value = value.date()
                    try:
                        expectations.append(cls(column=field.name, min_value=value, max_value=value))
                    except Exception as exc:  # noqa: BLE001 - GX rejects some bound types; the checksum covers them
                        _log.info("no %s expectation on %s: %s", cls.__name__, field.name, exc)
        # the whole suite at once: add_expectation re-serialises the stored suite on every call
        return self.context.suites.add(self._gx.ExpectationSuite(name=f"rebuild-{name}", expectations=expectations))

    def validate(self, recipe: recipes.Recipe, original: pa.Table, rebuilt: pa.Table, name: str) -> AuditResult:
        """Validate ``rebuilt`` against ``original`` and write the results; ``name`` is the file-safe table name."""
        gx = self._gx
        file_name, name = name, re.sub(r"[^A-Za-z0-9_-]", "_", name)  # GX turns dots into directories
        suite = self._suite(name, original, recipe)
        frame = rebuilt.to_pandas()
        frame[CHECKSUM_COLUMN] = table_checksum(rebuilt)
        asset = self.source.add_dataframe_asset(name=name)
        batch = asset.add_batch_definition_whole_dataframe(f"{name}-rebuilt")
        definition = self.context.validation_definitions.add(gx.ValidationDefinition(name=f"validate-{name}", data=batch, suite=suite))
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=f"audit-{name}", validation_definitions=[definition], actions=[], result_format="SUMMARY",
        ))  # data docs are built once, in close(): building them per run costs O(tables) each time
        try:
            run = checkpoint.run(batch_parameters={"dataframe": frame})
        except Exception as exc:  # noqa: BLE001 - any GX failure fails the audit: the table is not marked
            return AuditResult(recipe.child, False, self.tool, (), f"audit failed: Great Expectations raised {exc!r}")
        payload = [r.to_json_dict() for r in run.run_results.values()]
        checks: list[AuditCheck] = []
        for result in payload[0]["results"] if payload else []:
            config = result["expectation_config"]
            kwargs = config.get("kwargs", {})
            expected = kwargs.get("value", kwargs.get("value_set", kwargs.get("column_list", kwargs.get("min_value"))))
            observed = result.get("result", {}).get("observed_value")
            checks.append(AuditCheck(config["type"], kwargs.get("column"), expected, _plain(observed), bool(result["success"])))
        _write_result(self.out_dir / f"{file_name}.json", recipe.child, bool(run.success), self.tool, {"validation": payload})
        self._validated += 1
        checks_t = tuple(checks)
        success = bool(run.success) and bool(checks_t)
        return AuditResult(
            recipe.child, success, self.tool, checks_t,
            _failure_reason(checks_t) or ("" if success else "audit failed: GX reported no results"),
            result_json=f"audit/{file_name}.json",
        )


def make_auditor(out_dir: Path, *, gx: bool = True, data_docs: bool = False) -> GxAuditor | ChecksumAuditor:
    """The auditor for a plan: Great Expectations (default) or checksum-only.

    GX's own HTML data docs load styles and scripts from outside URLs and render unstyled offline, so they are
    built only when asked (``data_docs``); the plan's report shows every expectation's result itself.
    """
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return GxAuditor(out_dir, data_docs=data_docs) if gx else ChecksumAuditor(out_dir)


def audit_recipe(auditor: GxAuditor | ChecksumAuditor, recipe: recipes.Recipe, root: str, name: str,
                 cache: dict[str, pa.Table] | None = None) -> AuditResult:
    """Rebuild ``recipe``'s table from the lake at ``root`` and validate it against the stored table.

    A rebuild that cannot be made (parent changed, bad selector) fails the audit with that reason. ``cache``
    keeps the last parent read (audit a parent's children one after another to read it once).
    """
    try:
        lake, child_ref = recipes.open_table(root, recipe.child)
        key = f"{recipe.parent}\0{recipe.parent_state.delta_version}\0{recipe.parent_state.snapshot_id}"
        parent = cache.get(key) if cache is not None else None
        if parent is None:
            _, parent_ref = recipes.open_table(root, recipe.parent)
            parent = recipes.read_parent(lake, parent_ref, recipe.parent_state)
            if cache is not None:
                cache.clear()
                cache[key] = parent
        rebuilt = recipes.apply_recipe(recipe, parent)
        original = lake.read(child_ref)
    except (LakeshrinkError, OSError, pa.ArrowException) as exc:
        return AuditResult(recipe.child, False, auditor.tool, (), f"rebuild failed: {exc}")
    return auditor.validate(recipe, original, rebuilt, name)
