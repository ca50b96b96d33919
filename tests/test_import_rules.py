"""The codebase's import rules, checked on the source (every import statement, lazy ones included):

* only ``lakeshrink/spark_ext/`` imports pyspark or ``lakeshrink.spark_ext`` (the engine finds Spark code by
  dotted paths, imported when a Spark engine is asked for);
* no lakeshrink module imports another in a cycle (imports under ``if TYPE_CHECKING:`` do not count: they never
  run);
* containment's layers: the scan never imports the planner, the planner reads the scan only through the package
  ``lakeshrink.containment.scan`` (its exported result type), the modules shared by both import neither;
* the demos sit above the capabilities: only ``lakeshrink.demos`` itself and the CLI import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lakeshrink"
SPARK_EXT = "lakeshrink.spark_ext"
SCAN = "lakeshrink.containment.scan"
PLANNER = "lakeshrink.containment.planner"
DEMOS = "lakeshrink.demos"


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module ``path`` imports (resolved to the most specific known lakeshrink module, or the top-level
    name for others), skipping ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> str:
        while target and target not in known and "." in target:
            target = target.rpartition(".")[0]
        return target

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(resolve(alias.name) if alias.name.startswith("lakeshrink") else alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("lakeshrink"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in known else resolve(base))
            else:
                found.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def test_only_spark_ext_imports_pyspark_or_spark_ext(graph):
    offenders = {
        name: sorted(t for t in targets if t.split(".")[0] == "pyspark" or t == SPARK_EXT or t.startswith(SPARK_EXT + "."))
        for name, targets in graph.items()
        if not (name == SPARK_EXT or name.startswith(SPARK_EXT + "."))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"only {SPARK_EXT} may import pyspark or {SPARK_EXT}: {offenders}"


def test_the_scan_never_imports_the_planner(graph):
    offenders = {n: sorted(t for t in ts if _under(t, PLANNER)) for n, ts in graph.items() if _under(n, SCAN)}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_planner_reads_the_scan_only_through_its_result_type(graph):
    offenders = {n: sorted(t for t in ts if _under(t, SCAN) and t != SCAN) for n, ts in graph.items()
                 if _under(n, PLANNER)}
    assert not {k: v for k, v in offenders.items() if v}, f"import the scan's result from {SCAN} only"


def test_containment_shared_modules_import_neither_side(graph):
    shared = [n for n in graph if _under(n, "lakeshrink.containment") and not (_under(n, SCAN) or _under(n, PLANNER))]
    assert "lakeshrink.containment.rowhash" in shared
    offenders = {n: sorted(t for t in graph[n] if _under(t, SCAN) or _under(t, PLANNER)) for n in shared}
    assert not {k: v for k, v in offenders.items() if v}


def test_capabilities_do_not_import_the_demos(graph):
    assert any(_under(t, DEMOS) for t in graph["lakeshrink.cli.demo"]), "the reader must see the CLI's demo import"
    offenders = {n: sorted(t for t in ts if _under(t, DEMOS)) for n, ts in graph.items()
                 if not (_under(n, DEMOS) or _under(n, "lakeshrink.cli"))}
    assert not {k: v for k, v in offenders.items() if v}, "only the demos and the CLI import lakeshrink.demos"


def test_jobs_do_not_import_spark_ext():
    """The spark-submit jobs ask the engine for ports, like the CLI."""
    for path in sorted((ROOT / "jobs").glob("*.py")):
        targets = imports_of(path, f"jobs.{path.stem}", set(_modules()))
        assert not [t for t in targets if t.startswith(SPARK_EXT) or t == "pyspark"], path.name


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return components


def test_no_import_cycles(graph):
    assert strongly_connected(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lakeshrink.x\n"
                      "def f():\n    from lakeshrink.spark_ext import engine\n    import pyspark.sql\n"
                      "from . import y\n", encoding="utf-8")
    known = {"lakeshrink.spark_ext", "lakeshrink.spark_ext.engine", "lakeshrink.x", "lakeshrink.pkg.y"}
    assert imports_of(source, "lakeshrink.pkg.mod", known) == {"typing", "lakeshrink.spark_ext.engine", "pyspark.sql",
                                                              "lakeshrink.pkg.y"}
