"""The planner's cost model: what storage costs, what a rebuild costs, how long a rebuild takes.

R2D2 (Brucato, Abouzied, Meliou et al., "R2D2: Reducing Redundancy and Duplication in Data Lakes", SIGMOD 2023)
chooses which contained tables to delete by weighing the storage a deletion saves against what rebuilding the
table from its parent would cost when it is read again. lakeshrink prices both per month:

* storage of table t: ``bytes_t / 1e9 * price_per_gb_month``;
* rebuild of t from parent p: ``reads_per_month_t * seconds(t from p) / 3600 * compute_per_hour``, where
  ``seconds(t from p) = overhead_seconds + bytes_p / throughput`` and ``throughput`` is the engine's measured
  read-and-write rate in bytes per second (:func:`measure_throughput`), unless the costs file fixes it.

A marked table must be rebuildable within its bound: ``seconds(t from p) <= max_rebuild_seconds_t``.

Files (both optional):

* costs, JSON object or two-column CSV ``key,value``: ``price_per_gb_month`` (default 0.023, S3 Standard),
  ``compute_per_hour`` (default 0.192, one 4-vCPU on-demand machine), ``overhead_seconds`` (default 1.0),
  ``throughput_mb_per_s`` (default: measured), ``currency`` (default USD);
* access, CSV with a header ``table,reads_per_month,max_rebuild_seconds`` (empty cell: default), or JSON, either a
  list of such objects or ``{"defaults": {...}, "tables": [...]}``. Defaults: 1 read per month, 3600 s.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lakeshrink.containment.lake import Lake, discover
from lakeshrink.engine import Engine
from lakeshrink.errors import InputError

DEFAULT_READS_PER_MONTH = 1.0
DEFAULT_MAX_REBUILD_SECONDS = 3600.0
_MEASURE_CAP_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class CostModel:
    """Prices and rates the planner uses. ``throughput_bytes_per_s`` None means "measure it"."""

    price_per_gb_month: float = 0.023
    compute_per_hour: float = 0.192
    overhead_seconds: float = 1.0
    throughput_bytes_per_s: float | None = None
    currency: str = "USD"
    throughput_source: str = "unset"

    def __post_init__(self) -> None:
        for name in ("price_per_gb_month", "compute_per_hour", "overhead_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.throughput_bytes_per_s is not None and not (self.throughput_bytes_per_s > 0):
            raise InputError(f"throughput must be > 0 bytes/s, got {self.throughput_bytes_per_s!r}")

    def storage_cost(self, nbytes: float) -> float:
        """Cost per month of keeping ``nbytes``."""
        return nbytes / 1e9 * self.price_per_gb_month

    def rebuild_seconds(self, parent_bytes: float) -> float:
        """Estimated seconds to rebuild a table from a parent of ``parent_bytes``."""
        if self.throughput_bytes_per_s is None:
            raise InputError("the cost model has no throughput: measure it or set throughput_mb_per_s")
        return self.overhead_seconds + parent_bytes / self.throughput_bytes_per_s

    def rebuild_cost(self, parent_bytes: float, reads_per_month: float) -> float:
        """Expected cost per month of rebuilding a table ``reads_per_month`` times from a parent."""
        return reads_per_month * self.rebuild_seconds(parent_bytes) / 3600.0 * self.compute_per_hour


@dataclass(frozen=True)
class TableAccess:
    """How often a table is read and how long its rebuild may take."""

    table: str
    reads_per_month: float = DEFAULT_READS_PER_MONTH
    max_rebuild_seconds: float = DEFAULT_MAX_REBUILD_SECONDS
    keep: bool = False  # protected: never marked, whatever it would save


@dataclass(frozen=True)
class AccessProfile:
    """Per-table access figures, with defaults for tables not listed."""

    tables: tuple[TableAccess, ...] = ()
    default_reads_per_month: float = DEFAULT_READS_PER_MONTH
    default_max_rebuild_seconds: float = DEFAULT_MAX_REBUILD_SECONDS
    _index: dict[str, TableAccess] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t.table: t for t in self.tables})

    def get(self, table: str) -> TableAccess:
        found = self._index.get(table)
        if found is not None:
            return found
        return TableAccess(table, self.default_reads_per_month, self.default_max_rebuild_seconds)

    def unknown(self, known: set[str]) -> list[str]:
        """Tables named in the profile that are not in ``known``."""
        return sorted(t for t in self._index if t not in known)


def _number(value: Any, what: str, path: Path, *, positive: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected a number, found {value!r}", path=path) from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise InputError(f"{what}: expected a finite number {'>' if positive else '>='} 0, found {value!r}", path=path)
    return number


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the {what} file: {exc.strerror or exc}", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} file is not UTF-8 text", path=path) from exc


def _parse_json(text: str, path: Path, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the {what} file is not valid JSON: {exc}", path=path) from exc


def load_costs(path: str | Path | None) -> CostModel:
    """The cost model from a JSON or ``key,value`` CSV file; defaults when ``path`` is None."""
    if path is None:
        return CostModel()
    path = Path(path)
    text = _read_text(path, "costs")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        raw = _parse_json(text, path, "costs")
        if not isinstance(raw, dict):
            raise InputError("the costs file must hold a JSON object", path=path)
    else:
        rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
        if rows and rows[0][:2] == ["key", "value"]:
            rows = rows[1:]
        bad = [i for i, r in enumerate(rows, 1) if len(r) != 2]
        if bad:
            raise InputError(f"costs CSV rows must be 'key,value' (row {bad[0]} is not)", path=path)
        raw = {k.strip(): v.strip() for k, v in rows}
    known = {f.name for f in fields(CostModel)} - {"throughput_bytes_per_s", "throughput_source"} | {"throughput_mb_per_s"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"unknown costs setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", path=path)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "currency":
            values[key] = str(value)
        elif key == "throughput_mb_per_s":
            values["throughput_bytes_per_s"] = _number(value, key, path, positive=True) * 1e6
            values["throughput_source"] = "configured"
        else:
            values[key] = _number(value, key, path)
    return CostModel(**values)


def _access_entry(raw: dict[str, Any], where: str, path: Path, defaults: tuple[float, float]) -> TableAccess:
    table = raw.get("table")
    if not isinstance(table, str) or not table.strip():
        raise InputError(f"{where}: missing the table id", path=path)

    def get(key: str, default: float) -> float:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        return _number(value, f"{where}: {key}", path)

    keep = raw.get("keep")
    if isinstance(keep, str):
        word = keep.strip().lower()
        if word not in ("", "true", "false", "yes", "no", "1", "0"):
            raise InputError(f"{where}: keep must be true or false, found {keep!r}", path=path)
        keep = word in ("true", "yes", "1")
    elif keep is not None and not isinstance(keep, bool):
        raise InputError(f"{where}: keep must be true or false, found {keep!r}", path=path)
    return TableAccess(table.strip(), get("reads_per_month", defaults[0]), get("max_rebuild_seconds", defaults[1]),
                       bool(keep))


def load_access(path: str | Path | None) -> AccessProfile:
    """Access counts and latency bounds from a CSV or JSON file; defaults for every table when None."""
    if path is None:
        return AccessProfile()
    path = Path(path)
    text = _read_text(path, "access")
    defaults = (DEFAULT_READS_PER_MONTH, DEFAULT_MAX_REBUILD_SECONDS)
    entries: list[TableAccess] = []
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
        raw = _parse_json(text, path, "access")
        items = raw
        if isinstance(raw, dict):
            d = raw.get("defaults") or {}
            if not isinstance(d, dict):
                raise InputError("access 'defaults' must be an object", path=path)
            defaults = (
                _number(d.get("reads_per_month", defaults[0]), "defaults.reads_per_month", path),
                _number(d.get("max_rebuild_seconds", defaults[1]), "defaults.max_rebuild_seconds", path),
            )
            items = raw.get("tables", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InputError("access JSON must be a list of objects or {'defaults': {...}, 'tables': [...]}", path=path)
        entries = [_access_entry(item, f"entry {i}", path, defaults) for i, item in enumerate(items, 1)]
    else:
        reader = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
        if reader.fieldnames is None or "table" not in reader.fieldnames:
            raise InputError("access CSV needs a header 'table,reads_per_month,max_rebuild_seconds'", path=path)
        extra = set(reader.fieldnames) - {"table", "reads_per_month", "max_rebuild_seconds", "keep"}
        if extra:
            raise InputError(f"unknown access column(s) {', '.join(sorted(extra))}", path=path)
        entries = [_access_entry(row, f"line {i}", path, defaults) for i, row in enumerate(reader, 2)]
    seen: set[str] = set()
    for e in entries:
        if e.table in seen:
            raise InputError(f"table {e.table!r} is listed twice", path=path)
        seen.add(e.table)
    return AccessProfile(tuple(entries), *defaults)


@dataclass(frozen=True)
class ThroughputMeasurement:
    """A timed read of one table and write of its rows as Parquet: ``bytes / seconds`` of the stored table."""

    table: str
    bytes: int
    seconds: float
    bytes_per_s: float


def _measure_one(args: tuple[str, str, int]) -> tuple[str, int, float]:
    """Read table ``args[1]`` of lake ``args[0]`` and write it back as Parquet (best of ``args[2]`` runs)."""
    root, table_id, repeats = args
    lake = discover(root, tables=[table_id])
    ref = lake.table(table_id)
    best = math.inf
    with tempfile.TemporaryDirectory(prefix="lakeshrink-throughput-") as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            table = lake.read(ref)
            pq.write_table(table, Path(tmp) / "t.parquet")
            best = min(best, time.perf_counter() - start)
    return table_id, ref.bytes, best


def measure_throughput(lake: Lake, engine: Engine | None = None, *, repeats: int = 3, root: str | None = None) -> ThroughputMeasurement:
    """The engine's rebuild rate in bytes/s, timed on the lake's largest table of at most 256 MiB.

    The measured task runs through ``engine.map`` so it runs where rebuilds would (an executor on Spark);
    ``root`` is the lake root as the task should open it (a URI for remote lakes; default ``lake.root``).
    """
    candidates = [t for t in lake.tables if 0 < t.bytes <= _MEASURE_CAP_BYTES] or sorted(lake.tables, key=lambda t: t.bytes)[:1]
    if not candidates:
        raise InputError("the lake has no table to measure the throughput on", path=lake.root)
    ref = max(candidates, key=lambda t: t.bytes)
    run = engine.map if engine is not None else lambda fn, items, **_: [fn(i) for i in items]
    table_id, nbytes, seconds = run(_measure_one, [(root or lake.root, ref.id, repeats)], description="measuring throughput")[0]
    seconds = max(seconds, 1e-6)
    return ThroughputMeasurement(table_id, nbytes, seconds, nbytes / seconds)


def with_throughput(model: CostModel, measurement: ThroughputMeasurement) -> CostModel:
    """``model`` with a measured throughput, unless one was configured."""
    if model.throughput_bytes_per_s is not None:
        return model
    return replace(model, throughput_bytes_per_s=measurement.bytes_per_s, throughput_source=f"measured on {measurement.table}")
