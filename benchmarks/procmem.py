"""Peak memory of this process and all of its descendants (a Spark JVM and its Python workers included), sampled
from /proc, per named phase; and Spark's shuffle bytes from its monitoring REST API.

Used by the benchmarks only (Linux; elsewhere the figures are None).

Example::

    sampler = TreeMemory(interval=0.2)
    with sampler.phase("stage 3"):
        work()
    sampler.peaks["stage 3"]  # bytes
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _tree_rss(root_pid: int) -> int | None:
    """Resident bytes of ``root_pid`` and its descendants."""
    per_pid = tree_rss_by_pid(root_pid)
    return None if per_pid is None else sum(per_pid.values())


def tree_rss_by_pid(root_pid: int) -> dict[int, int] | None:
    """Resident bytes of ``root_pid`` and of each of its descendants, by pid (None without /proc)."""
    proc = Path("/proc")
    if not proc.exists():
        return None
    parent_of: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parent_of[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
    out, stack = {}, [root_pid]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    while stack:
        pid = stack.pop()
        out[pid] = rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _rollup(pid: int) -> tuple[int, int]:
    """(anonymous resident bytes, proportional set size) of ``pid`` from /proc/PID/smaps_rollup. Anonymous:
    heap, stacks, anonymous maps, not file pages (memory-mapped shuffle or Parquet files, which the kernel can
    drop). PSS: resident bytes with each page shared by n processes counted 1/n, so a tree's PSS adds up to
    what it holds (its RSS counts the pages a forked Python worker shares with its daemon once per process)."""
    anon = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
            elif line.startswith("Anonymous:"):
                anon = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return anon, pss


def tree_breakdown(root_pid: int, *, rollup: bool = True) -> dict[str, int] | None:
    """Resident bytes of the tree under ``root_pid`` by kind of process: ``driver`` (``root_pid`` itself),
    ``jvm`` (processes named java: a Spark driver JVM and its executors), ``workers`` (every other descendant:
    Spark's Python workers and daemon, the local engine's worker processes); ``anon``, the anonymous part of the
    whole tree; ``pss``, the tree's proportional set size (shared pages counted once in all). Without ``rollup``,
    only the resident bytes: reading smaps_rollup walks each process's page tables (for a JVM of 3 GB, every
    0.25 s, that was a third of a core)."""
    per_pid = tree_rss_by_pid(root_pid)
    if per_pid is None:
        return None
    out = {"driver": 0, "jvm": 0, "workers": 0} | ({"anon": 0, "pss": 0} if rollup else {})
    for pid, rss in per_pid.items():
        kind = "driver" if pid == root_pid else "jvm" if _comm(pid) == "java" else "workers"
        out[kind] += rss
        if rollup:
            anon, pss = _rollup(pid)
            out["anon"] += anon
            out["pss"] += pss
    return out


class TreeMemory:
    """Samples the process tree's resident memory in a background thread; :meth:`phase` records each phase's peak
    of the whole tree (:attr:`peaks`) and of each kind of process at that phase's own peak instants
    (:attr:`kinds`: driver, JVM, workers, anonymous, PSS; each one's own maximum over the phase). Resident bytes
    are sampled every ``interval`` seconds, anonymous bytes and PSS (costlier to read) every ``every``."""

    def __init__(self, interval: float = 0.25, timeline: str | os.PathLike | None = None, every: float = 5.0):
        """``timeline``: a file that gets a line ``seconds rss_mb phase driver=MB jvm=MB workers=MB anon=MB pss=MB`` about
        every ``every`` seconds."""
        self.interval = interval
        self.timeline = open(timeline, "w", buffering=1) if timeline else None  # noqa: SIM115 - closed in close()
        self.every = every
        self.phase_name = "-"
        self.peaks: dict[str, int | None] = {}
        self.kinds: dict[str, dict[str, int]] = {}
        self.overall: int | None = None
        self._current: int | None = None
        self._kinds: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        last = start - self.every
        while not self._stop.is_set():
            rollup = time.monotonic() - last >= self.every
            kinds = tree_breakdown(os.getpid(), rollup=rollup)
            value = None if kinds is None else kinds["driver"] + kinds["jvm"] + kinds["workers"]
            if rollup:
                last = time.monotonic()
            if self.timeline is not None and value is not None and rollup:
                detail = " ".join(f"{k}={v / 2**20:.0f}" for k, v in kinds.items())
                self.timeline.write(f"{last - start:.0f} {value / 2**20:.0f} {self.phase_name} {detail}\n")
            if kinds is not None:
                self._kinds = self._kinds | {k: max(v, self._kinds.get(k, 0)) for k, v in kinds.items()}
            if value is not None:
                self._current = value if self._current is None else max(self._current, value)
                self.overall = value if self.overall is None else max(self.overall, value)
            time.sleep(self.interval)

    @contextmanager
    def phase(self, name: str):
        self._current = _tree_rss(os.getpid())
        self._kinds = {}
        outer, self.phase_name = self.phase_name, name
        try:
            yield
        finally:
            self.phase_name = outer
            self.kinds[name] = dict(self._kinds)
            now = _tree_rss(os.getpid())
            peak = self._current
            if now is not None:
                peak = now if peak is None else max(peak, now)
            self.peaks[name] = peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self.timeline is not None:
            self.timeline.close()


def spark_shuffle_write_bytes(spark: Any) -> int | None:
    """Shuffle bytes written by every stage of this Spark application so far (None without the UI)."""
    sc = spark.sparkContext
    url = sc.uiWebUrl
    if not url:
        return None
    try:
        with urllib.request.urlopen(f"{url}/api/v1/applications/{sc.applicationId}/stages?status=complete", timeout=30) as resp:
            stages = json.loads(resp.read())
    except OSError:
        return None
    return sum(int(s.get("shuffleWriteBytes", 0)) for s in stages)
