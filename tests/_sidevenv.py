"""Side virtualenvs for readers that cannot share the main venv (old Spark, old DuckDB), built by the tests.

Cached under ``${XDG_CACHE_HOME:-~/.cache}/lakeshrink/venvs/<name>``; a venv counts only once its ``.complete``
marker (holding the requirements it was built with) exists, so an interrupted build is redone. When the package
index cannot be reached the build fails and the caller skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

BUILD_TIMEOUT = 900


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lakeshrink" / "venvs"


def side_python(name: str, requirements: list[str]) -> Path:
    """The Python of the side venv ``name`` holding ``requirements``, built on first use; skips if it cannot be."""
    root = cache_root()
    target = root / name
    marker = target / ".complete"
    wanted = "\n".join(requirements)
    python = target / "bin" / "python"
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{name}.building-{uuid.uuid4().hex[:8]}"
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        subprocess.run([base, "-m", "venv", str(tmp)], check=True, capture_output=True, timeout=120)
        proc = subprocess.run([str(tmp / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               *requirements], capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"could not build the side virtualenv {name} ({' '.join(requirements)}): {exc}")
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        pytest.skip(f"could not build the side virtualenv {name} ({' '.join(requirements)}; is the package index "
                    f"reachable?): {last}")
    (tmp / ".complete").write_text(wanted)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return python
