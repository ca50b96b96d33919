"""Side virtualenvs for what cannot share the test environment (Airflow), built once and reused.

A side venv lives under ``${XDG_CACHE_HOME:-~/.cache}/lakeshrink/venvs/<name>-<key>``, where the key hashes what
was asked for (the requirements and the parts of pyproject.toml that shape the install), so a change rebuilds it
and an unchanged request reuses it across runs and checkouts. It is built in a temporary folder and renamed into
place when complete, under a file lock, so concurrent pytest runs build it once. The checkout's own code is put
first on ``PYTHONPATH`` when the venv is used, so a cached venv always runs the code under test.

``uv`` (installed from the package index into the venv first) does the resolution and downloads, several times
faster than pip on Airflow's ~250 packages; when it cannot be installed, pip does it.
Set ``LAKESHRINK_SKIP_SIDE_VENVS=1`` to skip the tests that need one (e.g. on a machine without the index).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_ENV = "LAKESHRINK_SKIP_SIDE_VENVS"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lakeshrink" / "venvs"


def _python() -> str:
    found = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)
    if found is None:
        pytest.skip("python3.11 is needed to build the side virtualenv")
    return found


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=3600)
    if proc.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"side venv build step failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def side_venv(name: str, requirements: list[str], key_parts: list[str]) -> tuple[Path, float]:
    """The venv (built now if missing) and the seconds this call spent building it (0 when it was cached)."""
    if os.environ.get(SKIP_ENV):
        pytest.skip(f"{SKIP_ENV} is set: side virtualenvs are not built")
    key = hashlib.sha256("\n".join([sys.platform, *requirements, *key_parts]).encode()).hexdigest()[:12]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{key}"
    with (root / f".{name}-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "complete").is_file():
            return target, 0.0
        start = time.perf_counter()
        building = root / f".{name}-{key}.building"
        shutil.rmtree(building, ignore_errors=True)
        log = root / f"{name}-{key}.log"
        log.write_text("")
        _run([_python(), "-m", "venv", str(building)], log)
        py = str(building / "bin" / "python")
        env = {**os.environ, "UV_NATIVE_TLS": "1"}
        try:
            _run([py, "-m", "pip", "install", "-q", "uv"], log)
            _run([str(building / "bin" / "uv"), "pip", "install", "--compile-bytecode", "--python", py, *requirements], log, env)
        except RuntimeError:
            _run([py, "-m", "pip", "install", "-q", *requirements], log)
        seconds = time.perf_counter() - start
        (building / "complete").write_text(f"{seconds:.1f}\n")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
        # a venv's scripts name their interpreter by absolute path: point them at the final folder
        for script in (target / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                data = script.read_bytes()
                if data.startswith(b"#!") and str(building).encode() in data[:512]:
                    script.write_bytes(data.replace(str(building).encode(), str(target).encode(), 1))
        return target, seconds
