"""What bounds ``lakeshrink logs`` speed from below: the parts of a run no decoder or encoder change removes.

Usage::

    flock /work/coord/heavy.lock nice -n 10 python benchmarks/logs_floor.py LOG... [--reps 5] [--compress]

Per LOG (compressed once with this checkout into ``--work``, then decompressed and compared by SHA-256):

* **start-up**, each a fresh interpreter, best CPU of ``--reps``: ``python -c pass``; the libraries a
  decompression imports (numpy, pyarrow, ``pyarrow._compute``, zstandard, click, lzma, json, hashlib); those and
  lakeshrink's decompression modules; with ``--compress``, the libraries a compression imports (polars too);
* **decompression stages**, in one warm process, best of ``--reps``: LZMA2/zstd of the sections (with the
  metadata), the whole ``decode_chunk`` (the decoder is the difference), SHA-256 and CRC-32 of the output, and
  writing it into a new file with an fsync;
* ``xz -d -T1`` of ``xz -6 -T1`` of LOG and ``gzip -6`` of LOG (best of ``--reps``, CPU and wall);
* with ``--compress``: one compression in this process, its libraries already imported (one worker: 32 MiB
  chunks), with every ``lzma.compress`` call timed by the CPU of its thread, so LZMA2's share of the encoder is
  measured, not estimated.

Then the floor: what one ``logs decompress`` would take with a decoder that cost nothing, on one core and on two
free ones, as a multiple of ``xz -d``; and what LZMA2 alone leaves of the 0.3x ``gzip -6`` budget.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECOMPRESS_LIBS = "import numpy, pyarrow, pyarrow._compute, zstandard, click, lzma, json, hashlib"
DECOMPRESS_MODULES = (DECOMPRESS_LIBS + "; import lakeshrink.cli.main, lakeshrink.cli.logs, "
                      "lakeshrink.codecs.logs.files, lakeshrink.codecs.logs.arrow_decode")
COMPRESS_LIBS = "import polars, numpy, pyarrow, pyarrow._compute, zstandard, click"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _best(fn, reps: int) -> float:
    """Least CPU seconds of ``reps`` calls of ``fn`` in this process."""
    return min(_timed(fn) for _ in range(reps))


def _timed(fn) -> float:
    start = _cpu()
    fn()
    return _cpu() - start


def _child(cmd: list[str], reps: int, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Least CPU (user + system) of ``reps`` runs of ``cmd`` and the wall time of that run."""
    best = (float("inf"), float("inf"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL, cwd="/", env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{cmd} failed")
        cpu = usage.ru_utime + usage.ru_stime
        if cpu < best[0]:
            best = (cpu, wall)
    return best


def _decompression_stages(archive: Path, want: str, reps: int) -> dict[str, float]:
    from lakeshrink.codecs.logs.archive import ArchiveReader
    from lakeshrink.codecs.logs.chunk import decode_chunk, read_meta

    with ArchiveReader(archive) as reader:
        chunks = [(reader.chunk_payload(i), e.raw_bytes) for i, e in enumerate(reader.index.chunks)]
    outs = [bytes(decode_chunk(p, raw_bytes=n)) for p, n in chunks]
    digest = hashlib.sha256()
    for out in outs:
        digest.update(out)
    if digest.hexdigest() != want:
        raise SystemExit(f"{archive} did not decode to its input")

    def write() -> None:
        path = archive.with_suffix(".floor-out")
        path.unlink(missing_ok=True)
        with open(path, "wb") as fh:
            for out in outs:
                fh.write(out)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()

    stages = {
        "sections (LZMA2/zstd, metadata)": lambda: [read_meta(p, n) for p, n in chunks],
        "decode_chunk": lambda: [decode_chunk(p, raw_bytes=n, copy=False) for p, n in chunks],
        "SHA-256": lambda: [hashlib.sha256(o).digest() for o in outs],
        "CRC-32": lambda: [zlib.crc32(o) for o in outs],
        "write + fsync": write,
    }
    return {name: _best(fn, reps) for name, fn in stages.items()}


def _lzma_share(src: Path, work: Path) -> tuple[float, float]:
    """CPU of one in-process compression of ``src`` (one worker) and the thread CPU of its ``lzma.compress``
    calls (LZMA2 releases the GIL and runs on the packing and column threads: each call is timed in its own
    thread)."""
    import lzma

    import polars  # noqa: F401 - imported before the clock starts: the start-up is measured on its own

    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import compress_files

    spent = [0.0]
    lock = threading.Lock()
    plain = lzma.compress

    def timed(data, *args, **kwargs):
        start = time.thread_time()
        try:
            return plain(data, *args, **kwargs)
        finally:
            with lock:
                spent[0] += time.thread_time() - start

    lzma.compress = timed
    try:
        cpu = _timed(lambda: compress_files([str(src)], work / f"{src.name}.floor.lslog",
                                            CodecConfig(workers=1), overwrite=True))
    finally:
        lzma.compress = plain
    return cpu, spent[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--compress", action="store_true", help="measure compression's start-up and LZMA2 too")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lakeshrink-logs-floor"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()[0]:.2f}", flush=True)
    start = {"python": _child([py, "-c", "pass"], args.reps),
             "decompression's libraries": _child([py, "-c", DECOMPRESS_LIBS], args.reps),
             "... and lakeshrink's modules": _child([py, "-c", DECOMPRESS_MODULES], args.reps)}
    if args.compress:
        start["compression's libraries"] = _child([py, "-c", COMPRESS_LIBS], args.reps)
    print("start-up, best CPU of fresh interpreters:", flush=True)
    for name, (cpu, wall) in start.items():
        print(f"  {name:<32} {cpu:.3f} s CPU ({wall:.3f} s wall)", flush=True)
    boot = start["... and lakeshrink's modules"][0]
    for log in args.logs:
        log = log.resolve()
        size = log.stat().st_size
        with open(log, "rb") as fh:
            want = hashlib.file_digest(fh, "sha256").hexdigest()
        archive, xz = args.work / f"{log.name}.lslog", args.work / f"{log.name}.xz"
        if not archive.exists():
            subprocess.run([py, "-m", "lakeshrink", "logs", "compress", str(log), "-o", str(archive)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        if not xz.exists():
            with open(xz, "wb") as fh:
                subprocess.run(["xz", "-6", "-T1", "-c", str(log)], check=True, stdout=fh)
        xz_cpu, xz_wall = _child(["xz", "-d", "-T1", "-c", str(xz)], args.reps)
        gz_cpu, gz_wall = _child(["gzip", "-6", "-c", str(log)], args.reps)
        stages = _decompression_stages(archive, want, args.reps)
        stages["decoder (decode_chunk - sections)"] = stages["decode_chunk"] - stages["sections (LZMA2/zstd, metadata)"]
        print(f"\n{log.name}: {size / 1e6:.1f} MB; xz -d {xz_cpu:.3f} s CPU ({xz_wall:.3f} wall), "
              f"gzip -6 {gz_cpu:.3f} s CPU ({gz_wall:.3f} wall); load {os.getloadavg()[0]:.2f}", flush=True)
        for name, cpu in stages.items():
            print(f"  {name:<36} {cpu:.3f} s CPU", flush=True)
        fixed = sum(stages[k] for k in ("sections (LZMA2/zstd, metadata)", "SHA-256", "CRC-32", "write + fsync"))
        decoder = stages["decoder (decode_chunk - sections)"]
        for label, dec in (("today's decoder", decoder), ("a decoder that cost nothing", 0.0)):
            one, two = boot + fixed + dec, boot + (fixed + dec) / 2
            print(f"  floor with {label}: {one:.3f} s on one core ({xz_wall / one:.2f}x xz -d), "
                  f"{two:.3f} s on two free cores ({xz_wall / two:.2f}x xz -d)", flush=True)
        if args.compress:
            cpu, lz = _lzma_share(log, args.work)
            budget = gz_wall / 0.3
            print(f"  compression in one process: {cpu:.3f} s CPU, LZMA2 {lz:.3f} s ({lz / cpu:.0%}); 0.3x gzip -6 "
                  f"is {budget:.3f} s wall: LZMA2 alone is {lz / budget:.2f} of it on one core, "
                  f"{lz / 2 / budget:.2f} on two", flush=True)


if __name__ == "__main__":
    main()
