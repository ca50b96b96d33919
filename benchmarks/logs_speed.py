"""Decompression (and optionally compression) speed of ``lakeshrink logs`` against ``xz -d`` and ``gzip -6`` on
the same bytes, in the same run, each a child process, best of ``--reps`` (the runs alternate, so a change of
the machine's load reaches every contender alike).

Usage::

    nice python benchmarks/logs_speed.py FILE... [--code DIR ...] [--reps 3] [--compress] [--workers N]

Each FILE is compressed once (with the first ``--code``) into ``FILE.r5.lslog`` beside a work copy in
``--work`` (and ``xz -6 -T1`` of it for the ``xz -d`` anchor; with ``--xz9e`` also ``xz -9e -T1``, whose size
the archive's ratio is reported against: both made once and kept there); ``--code`` names source trees put
first on ``PYTHONPATH`` (several: old and new code side by side). Prints, per file and contender, the best wall
time, its CPU time (user + system, its threads and worker processes), MB/s by wall time, peak RSS (of its largest
single process) and the ratio to the anchor (``xz -d`` for decompression, ``gzip -6`` for compression)
by wall time and by CPU time, with the load average at the start and end of each file's runs. With
``--compress``, whether every contender's archive has the same bytes (SHA-256 of each one's first run).

Two ``xz -d`` anchors: ``xz -d`` writes to ``/dev/null`` (the anchor of every round so far), ``xz -d >file``
writes a file in ``--work``, as ``logs decompress -o`` does (which also fsyncs it); decompressions are
compared with each. Every output written is checked by its SHA-256.

``--own-archives``: each contender also writes its own archive of FILE once (``FILE.cN.lslog``), decompresses that
one instead of the first contender's, and its size is printed (with ``--xz9e``, against ``xz -9e``): for code
whose archives an older contender cannot read (a new chunk metadata version).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path


def _run(cmd: list[str], env: dict | None = None, stdout: Path | None = None) -> tuple[float, float, float]:
    """Wall and CPU seconds of a child process and its peak RSS in MiB, from ``wait4`` (the child's threads
    and the worker processes it waited for are counted; the RSS is the largest single process's)."""
    start = time.perf_counter()
    # started in /: ``python -m`` puts the working directory first on sys.path, so from a checkout every
    # contender would run that checkout's code, whatever PYTHONPATH says
    with open(stdout or os.devnull, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd="/", stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _env(code: str, workers: int | None, cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = code
    # an installed package has its bytecode cached: every contender gets a cache, kept in the work directory
    # (nothing is written into the trees timed)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if workers is not None:
        env["LAKESHRINK_WORKERS"] = str(workers)
    return env


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:  # streamed: a forked anchor would count this process's memory as its own
        return hashlib.file_digest(fh, "sha256").hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--code", action="append", help="source tree(s) to time (default: this checkout)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compress", action="store_true", help="time compression too")
    ap.add_argument("--workers", type=int, default=None, help="LAKESHRINK_WORKERS for the children")
    ap.add_argument("--chunk-mb", type=int, default=None)
    ap.add_argument("--xz9e", action="store_true", help="report the archive's ratio against xz -9e -T1 too")
    ap.add_argument("--own-archives", action="store_true",
                    help="each contender decompresses an archive it wrote itself (FILE.cN.lslog), and each one's "
                         "size is reported: for code whose archives older code cannot read")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lakeshrink-logs-speed"))
    args = ap.parse_args()
    codes = [str(Path(c).resolve()) for c in args.code or [Path(__file__).resolve().parents[1]]]
    for f in args.files:
        if not f.is_absolute():
            raise SystemExit(f"{f}: give files by absolute path (the children run in /)")
    args.work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    print(f"load average at start: {os.getloadavg()[0]:.2f}; contenders: {codes}", flush=True)
    for src in args.files:
        size = src.stat().st_size
        mb = size / 1e6
        archive = args.work / f"{src.name}.r5.lslog"
        xz = args.work / f"{src.name}.xz"
        out = args.work / f"{src.name}.out"
        if not xz.exists():
            with open(xz, "wb") as fh:
                subprocess.run(["xz", "-6", "-T1", "-c", str(src)], check=True, stdout=fh)
        xz9e = args.work / f"{src.name}.xz9e"
        if args.xz9e and not xz9e.exists():
            with open(xz9e, "wb") as fh:
                subprocess.run(["xz", "-9e", "-T1", "-c", str(src)], check=True, stdout=fh)
        chunk = ["--chunk-mb", str(args.chunk_mb)] if args.chunk_mb else []
        if not archive.exists():
            subprocess.run([py, "-m", "lakeshrink", "logs", "compress", str(src), "-o", str(archive), "--overwrite",
                            *chunk], check=True, cwd="/", env=_env(codes[0], args.workers, args.work / "pycache"), stdout=subprocess.DEVNULL)
        own = [args.work / f"{src.name}.c{i}.lslog" for i in range(len(codes))] if args.own_archives else []
        for code, path in zip(codes, own):
            if not path.exists():
                subprocess.run([py, "-m", "lakeshrink", "logs", "compress", str(src), "-o", str(path), "--overwrite",
                                *chunk], check=True, cwd="/", env=_env(code, args.workers, args.work / "pycache"),
                               stdout=subprocess.DEVNULL)
        want = _digest(src)
        best: dict[str, tuple[float, float, float]] = {}

        def keep(name: str, result: tuple[float, float, float]) -> None:
            if name not in best or result[0] < best[name][0]:
                best[name] = result

        archives: dict[str, str] = {}  # SHA-256 of the archive each contender wrote (the first run's)
        load0 = os.getloadavg()[0]
        for _ in range(args.reps):
            keep("xz -d", _run(["xz", "-d", "-T1", "-c", str(xz)]))
            out.unlink(missing_ok=True)
            keep("xz -d >file", _run(["xz", "-d", "-T1", "-c", str(xz)], stdout=out))
            if _digest(out) != want:
                raise SystemExit(f"xz -d: {xz} did not decode to {src}")
            keep("gzip -6", _run(["gzip", "-6", "-c", str(src)]))
            for i, code in enumerate(codes):
                out.unlink(missing_ok=True)
                mine = own[i] if own else archive
                keep(f"decompress[{i}]", _run([py, "-m", "lakeshrink", "logs", "decompress", str(mine), "-o", str(out)],
                                              env=_env(code, args.workers, args.work / "pycache")))
                if _digest(out) != want:
                    raise SystemExit(f"{code}: {mine} did not decode to {src}")
                if args.compress:
                    keep(f"compress[{i}]", _run([py, "-m", "lakeshrink", "logs", "compress", str(src), "-o",
                                                 str(args.work / "c.lslog"), "--overwrite", *chunk], env=_env(code, args.workers, args.work / "pycache")))
                    archives.setdefault(code, _digest(args.work / "c.lslog"))
        out.unlink(missing_ok=True)
        load1 = os.getloadavg()[0]
        print(f"\n{src.name}: {mb:.1f} MB, archive {archive.stat().st_size:,} B ({size / archive.stat().st_size:.2f}x), "
              f"xz -6 {xz.stat().st_size:,} B; load {load0:.2f} -> {load1:.2f}", flush=True)
        if args.xz9e:
            print(f"  xz -9e {xz9e.stat().st_size:,} B ({size / xz9e.stat().st_size:.2f}x): the archive is "
                  f"{xz9e.stat().st_size / archive.stat().st_size:.3f}x xz -9e", flush=True)
        for code, path in zip(codes, own):
            ratio = f", {xz9e.stat().st_size / path.stat().st_size:.3f}x xz -9e" if args.xz9e else ""
            print(f"  archive of {code}: {path.stat().st_size:,} B ({size / path.stat().st_size:.2f}x{ratio}), "
                  f"decompressed by it", flush=True)
        if archives:
            same = len(set(archives.values())) == 1
            print(f"  archives written: {'all the same bytes' if same else 'DIFFERENT'} "
                  f"({', '.join(d[:12] for d in archives.values())})", flush=True)
        for name, (wall, cpu, rss) in best.items():
            anchors = ["gzip -6"] if name.startswith("compress") else ["xz -d", "xz -d >file"]
            ratio = "" if name in ("xz -d", "xz -d >file", "gzip -6") else "".join(
                f"  {best[a][0] / wall:.3f}x {a} (CPU {best[a][1] / cpu:.3f}x)" for a in anchors)
            label = name if "[" not in name else f"{name[:-3]} {codes[int(name[-2])]}"
            print(f"  {label:<40} {wall:7.3f} s wall {cpu:7.3f} s CPU {mb / wall:8.1f} MB/s {rss:6.0f} MiB{ratio}", flush=True)
    (args.work / "c.lslog").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
