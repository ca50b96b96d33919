"""``lakeshrink demo``: every capability that exists, run on the bundled sample data.

Each capability's demo is a module of this package with ``run(ctx: DemoContext) -> DemoReport`` (:mod:`.logs`,
:mod:`.encodings`, :mod:`.containment`, :mod:`.planner`); the registry below names the module. The demos sit
above the capabilities they run: a capability never imports a demo (``tests/test_import_rules.py``). A capability
whose module is not in this installation is listed as not available; figures are only ever measured, never made
up.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lakeshrink.engine import Engine
from lakeshrink.sample_data import bundled_dir


@dataclass(frozen=True)
class Capability:
    key: str
    title: str
    module: str


CAPABILITIES: tuple[Capability, ...] = (
    Capability("logs", "Log template compression", "lakeshrink.demos.logs"),
    Capability("encode", "Columnar encoding choices", "lakeshrink.demos.encodings"),
    Capability("containment", "Redundant-table containment", "lakeshrink.demos.containment"),
    Capability("planner", "Deletion plan for contained tables", "lakeshrink.demos.planner"),
)


@dataclass(frozen=True)
class DemoContext:
    """What a capability's demo gets: the bundled data, the engine, and a scratch directory it may write in."""

    data_dir: Path
    engine: Engine
    work_dir: Path

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"


@dataclass(frozen=True)
class DemoFigure:
    label: str
    value: int | float | str | bool
    unit: str = ""


@dataclass(frozen=True)
class DemoReport:
    """What one capability measured on the sample data. ``saved_bytes`` is what it would save."""

    input_bytes: int
    saved_bytes: int
    figures: tuple[DemoFigure, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoResult:
    key: str
    title: str
    available: bool
    seconds: float = 0.0
    report: DemoReport | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DataItem:
    path: str
    bytes: int


@dataclass(frozen=True)
class DemoSummary:
    data_dir: Path
    engine: dict
    data: tuple[DataItem, ...]
    capabilities: tuple[DemoResult, ...] = field(default_factory=tuple)

    @property
    def saved_bytes(self) -> int:
        return sum(c.report.saved_bytes for c in self.capabilities if c.report is not None)


def inventory(data_dir: Path) -> tuple[DataItem, ...]:
    return tuple(
        DataItem(str(p.relative_to(data_dir)), p.stat().st_size)
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and p.suffix in (".log", ".parquet")
    )


def _load(cap: Capability):
    """The capability's demo module, or None when it is not part of this installation."""
    try:
        return importlib.import_module(cap.module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if cap.module == missing or cap.module.startswith(missing + "."):
            return None
        raise


def run_demo(engine: Engine, *, data_dir: Path | None = None, only: tuple[str, ...] = ()) -> DemoSummary:
    """Run each available capability's demo on ``data_dir`` (default: the bundled data)."""
    data_dir = Path(data_dir) if data_dir is not None else bundled_dir()
    results = []
    with tempfile.TemporaryDirectory(prefix="lakeshrink-demo-") as scratch:
        for cap in CAPABILITIES:
            if only and cap.key not in only:
                continue
            module = _load(cap)
            if module is None:
                results.append(DemoResult(cap.key, cap.title, False, reason="not available yet in this version"))
                continue
            work = Path(scratch) / cap.key
            work.mkdir()
            start = time.perf_counter()
            report = module.run(DemoContext(data_dir=data_dir, engine=engine, work_dir=work))
            results.append(DemoResult(cap.key, cap.title, True, time.perf_counter() - start, report))
    return DemoSummary(data_dir, engine.describe(), inventory(data_dir), tuple(results))
