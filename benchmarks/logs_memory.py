"""Peak memory of ``lakeshrink logs compress`` on a 1 GB input: the whole process tree (the parent and its
worker processes), sampled from /proc every 0.5 s, with each process's own peak; then the archive is
decompressed and its SHA-256 compared with the input's.

    python benchmarks/logs_memory.py [--copies 15] [--workers 2]

The input is ``--copies`` copies of the PostgreSQL text log ``benchmarks/loggen.py postgres`` writes
(``benchmarks/.cache/logs/postgresql.log``), concatenated into ``benchmarks/.cache/logs/pg-copies.log``. Run it
under the heavy lock: ``flock /work/coord/heavy.lock nice python benchmarks/logs_memory.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from logs_large import CACHE, child_env, warm_bytecode  # noqa: E402  (benchmarks/ is not a package)
from procmem import tree_rss_by_pid  # noqa: E402

MIB = 1 << 20


def make_input(copies: int) -> Path:
    src = CACHE / "postgresql.log"
    if not src.exists():
        sys.exit(f"{src} is missing: run benchmarks/loggen.py postgres first")
    target = CACHE / "pg-copies.log"
    want = src.stat().st_size * copies
    if not target.exists() or target.stat().st_size != want:
        data = src.read_bytes()
        with open(target, "wb") as out:
            for _ in range(copies):
                out.write(data)
    return target


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 * MIB):
            h.update(block)
    return h.hexdigest()


def run(cmd: list[str], env: dict[str, str], interval: float = 0.5) -> dict:
    """Wall and CPU seconds of ``cmd``, the peak RSS of its process tree and each process's own peak."""
    load = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_total, peaks, stop = [0], {}, threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            rss = tree_rss_by_pid(proc.pid) or {}
            peak_total[0] = max(peak_total[0], sum(rss.values()))
            for pid, value in rss.items():
                peaks[pid] = max(peaks.get(pid, 0), value)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    wall = time.perf_counter() - start
    out, err = proc.communicate()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode(errors='replace')[-1000:]}")
    parent = peaks.pop(proc.pid, 0)
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_tree_mib": round(max(peak_total[0] / MIB, usage.ru_maxrss / 1024), 1),
            "peak_parent_mib": round(parent / MIB, 1),
            "peak_children_mib": sorted((round(v / MIB, 1) for v in peaks.values()), reverse=True),
            "load_before": [round(x, 2) for x in load], "load_after": [round(x, 2) for x in os.getloadavg()],
            "stdout": out.decode(errors="replace").strip()[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the archive and the decompressed copy")
    args = parser.parse_args()
    src = make_input(args.copies)
    archive, back = src.with_suffix(".lslog"), src.with_suffix(".back")
    for p in (archive, back):
        p.unlink(missing_ok=True)
    warm_bytecode()
    env = {**child_env(), "LAKESHRINK_WORKERS": str(args.workers)}
    py = [sys.executable, "-m", "lakeshrink", "--no-progress", "logs"]
    print(f"input {src} {src.stat().st_size:,} bytes, {args.workers} workers", flush=True)
    comp = run(py + ["compress", str(src), "-o", str(archive)], env)
    comp["archive_bytes"] = archive.stat().st_size
    comp["ratio"] = round(src.stat().st_size / archive.stat().st_size, 2)
    print("compress", json.dumps(comp), flush=True)
    digest = sha256(src)
    decs = {}
    for label, workers in (("one process", "1"), ("default (worker per core)", None)):
        dec_env = {**env, "LAKESHRINK_WORKERS": workers} if workers else {k: v for k, v in env.items() if k != "LAKESHRINK_WORKERS"}
        back.unlink(missing_ok=True)
        dec = run(py + ["decompress", str(archive), "-o", str(back)], dec_env)
        dec["exact"] = sha256(back) == digest
        dec["mb_per_s"] = round(src.stat().st_size / 1e6 / dec["wall_s"], 1)
        print(f"decompress, {label}", json.dumps(dec), flush=True)
        decs[label] = dec
    print(json.dumps({"input_bytes": src.stat().st_size, "compress": comp, "decompress": decs}))
    if not args.keep:
        for p in (archive, back):
            p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
