"""The documentation site: ``mkdocs build --strict`` passes, and every code block of its pages runs.

A fenced block in ``python``, ``console``, ``bash`` or ``sh`` is code; it runs unless the line just before it is
``<!-- not-run: why -->``. Blocks of a page run in order in one scratch folder (the page's Python blocks share one
namespace), so a page can build on what an earlier block wrote; ``console`` blocks run their ``$ `` lines.
``lakeshrink``, the job entry points and ``python`` run this checkout's code with this interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CODE = ("python", "console", "bash", "sh")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not-run:\s*\S.*?-->\s*$")
JOBS = {"lakeshrink-compress-logs": "compress_logs", "lakeshrink-rewrite-parquet": "rewrite_parquet",
        "lakeshrink-find-redundant-tables": "find_redundant_tables", "lakeshrink-plan-deletions": "plan_deletions"}


def code_blocks(path: Path) -> list[tuple[int, str, str, bool]]:
    """(line, language, code, runnable) of each code block of a page."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang = m.group(1)
        if lang not in CODE:
            continue
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        out.append((text[:m.start()].count("\n") + 1, lang, m.group(2), not NOT_RUN.search(before)))
    return out


PAGES = sorted(p for p in DOCS.rglob("*.md") if any(b[3] for b in code_blocks(p)))


def _shims(bin_dir: Path) -> dict[str, str]:
    bin_dir.mkdir()
    scripts = {"python": f'exec "{sys.executable}" "$@"', "lakeshrink": f'exec "{sys.executable}" -m lakeshrink "$@"'}
    for name, job in JOBS.items():
        scripts[name] = f'exec "{sys.executable}" -c "from lakeshrink.jobs import run_job; run_job(\'{job}\')" "$@"'
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("SPARK_REMOTE", None)
    return env


def test_every_code_block_is_run_or_marked():
    """A block that cannot run says why; the marker must be right above it (nothing is skipped silently)."""
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"<!--\s*not-run", text):
            after = text[m.end():].split("\n", 1)[1] if "\n" in text[m.end():] else ""
            assert after.startswith("```"), f"{page.name}: a not-run marker is not right above a code block"
    assert PAGES, "no page has a runnable code block"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch):
    env = _shims(tmp_path / "bin")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for line, lang, code, runnable in code_blocks(page):
        if not runnable:
            continue
        where = f"{page.relative_to(ROOT)}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
            continue
        commands = [c[2:] for c in code.splitlines() if c.startswith("$ ")] if lang == "console" else [code]
        for command in commands:
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{where}: {command!r} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path):
    pytest.importorskip("mkdocs", reason="pip install '.[docs]' (part of '.[test]')")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cli_page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("compress", "rewrite", "scan", "plan", "mark", "report"):
        assert f">{command}<" in cli_page or f"{command}</" in cli_page, f"the CLI reference misses {command}"
    assert "logs_compress" in (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
