"""Search speed: ``lakeshrink logs grep`` on an archive against ``xz -dc FILE.xz | grep`` on the same log.

    python benchmarks/logs_search.py [--max-mb 16] [FILE ...]

For each log (default: the full Loghub Linux log and the PostgreSQL text log ``benchmarks/loggen.py`` writes,
cut to ``--max-mb`` MiB at a line boundary), the log is compressed once by each tool, then every query runs as a
child process and is timed by wall clock (best of ``--repeat`` runs), side by side with the equivalent
``xz -dc | grep -E`` pipeline (``grep -c`` for counts). Both must print the same number of lines; the load
average of the machine is printed beside each log (2 cores shared with other jobs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from logs_large import CACHE, child_env, cut, shared_data_dir, warm_bytecode  # noqa: E402  (benchmarks/ is not a package)

#: (name, lakeshrink grep arguments, the shell grep doing the same on the raw text) per kind of log.
QUERIES = {
    "Linux.log": [
        ("rare literal", ["-F", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=221.230.128.214"],
         "grep -F 'authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=221.230.128.214'"),
        ("common word", ["session opened"], "grep -E 'session opened'"),
        ("regex", ["rhost=[0-9]+\\.[0-9]+\\.[0-9]+\\.13[0-9]"], "grep -E 'rhost=[0-9]+\\.[0-9]+\\.[0-9]+\\.13[0-9]'"),
    ],
    "postgresql.log": [
        ("rare literal", ["-F", "checkpoint complete"], "grep -F 'checkpoint complete'"),
        ("common word", ["UPDATE pgbench_tellers"], "grep -E 'UPDATE pgbench_tellers'"),
        ("where duration>5", [".", "--where", "duration>5"], None),
    ],
}


def _time(cmd: list[str] | str, repeat: int) -> tuple[float, int]:
    best, lines = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, check=False, env=child_env())
        best = min(best, time.perf_counter() - start)
        if out.returncode not in (0, 1):
            raise RuntimeError(f"{cmd} failed: {out.stderr.decode(errors='replace')[-300:]}")
        lines = out.stdout.count(b"\n")
    return best, lines


def run(path: Path, max_mb: int, repeat: int, work: Path) -> None:
    src = cut(path, max_mb << 20, work)
    archive, xz = work / "a.lslog", work / f"{src.name}.xz"
    py = [sys.executable, "-m", "lakeshrink", "--no-progress"]
    subprocess.run(py + ["logs", "compress", str(src), "-o", str(archive), "--force"], check=True, capture_output=True)
    with open(xz, "wb") as fh:
        subprocess.run(["xz", "-9e", "-T1", "-c", str(src)], stdout=fh, check=True)
    print(f"\n{path.name}: {src.stat().st_size / 1e6:.1f} MB, load average {os.getloadavg()[0]:.1f}")
    print(f"  {'query':18s} {'lakeshrink s':>12s} {'xz|grep s':>10s} {'speed-up':>8s} {'lines':>7s}")
    for name, args, shell in QUERIES.get(path.name, QUERIES["postgresql.log"]):
        ours, n_ours = _time(py + ["logs", "grep", str(archive), *args], repeat)
        if shell is None:
            print(f"  {name:18s} {ours:12.2f} {'':>10s} {'':>8s} {n_ours:7d}")
            continue
        theirs, n_theirs = _time(f"xz -dc {xz} | {shell}", repeat)
        same = "" if n_ours == n_theirs else f"  (xz|grep: {n_theirs} lines)"
        print(f"  {name:18s} {ours:12.2f} {theirs:10.2f} {theirs / ours:7.2f}x {n_ours:7d}{same}")
    if src != path:
        src.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--max-mb", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    root = shared_data_dir()
    files = args.files or [p for p in ((root / "loghub-full" / "Linux.log") if root else None, CACHE / "postgresql.log")
                           if p is not None and p.exists()]
    warm_bytecode()
    with tempfile.TemporaryDirectory(prefix="lakeshrink-search-") as tmp:
        for path in files:
            run(path, args.max_mb, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
