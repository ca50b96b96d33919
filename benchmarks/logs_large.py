"""Large real logs, side by side: lakeshrink, xz -9e, zstd -19 and gzip -9, each in a child process.

Used by ``benchmarks/logs.py --large``. For every file and every compressor: compressed size, compress and
decompress MB/s (wall time of the child process) and the child's peak RSS (``os.wait4``), and whether the bytes
came back exactly. Files: the two full Loghub logs of ``../shared/data/loghub-full`` (DeLog's published ratios on
them are read from its LICENSE-NOTE and printed beside), and the PostgreSQL and Spark logs ``benchmarks/loggen.py``
writes into ``benchmarks/.cache/logs`` (each cut to ``--large-max-mb`` at a line boundary).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lakeshrink.sample_data import loghub_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procmem import _tree_rss  # noqa: E402  (benchmarks/ is not a package)

MB = 1e6
CACHE = Path(__file__).resolve().parent / ".cache" / "logs"
GENERATED = ("postgresql.log", "postgresql.csv", "postgresql.json", "spark-events.json", "spark-log4j2.log")
TOOLS = ("lakeshrink", "xz -9e", "zstd -19", "gzip -9", "gzip -6")


@dataclass(frozen=True)
class Run:
    tool: str
    size: int
    compress_mbps: float
    decompress_mbps: float
    rss_mib: float  # the larger of the compress and decompress peaks (the whole process tree: workers too)
    exact: bool
    compress_cpu_mbps: float = 0.0  # by CPU seconds (user + system, the child and its workers)
    decompress_cpu_mbps: float = 0.0


@dataclass(frozen=True)
class LargeResult:
    name: str
    bytes: int
    runs: tuple[Run, ...]
    delog: float | None
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load average (1, 5, 15 min) when the file's runs began

    def ratio(self, tool: str) -> float:
        return self.bytes / next(r.size for r in self.runs if r.tool == tool)


def child_env() -> dict[str, str]:
    """The environment of the timed children: this one, but with Python's bytecode cache on, as an installed
    package has it. A session with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every lakeshrink
    module from source in every child (measured: about 0.3 s of CPU per command, more wall time under load)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode() -> None:
    """Write the bytecode cache of the modules the log commands import (once, before anything is timed)."""
    subprocess.run([sys.executable, "-c", "import lakeshrink.cli.main, lakeshrink.cli.logs, "
                    "lakeshrink.codecs.logs.files, lakeshrink.codecs.logs.grep"], env=child_env(), check=True)


def _run(cmd: list[str], stdin: Path | None, stdout: Path | None) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) of the child and its descendants together (sampled from /proc every 0.1 s;
    at least the child's own peak from ``wait4``) and CPU seconds (the child and the workers it waited for)."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    fout = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, env=child_env())
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                peak[0] = max(peak[0], _tree_rss(proc.pid) or 0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stop.set()
        sampler.join()
        seconds = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-500:]}")
    finally:
        for f in (fin, fout):
            if hasattr(f, "close"):
                f.close()
    return seconds, max(usage.ru_maxrss / 1024, peak[0] / (1 << 20)), usage.ru_utime + usage.ru_stime


def _commands(tool: str, src: Path, packed: Path, back: Path) -> tuple[tuple, tuple]:
    py = [sys.executable, "-m", "lakeshrink", "--no-progress"]
    if tool == "lakeshrink":
        return (py + ["logs", "compress", str(src), "-o", str(packed)], None, None), (
            py + ["logs", "decompress", str(packed), "-o", str(back)], None, None)
    flags = {"xz -9e": ["xz", "-9e", "-T1"], "zstd -19": ["zstd", "-19", "--single-thread", "-q"], "gzip -9": ["gzip", "-9"],
             "gzip -6": ["gzip", "-6"]}[tool]
    return (flags + ["-c"], src, packed), (flags[:1] + ["-dc"], packed, back)


def measure(src: Path, tool: str, work: Path) -> Run:
    packed, back = work / "packed", work / "back"
    for p in (packed, back):
        p.unlink(missing_ok=True)
    comp, dec = _commands(tool, src, packed, back)
    t_c, rss_c, cpu_c = _run(*comp)
    t_d, rss_d, cpu_d = _run(*dec)
    mb = src.stat().st_size / MB
    exact = _same(src, back)
    return Run(tool, packed.stat().st_size, mb / t_c, mb / t_d, max(rss_c, rss_d), exact, mb / max(cpu_c, 1e-3),
               mb / max(cpu_d, 1e-3))


def _same(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def shared_data_dir() -> Path | None:
    """``../shared/data`` (the folder holding loghub-2k and loghub-full), or None."""
    root = loghub_dir()
    return root.parent if root else None


def delog_figures() -> dict[str, float]:
    """DeLog's ratios from the loghub-full LICENSE-NOTE table (``| Linux.log | bytes | xz | zstd | DeLog |``)."""
    root = shared_data_dir()
    note = root / "loghub-full" / "LICENSE-NOTE.txt" if root else None
    if note is None or not note.exists():
        return {}
    out = {}
    for m in re.finditer(r"^\|\s*(\S+\.log)\s*\|[^|]*\|[^|]*\|[^|]*\|\s*([\d.]+)\s*\|", note.read_text(), re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def cut(src: Path, max_bytes: int, work: Path) -> Path:
    """``src`` itself, or its first ``max_bytes`` cut before a line that starts like the file's first line (so
    a CSV record with a quoted multi-line field is not cut in two)."""
    if src.stat().st_size <= max_bytes:
        return src
    with open(src, "rb") as fh:
        data = fh.read(max_bytes)
    first = data[:1]
    end = data.rfind(b"\n" + first)
    target = work / src.name
    target.write_bytes(data[: end + 1])
    return target


def large_files() -> list[Path]:
    root = shared_data_dir()
    full = [root / "loghub-full" / n for n in ("Linux.log", "Proxifier.log")] if root else []
    return [p for p in full if p.exists()] + [CACHE / n for n in GENERATED if (CACHE / n).exists()]


def run_large(max_mb: int, tools: tuple[str, ...] = TOOLS, only: list[str] | None = None) -> list[LargeResult]:
    delog = delog_figures()
    warm_bytecode()
    results = []
    with tempfile.TemporaryDirectory(prefix="lakeshrink-large-") as tmp:
        work = Path(tmp)
        for path in large_files():
            if only and path.name not in only:
                continue
            src = cut(path, max_mb << 20, work)
            load = os.getloadavg()
            runs = tuple(measure(src, tool, work) for tool in tools)
            r = LargeResult(path.name, src.stat().st_size, runs, delog.get(path.name), load)
            results.append(r)
            print(f"  {r.name:18s} {r.bytes / MB:7.1f} MB exact={[x.exact for x in runs]} "
                  + " ".join(f"{x.tool}: {r.ratio(x.tool):.2f} {x.compress_mbps:.2f}/{x.decompress_mbps:.1f} MB/s"
                             f" {x.rss_mib:.0f} MiB" for x in runs), file=sys.stderr, flush=True)
            if src != path:
                src.unlink()
    return results


def print_large(results: list[LargeResult]) -> dict:
    print("\nlarge real logs (each compressor in a child process; MB/s by wall time, and by CPU time in brackets;"
          " RSS = peak of the child's process tree)")
    print(f"{'file':18s} {'MB':>6s} " + " ".join(f"{t:>10s}" for t in TOOLS) + f" {'DeLog':>6s} {'vs xz':>6s} {'vs DeLog':>8s}"
          f" {'c MB/s':>14s} {'d MB/s':>14s} {'RSS':>6s} {'gz-6x':>6s} {'xz-d':>5s} {'load':>5s}")
    rows = []
    for r in results:
        ls, xz, gz = (next(x for x in r.runs if x.tool == t) for t in ("lakeshrink", "xz -9e", "gzip -6"))
        vs_delog = r.ratio("lakeshrink") / r.delog if r.delog else None
        print(f"{r.name:18s} {r.bytes / MB:6.1f} " + " ".join(f"{r.ratio(t):10.2f}" for t in TOOLS)
              + f" {r.delog or 0:6.1f} {r.ratio('lakeshrink') / r.ratio('xz -9e'):6.3f} "
              + (f"{vs_delog:8.3f}" if vs_delog else f"{'':8s}")
              + f" {ls.compress_mbps:6.2f} ({ls.compress_cpu_mbps:5.2f}) {ls.decompress_mbps:6.1f} ({ls.decompress_cpu_mbps:5.1f})"
              f" {ls.rss_mib:6.0f} {ls.compress_mbps / gz.compress_mbps:6.2f} {ls.decompress_mbps / xz.decompress_mbps:5.2f}"
              f" {r.load[0]:5.1f}")
        rows.append({"file": r.name, "bytes": r.bytes, "delog": r.delog, "exact": ls.exact,
                     "runs": [vars(x) for x in r.runs], "vs_xz": r.ratio("lakeshrink") / r.ratio("xz -9e"),
                     "vs_delog": vs_delog, "load": r.load})
    print("  (gz-6x: lakeshrink compress speed / gzip -6's; xz-d: lakeshrink decompress speed / xz -d's, both by wall"
          " time in the same run; load: 1-minute load average when the file's runs began, on 2 cores)")
    print("  speeds of the anchors:")
    for t in TOOLS[1:]:
        print(f"    {t:9s} " + "  ".join(f"{r.name.split('.')[0][:10]}:{next(x for x in r.runs if x.tool == t).compress_mbps:.1f}/"
                                         f"{next(x for x in r.runs if x.tool == t).decompress_mbps:.0f}" for r in results))
    return {"files": rows, "all_exact": all(x.exact for r in results for x in r.runs)}
