"""Side virtualenvs for what cannot share the test environment (Airflow, old Spark, old DuckDB), built once, reused.

Two kinds, one builder, both cached under ``${XDG_CACHE_HOME:-~/.cache}/lakeshrink/venvs/``:

* :func:`side_venv` (Airflow): ``<name>-<key>``, where the key hashes what was asked for (the requirements and the
  parts of pyproject.toml that shape the install), so a change rebuilds it and an unchanged request reuses it
  across runs and checkouts. Marker: ``complete`` (the build's seconds). A failed build fails the test.
* :func:`side_python` (pinned readers: ``duckdb-1.1.3``, ``pyspark-3.5.9``): ``<name>``, marker ``.complete``
  holding the requirements it was built with (a different request rebuilds it). A failed build skips the test
  with the reason (e.g. no package index).

Those are the layouts earlier versions of this file and of ``tests/_sidevenv.py`` (merged here) wrote, so venvs
already cached are reused as they are. A venv is built in a temporary folder and renamed into place when
complete, under a file lock, so concurrent pytest runs build it once and an interrupted build is redone. The
checkout's own code is put first on ``PYTHONPATH`` when a venv is used, so a cached venv runs the code under test.

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
BUILD_TIMEOUT = 3600


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lakeshrink" / "venvs"


def side_venv(name: str, requirements: list[str], key_parts: list[str]) -> tuple[Path, float]:
    """The venv ``<name>-<key>`` (built now if missing) and the seconds this call spent building it (0: cached)."""
    key = hashlib.sha256("\n".join([sys.platform, *requirements, *key_parts]).encode()).hexdigest()[:12]
    return _ensure(f"{name}-{key}", requirements, marker="complete", wanted=None, skip_on_failure=False)


def side_python(name: str, requirements: list[str]) -> Path:
    """The Python of the side venv ``name`` holding ``requirements``, built on first use; skips if it cannot be."""
    venv, _ = _ensure(name, requirements, marker=".complete", wanted="\n".join(requirements), skip_on_failure=True)
    return venv / "bin" / "python"


def _python() -> str:
    found = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)
    if found is None:
        pytest.skip("python3.11 is needed to build a side virtualenv")
    return found


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=BUILD_TIMEOUT)
    if proc.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"side venv build step failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def _is_complete(target: Path, marker: str, wanted: str | None) -> bool:
    done = target / marker
    if not done.is_file() or not (target / "bin" / "python").exists():
        return False
    return wanted is None or done.read_text() == wanted


def _ensure(dirname: str, requirements: list[str], *, marker: str, wanted: str | None,
            skip_on_failure: bool) -> tuple[Path, float]:
    """The venv ``dirname`` under the cache, built (under a lock) unless its ``marker`` says it is complete."""
    if os.environ.get(SKIP_ENV):
        pytest.skip(f"{SKIP_ENV} is set: side virtualenvs are not built")
    root = cache_root()
    target = root / dirname
    if _is_complete(target, marker, wanted):
        return target, 0.0
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{dirname}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_complete(target, marker, wanted):  # built by another run while this one waited
            return target, 0.0
        start = time.perf_counter()
        building = root / f".{dirname}.building"
        log = root / f"{dirname}.log"
        try:
            _build(building, requirements, log)
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            shutil.rmtree(building, ignore_errors=True)
            if skip_on_failure:
                last = (str(exc).strip().splitlines() or ["build failed"])[-1]
                pytest.skip(f"could not build the side virtualenv {dirname} ({' '.join(requirements)}; is the "
                            f"package index reachable?): {last}")
            raise
        seconds = time.perf_counter() - start
        (building / marker).write_text(wanted if wanted is not None else f"{seconds:.1f}\n")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
        _repoint_scripts(building, target)
        return target, seconds


def _build(building: Path, requirements: list[str], log: Path) -> None:
    shutil.rmtree(building, ignore_errors=True)
    log.write_text("")
    _run([_python(), "-m", "venv", str(building)], log)
    py = str(building / "bin" / "python")
    try:
        _run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "uv"], log)
        _run([str(building / "bin" / "uv"), "pip", "install", "--compile-bytecode", "--python", py, *requirements],
             log, {**os.environ, "UV_NATIVE_TLS": "1"})
    except RuntimeError:
        _run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements], log)


def _repoint_scripts(building: Path, target: Path) -> None:
    """A venv's scripts name their interpreter by absolute path: point them at the final folder."""
    for script in (target / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(b"#!") and str(building).encode() in data[:512]:
                script.write_bytes(data.replace(str(building).encode(), str(target).encode(), 1))
