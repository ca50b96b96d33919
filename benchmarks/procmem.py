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


class TreeMemory:
    """Samples the process tree's resident memory in a background thread; :meth:`phase` records each phase's peak."""

    def __init__(self, interval: float = 0.25, timeline: str | os.PathLike | None = None, every: float = 5.0):
        """``timeline``: a file that gets a line ``seconds rss_mb phase`` about every ``every`` seconds."""
        self.interval = interval
        self.timeline = open(timeline, "w", buffering=1) if timeline else None  # noqa: SIM115 - closed in close()
        self.every = every
        self.phase_name = "-"
        self.peaks: dict[str, int | None] = {}
        self.overall: int | None = None
        self._current: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = last = time.monotonic()
        while not self._stop.is_set():
            value = _tree_rss(os.getpid())
            if self.timeline is not None and value is not None and time.monotonic() - last >= self.every:
                last = time.monotonic()
                self.timeline.write(f"{last - start:.0f} {value / 2**20:.0f} {self.phase_name}\n")
            if value is not None:
                self._current = value if self._current is None else max(self._current, value)
                self.overall = value if self.overall is None else max(self.overall, value)
            time.sleep(self.interval)

    @contextmanager
    def phase(self, name: str):
        self._current = _tree_rss(os.getpid())
        outer, self.phase_name = self.phase_name, name
        try:
            yield
        finally:
            self.phase_name = outer
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
