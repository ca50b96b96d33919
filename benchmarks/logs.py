"""Benchmark of lossless log template compression on the 16 Loghub-2k files, and on a large input.

    python benchmarks/logs.py                      # the 16 files
    python benchmarks/logs.py --big-mb 1024        # also a >= 1 GiB input (peak RSS of a child process)
    python benchmarks/logs.py --large              # also the full Loghub logs and large real logs (loggen.py)

For each file, measured side by side in the same run: byte-exact round trip, compression ratio of lakeshrink
(whole archive, index included) vs gzip -9, xz -9e (lzma preset 9|EXTREME) and zstd -19, compress and
decompress MB/s of each, and grouping accuracy of the templates against Loghub's ground-truth EventId
("group accuracy", Zhu et al. ICSE-SEIP'19: a line counts when the set of lines sharing its template equals
the set sharing its EventId). Prints a table; writes ``benchmarks/results/logs.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import zstandard

from lakeshrink import progress
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.header import CONTENT, known_format, known_formats, parse_format, split_header
from lakeshrink.codecs.logs.lines import split_lines
from lakeshrink.sample_data import loghub_dir

RESULTS = Path(__file__).resolve().parent / "results"
MB = 1e6


@dataclass(frozen=True)
class Codec:
    """Sizes and speeds of one compressor on one file. ``*_cpu`` speeds divide by the process CPU time (all
    threads), which a machine shared with other jobs disturbs less than wall time."""

    name: str
    size: int
    compress_mbps: float
    decompress_mbps: float
    exact: bool
    compress_mbps_cpu: float = 0.0
    decompress_mbps_cpu: float = 0.0


@dataclass(frozen=True)
class FileResult:
    system: str
    bytes: int
    codecs: tuple[Codec, ...]
    group_accuracy: float
    templates: int
    truth_templates: int

    def ratio(self, name: str) -> float:
        return self.bytes / next(c.size for c in self.codecs if c.name == name)


def _timed(fn, repeat: int = 1):
    """The result of ``fn()``, its best wall time and the CPU time of that run."""
    best = best_cpu = math.inf
    out = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - start
        if wall < best:
            best, best_cpu = wall, max(time.process_time() - cpu, 1e-9)
    return out, best, best_cpu


def general(name: str, data: bytes) -> Codec:
    if name == "gzip -9":
        comp, dec = (lambda d: gzip.compress(d, 9)), gzip.decompress
    elif name == "xz -9e":
        comp, dec = (lambda d: lzma.compress(d, preset=9 | lzma.PRESET_EXTREME)), lzma.decompress
    else:
        comp = zstandard.ZstdCompressor(level=19).compress
        dec = zstandard.ZstdDecompressor().decompress
    packed, t_c, c_c = _timed(lambda: comp(data))
    back, t_d, c_d = _timed(lambda: dec(packed), 3)
    mb = len(data) / MB
    return Codec(name, len(packed), mb / t_c, mb / t_d, back == data, mb / c_c, mb / c_d)


def lakeshrink_codec(path: Path, system: str, work: Path) -> Codec:
    archive = work / f"{system}.lslog"
    out = work / f"{system}.out"
    data = path.read_bytes()
    _, t_c, c_c = _timed(lambda: compress_files([str(path)], archive, CodecConfig(format=system)))
    _, t_d, c_d = _timed(lambda: decompress_archive(archive, out, overwrite=True), 3)
    mb = len(data) / MB
    return Codec("lakeshrink", archive.stat().st_size, mb / t_c, mb / t_d, out.read_bytes() == data, mb / c_c, mb / c_d)


def group_accuracy(predicted: pl.Series, truth: pl.Series) -> float:
    frame = pl.DataFrame({"p": predicted, "t": truth})
    groups = frame.group_by("p").agg(pl.col("t").n_unique().alias("nt"), pl.col("t").first().alias("t0"), pl.len().alias("n"))
    sizes = frame.group_by("t").agg(pl.len().alias("tn"))
    good = groups.join(sizes, left_on="t0", right_on="t").filter((pl.col("nt") == 1) & (pl.col("n") == pl.col("tn")))
    return float(good["n"].sum()) / len(frame)


def accuracy(path: Path, system: str) -> tuple[float, int, int]:
    """Group accuracy of lakeshrink's miner (same settings as the codec) on one Loghub file."""
    known = known_format(system)
    fmt = parse_format(known.spec)
    lines = split_lines(path.read_bytes())
    split = split_header(fmt, lines.text)
    group = next(p.group for p in fmt.parts if p.name == CONTENT)
    codec = LogCodec(CodecConfig(format=system))  # the miner settings the codec uses for this format
    miner = codec.miner
    assert miner is not None
    clusters = miner.add(split.parts[group])
    ids = pl.Series("g", miner.groups(), dtype=pl.Int64).gather(clusters)  # the group of each line's cluster
    ids = pl.select(pl.when(pl.lit(split.matched)).then(pl.lit(ids)).otherwise(-pl.int_range(1, len(ids) + 1)))[:, 0]
    truth = pl.read_csv(str(path) + "_structured.csv", infer_schema=False)["EventId"]
    return group_accuracy(ids, truth), len(miner), truth.n_unique()


def run_files(root: Path, systems: list[str]) -> list[FileResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="lakeshrink-bench-") as tmp:
        for system in systems:
            path = root / system / f"{system}_2k.log"
            data = path.read_bytes()
            codecs = [lakeshrink_codec(path, system, Path(tmp))] + [general(n, data) for n in ("gzip -9", "xz -9e", "zstd -19")]
            acc, templates, truth = accuracy(path, system)
            results.append(FileResult(system, len(data), tuple(codecs), acc, templates, truth))
            r = results[-1]
            print(f"  {system:12s} exact={codecs[0].exact} ratio {r.ratio('lakeshrink'):6.2f} vs xz {r.ratio('xz -9e'):6.2f}"
                  f" ({r.ratio('lakeshrink') / r.ratio('xz -9e'):.3f}x) accuracy {acc:.3f}", file=sys.stderr)
    return results


def print_table(results: list[FileResult]) -> dict:
    names = [c.name for c in results[0].codecs]
    head = f"{'system':12s} {'MB':>5s} " + " ".join(f"{n:>10s}" for n in names) + f" {'vs xz':>6s} {'acc':>5s}"
    print("compression ratio (input / output)")
    print(head)
    for r in results:
        print(f"{r.system:12s} {r.bytes / MB:5.2f} " + " ".join(f"{r.ratio(n):10.2f}" for n in names)
              + f" {r.ratio('lakeshrink') / r.ratio('xz -9e'):6.3f} {r.group_accuracy:5.3f}")
    geo = {n: math.exp(sum(math.log(r.ratio(n)) for r in results) / len(results)) for n in names}
    print(f"{'geomean':12s} {'':5s} " + " ".join(f"{geo[n]:10.2f}" for n in names)
          + f" {geo['lakeshrink'] / geo['xz -9e']:6.3f} {sum(r.group_accuracy for r in results) / len(results):5.3f}")
    print("\nspeed MB/s over the 16 files: compress / decompress by wall time, and by CPU time")
    total = sum(r.bytes for r in results)
    speeds, cpu_speeds = {}, {}
    for i, n in enumerate(names):
        def rate(attr: str) -> float:
            return total / MB / sum(r.bytes / MB / getattr(r.codecs[i], attr) for r in results)

        speeds[n] = (rate("compress_mbps"), rate("decompress_mbps"))
        cpu_speeds[n] = (rate("compress_mbps_cpu"), rate("decompress_mbps_cpu"))
        print(f"  {n:10s} wall {speeds[n][0]:8.2f} / {speeds[n][1]:8.2f}   cpu {cpu_speeds[n][0]:8.2f} / {cpu_speeds[n][1]:8.2f}")
    summary = {
        "all_exact": all(c.exact for r in results for c in r.codecs),
        "geomean_ratio": geo,
        "geomean_vs_xz": geo["lakeshrink"] / geo["xz -9e"],
        "above_xz_on_every_file": all(r.ratio("lakeshrink") > r.ratio("xz -9e") for r in results),
        "mean_group_accuracy": sum(r.group_accuracy for r in results) / len(results),
        "speed_mbps": {n: {"compress": s[0], "decompress": s[1]} for n, s in speeds.items()},
        "speed_mbps_cpu": {n: {"compress": s[0], "decompress": s[1]} for n, s in cpu_speeds.items()},
    }
    print("\ntargets:")
    print(f"  byte-exact on all 16 files          {summary['all_exact']}")
    print(f"  above xz -9e on every file          {summary['above_xz_on_every_file']}")
    print(f"  geomean vs xz -9e >= 1.25           {summary['geomean_vs_xz']:.3f}")
    print(f"  mean group accuracy >= 0.90         {summary['mean_group_accuracy']:.3f}")
    print(f"  compress faster than xz -9e         wall {speeds['lakeshrink'][0]:.2f} vs {speeds['xz -9e'][0]:.2f} MB/s,"
          f" cpu {cpu_speeds['lakeshrink'][0]:.2f} vs {cpu_speeds['xz -9e'][0]:.2f} MB/s")
    print(f"  decompress >= 50 MB/s               wall {speeds['lakeshrink'][1]:.1f} MB/s, cpu {cpu_speeds['lakeshrink'][1]:.1f} MB/s")
    return summary


# ---------------------------------------------------------------------------------------------- big input
def build_big(root: Path, target: Path, total_mb: int) -> int:
    """One file per system, each its 2k sample concatenated until the whole reaches ``total_mb``."""
    target.mkdir(parents=True, exist_ok=True)
    samples = [(k.name, (root / k.name / f"{k.name}_2k.log").read_bytes()) for k in known_formats()]
    per_file = total_mb * (1 << 20) // len(samples) + 1
    total = 0
    for name, data in samples:
        if not data.endswith(b"\n"):
            data += b"\n"
        reps = per_file // len(data) + 1
        with open(target / f"{name}.log", "wb") as fh:
            for _ in range(reps):
                fh.write(data)
        total += reps * len(data)
    return total


_CHILD = (
    "import resource, sys\n"
    "from lakeshrink.cli.main import cli\n"
    "try:\n"
    "    cli(sys.argv[1:], prog_name='lakeshrink', standalone_mode=False)\n"
    "finally:\n"
    "    u = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)\n"
)


def child(args: list[str]) -> tuple[float, float, float]:
    """Run ``lakeshrink`` args in a child process: wall seconds, CPU seconds and the child's peak RSS in MiB."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, "--no-progress", *args], check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    rss, cpu = proc.stderr.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(rss) / 1024


def run_big(root: Path, total_mb: int, chunk_mb: int, workdir: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lakeshrink-big-", dir=workdir) as tmp:
        src = Path(tmp) / "big"
        size = build_big(root, src, total_mb)
        archive = Path(tmp) / "big.lslog"
        t_c, cpu_c, rss_c = child(["logs", "compress", str(src), "-o", str(archive), "--chunk-mb", str(chunk_mb)])
        out = Path(tmp) / "back"
        t_d, cpu_d, rss_d = child(["logs", "decompress", str(archive), "-o", str(out)])
        exact = all((out / p.name).read_bytes() == p.read_bytes() for p in src.iterdir())
        sample = (src / "HDFS.log").read_bytes()[: 64 << 20]
        _, t_xz, cpu_xz = _timed(lambda: lzma.compress(sample, preset=9 | lzma.PRESET_EXTREME))
        result = {
            "input_bytes": size,
            "archive_bytes": archive.stat().st_size,
            "ratio": size / archive.stat().st_size,
            "chunk_mb": chunk_mb,
            "compress_mbps": size / MB / t_c,
            "decompress_mbps": size / MB / t_d,
            "compress_mbps_cpu": size / MB / cpu_c,
            "decompress_mbps_cpu": size / MB / cpu_d,
            "peak_rss_mib_compress": rss_c,
            "peak_rss_mib_decompress": rss_d,
            "exact": exact,
            "xz_9e_mbps_on_64mb_of_it": len(sample) / MB / t_xz,
            "xz_9e_mbps_cpu_on_64mb_of_it": len(sample) / MB / cpu_xz,
        }
    print(f"\nlarge input: {size / (1 << 30):.2f} GiB in 16 files, chunks of {chunk_mb} MiB")
    for k, v in result.items():
        print(f"  {k:28s} {v:.2f}" if isinstance(v, float) else f"  {k:28s} {v}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="*", default=None, help="subset of the 16 systems")
    parser.add_argument("--big-mb", type=int, default=0, help="also compress an input of this many MiB (0: skip)")
    parser.add_argument("--chunk-mb", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None, help="where the large input is built (default: /tmp)")
    parser.add_argument("--large", action="store_true",
                        help="also the full Loghub logs and the logs of benchmarks/loggen.py, each tool in a child process")
    parser.add_argument("--large-max-mb", type=int, default=64, help="cut each large log to this many MiB")
    parser.add_argument("--skip-2k", action="store_true", help="skip the 16 Loghub-2k files")
    parser.add_argument("--large-only", nargs="*", default=None, metavar="NAME", help="only these large logs (file names)")
    parser.add_argument("--results", type=Path, default=RESULTS / "logs.json", help="where to write the JSON results")
    args = parser.parse_args()
    progress.set_enabled(False)
    root = loghub_dir()
    if root is None:
        sys.exit("Loghub-2k data not found (../shared/data/loghub-2k or $LAKESHRINK_LOGHUB)")
    systems = args.systems or [k.name for k in known_formats()]
    doc: dict = {}
    if not args.skip_2k:
        results = run_files(root, systems)
        doc = {"files": [asdict(r) for r in results], "summary": print_table(results)}
    if args.large:
        from logs_large import print_large, run_large

        doc["large"] = print_large(run_large(args.large_max_mb, only=args.large_only))
    if args.big_mb:
        doc["big"] = run_big(root, args.big_mb, args.chunk_mb, args.workdir)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(doc, indent=1))
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    main()
