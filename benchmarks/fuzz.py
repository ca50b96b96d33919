"""Fuzzing lakeshrink's readers of its own files: mutated archives (with and without recomputed checksums),
and mutated sealed documents (encoding plans, containment plans, marks manifests, recipes).

    python -m benchmarks.fuzz --cases 100000            # every target, reports counts; JSON in benchmarks/results/
    python -m benchmarks.fuzz --cases 2000 --target archive

Each case mutates a valid file and reads it back the way the CLI does. Outcomes:

* ``ok``: read back exactly what was written (the mutation did not matter, e.g. a renamed file or a moved mtime);
* ``refused``: a :class:`~lakeshrink.errors.LakeshrinkError` (one line on the CLI);
* ``wrong``: read back *without error* but different from what was written: a silent wrong output (must be 0);
* ``traceback``: any other exception (must be 0);
* ``hang``: over the per-case time limit (must be 0).

Peak memory is the process's peak RSS (``ru_maxrss``) at the end, beside its value before the first case.
The suite runs a few thousand cases (``tests/test_fuzz.py``); the seeds are fixed, so runs are reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import signal
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from lakeshrink.errors import LakeshrinkError

RESULTS = Path(__file__).resolve().parent / "results"
CASE_SECONDS = 10
#: Wall-clock time after which the targets stop early and report the cases they ran (``--max-seconds``).
DEADLINE = [float("inf")]


class Hang(Exception):
    pass


@dataclass
class Tally:
    """Outcome counts of one target, with the first few failures kept to reproduce them."""

    counts: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, outcome: str, detail: str = "") -> None:
        self.counts[outcome] += 1
        if outcome in ("wrong", "traceback", "hang") and len(self.examples) < 10:
            self.examples.append(f"{outcome}: {detail}")


def _alarm(_signum, _frame):
    raise Hang()


def run_case(tally: Tally, check: Callable[[], bool], detail: str) -> None:
    """Run one case under a time limit; ``check`` returns True when what was read equals what was written."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        tally.add("ok" if check() else "wrong", detail)
    except Hang:
        tally.add("hang", detail)
    except LakeshrinkError:
        tally.add("refused")
    except Exception as exc:  # noqa: BLE001 - the point: anything else is a finding
        import traceback

        tally.add("traceback", f"{detail}: {type(exc).__name__}: {exc} at {traceback.format_exc(limit=-1).splitlines()[1].strip()}"[:400])
    finally:
        signal.alarm(0)


# ------------------------------------------------------------------------------------------------ mutations
_INTERESTING = (0, 1, -1, 2**31 - 1, 2**32, 2**63 - 1, -(2**63), 10**12, 255, 65535)


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One to four byte-level mutations: bit flips, byte sets, truncation, deletion, duplication, insertion."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            out += bytes([rng.randrange(256)])
            continue
        op = rng.randrange(7)
        i = rng.randrange(len(out))
        if op == 0:
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            del out[rng.randrange(len(out)):]
        elif op == 3:
            del out[i : i + rng.randint(1, 64)]
        elif op == 4:
            j = rng.randrange(len(out))
            out[j:j] = out[i : i + rng.randint(1, 64)]
        elif op == 5:
            out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            w = rng.choice((2, 4, 8))
            fmt = {2: "<H", 4: "<I", 8: "<Q"}[w]
            value = rng.choice(_INTERESTING) % (1 << (8 * w))
            out[i : i + w] = struct.pack(fmt, value)[: len(out) - i]
    return bytes(out)


def mutate_json(rng: random.Random, doc: object, *, keep: frozenset[str] = frozenset()) -> object:
    """The JSON value ``doc`` with one to three values changed (numbers, strings, lists, types, keys).

    Keys in ``keep`` (e.g. digests) are never changed, so a change elsewhere must be caught by them.
    """
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        slots: list[tuple[object, object]] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k not in keep:
                        slots.append((node, k))
                        walk(v)
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    slots.append((node, i))
                    walk(v)

        walk(doc)
        if not slots:
            return doc
        parent, key = rng.choice(slots)
        value = parent[key]  # type: ignore[index]
        op = rng.randrange(8)
        if op == 0 and isinstance(value, bool):
            new: object = not value
        elif op <= 1 and isinstance(value, int | float) and not isinstance(value, bool):
            new = rng.choice((value + 1, value - 1, -value, value * 1000, *_INTERESTING, 0.5, None))
        elif op == 2 and isinstance(value, str):
            new = rng.choice(("", value + "x", value[::-1], "../" + value, value * 50, "[bold]x[/]", "\x00", "é\ud800"[:1]))
        elif op == 3 and isinstance(value, list) and value:
            new = value + [value[rng.randrange(len(value))]] if rng.random() < 0.5 else value[1:]
        elif op == 4 and isinstance(parent, dict):
            del parent[key]
            continue
        elif op == 5 and isinstance(value, list) and len(value) > 1:
            new = list(value)
            rng.shuffle(new)
        else:
            new = rng.choice((None, True, "x", 7, -1, [], {}, [1, 2], 1e308))
        parent[key] = new  # type: ignore[index]
    return doc


# --------------------------------------------------------------------------------------------------- archives
@dataclass(frozen=True)
class ArchiveSeed:
    data: bytes
    files: dict[str, bytes]


def archive_seeds(work: Path) -> list[ArchiveSeed]:
    """Small archives of every kind: columnar HDFS and OpenSSH lines, whole-chunk text, several files, binary."""
    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.codecs.logs.files import compress_files
    from lakeshrink.sample_data import bundled_dir

    logs = bundled_dir() / "logs"
    inputs = {
        "hdfs": {"h.log": (logs / "HDFS_1k.log").read_bytes()[:6000]},
        "ssh": {"s.log": (logs / "OpenSSH_1k.log").read_bytes()[:5000]},
        "multi": {"a.log": b"one\ntwo\nthree\n", "sub/b.log": (logs / "HDFS_1k.log").read_bytes()[:2000], "e": b""},
        "binary": {"b.log": b"ok 1\n\xff\xfe bin\ncaf\xc3\xa9\r\nno newline"},
    }
    seeds = []
    for name, files in inputs.items():
        src = work / f"seed-{name}"
        for rel, data in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
            os.chmod(src / rel, 0o644)
            os.utime(src / rel, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))  # reproducible seeds
        archive = work / f"seed-{name}.lslog"
        arg = str(src / next(iter(files))) if len(files) == 1 else str(src)
        compress_files([arg], archive, CodecConfig(level=3, chunk_bytes=2048, allow_binary=True))
        seeds.append(ArchiveSeed(archive.read_bytes(), files))
    return seeds


def _frames(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, tag, body) of every frame of a valid archive."""
    out, pos = [], 12
    end = len(data) - 16
    while pos < end:
        tag, length, _ = struct.unpack_from("<4sII", data, pos)
        out.append((pos, tag, data[pos + 12 : pos + 12 + length]))
        pos += 12 + length
    return out


def _rebuild(data: bytes, bodies: dict[int, bytes]) -> bytes:
    """The archive with some frame bodies replaced, frame checksums recomputed and every offset fixed up."""
    frames = _frames(data)
    out = bytearray(data[:12])
    moved: dict[int, int] = {}
    index_doc = None
    for offset, tag, body in frames:
        body = bodies.get(offset, body)
        moved[offset] = len(out)
        if tag == b"INDX":
            index_doc = (len(out), body)
            continue
        out += struct.pack("<4sII", tag, len(body), zlib.crc32(body)) + body
    assert index_doc is not None
    _, body = index_doc
    if body is frames[-1][2]:  # the index itself was not replaced: fix its chunk offsets and lengths
        doc = json.loads(zstandard.ZstdDecompressor().decompress(body))
        for (offset, tag, _), chunk in zip(frames, doc["chunks"]):
            new = bodies.get(offset)
            chunk["offset"] = moved[offset]
            if new is not None:
                chunk["length"] = 12 + len(new)
        body = zstandard.ZstdCompressor().compress(json.dumps(doc).encode())
    index_offset = len(out)
    out += struct.pack("<4sII", b"INDX", len(body), zlib.crc32(body)) + body
    out += struct.pack("<Q8s", index_offset, b"LSKLOGIX")
    return bytes(out)


def _mutate_payload(rng: random.Random, body: bytes) -> bytes:
    """A chunk body with its payload changed: raw bytes, or a section's decompressed bytes / metadata JSON
    changed and re-packed (so decoding reaches the column decoders with valid framing)."""
    from lakeshrink.codecs.logs.chunk import _pack, read_meta
    from lakeshrink.codecs.logs.packing import PackOptions

    payload = body[4:]
    if payload[:1] == b"\x00" and rng.random() < 0.7:
        meta, streams = read_meta(payload)
        if rng.random() < 0.6:
            meta = mutate_json(rng, meta, keep=frozenset({"loc"}))
        else:
            k = rng.randrange(len(streams)) if streams else 0
            if streams:
                streams[k] = mutate_bytes(rng, streams[k])
        if not isinstance(meta, dict):
            return body[:4] + mutate_bytes(rng, payload)
        meta.pop("loc", None)
        try:
            return body[:4] + _pack(meta, streams, PackOptions(zstd_level=1, try_lzma=False))
        except Exception:  # noqa: BLE001 - a mutation the writer itself cannot pack
            return body[:4] + mutate_bytes(rng, payload)
    return body[:4] + mutate_bytes(rng, payload)


def mutate_archive(rng: random.Random, seed: ArchiveSeed) -> tuple[str, bytes]:
    """A mutated archive: raw bytes (stale checksums), a chunk payload or the index JSON with checksums
    recomputed, or a section's contents re-packed."""
    kind = rng.randrange(4)
    frames = _frames(seed.data)
    if kind == 0:
        return "bytes", mutate_bytes(rng, seed.data)
    if kind == 1:
        offset, _, body = frames[-1]
        doc = json.loads(zstandard.ZstdDecompressor().decompress(body))
        new = mutate_json(rng, doc, keep=frozenset({"sha256"}))
        text = json.dumps(new).encode() if rng.random() < 0.95 else mutate_bytes(rng, json.dumps(new).encode())
        return "index", _rebuild(seed.data, {offset: zstandard.ZstdCompressor().compress(text)})
    chunks = [f for f in frames if f[1] == b"CHNK"]
    if not chunks:
        return "bytes", mutate_bytes(rng, seed.data)
    offset, _, body = rng.choice(chunks)
    return "payload", _rebuild(seed.data, {offset: _mutate_payload(rng, body)})


def check_archive(path: Path, seed: ArchiveSeed, read_extra: bool) -> bool:
    """Read the archive as ``logs decompress`` does (all files, digests checked); True when the contents equal
    the seed's (file names may differ: a renamed path is what the archive says)."""
    from lakeshrink.codecs.logs.archive import ArchiveReader

    with ArchiveReader(path) as reader:
        got = sorted(b"".join(reader.iter_file(i)) for i in range(len(reader.index.files)))
    if read_extra:
        from lakeshrink.codecs.logs.grep import grep, list_templates

        list_templates(path)
        for _ in grep(path, "a.c"):
            pass
    return got == sorted(seed.files.values())


def fuzz_archives(cases: int, rng: random.Random, work: Path) -> Tally:
    tally = Tally()
    seeds = archive_seeds(work)
    target = work / "case.lslog"
    for n in range(cases):
        if time.monotonic() > DEADLINE[0]:
            break
        seed = seeds[n % len(seeds)]
        kind, data = mutate_archive(rng, seed)
        target.write_bytes(data)
        run_case(tally, lambda: check_archive(target, seed, n % 4 == 0),
                 f"case {n} ({kind}) sha256 {hashlib.sha256(data).hexdigest()[:12]}")
    return tally


# ------------------------------------------------------------------------------------------ sealed documents
@dataclass(frozen=True)
class DocSeed:
    """A sealed document on disk and how the CLI reads it (``load`` raises or returns what it understood)."""

    path: Path
    load: Callable[[], object]


def _sealed_seeds(work: Path) -> list[DocSeed]:
    """An encoding plan, a containment plan with its recipes, and a marks manifest of a copy of the bundled lake."""
    import shutil

    from lakeshrink.codecs.encodings.advisor import advise
    from lakeshrink.codecs.encodings.plan import load_plan as load_encoding_plan
    from lakeshrink.containment.planner import marks
    from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
    from lakeshrink.containment.scan import scan_lake
    from lakeshrink.sample_data import bundled_dir

    lake = work / "lake"
    if not lake.exists():
        shutil.copytree(bundled_dir() / "lake", lake)
        scan = scan_lake(lake)
        scan.save(work / "scan")
        access = work / "access.csv"
        access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t.table},0,\n" for t in scan.table_details))
        make_plan(work / "scan", work / "plan", access=access, options=PlanOptions(gx=False, report=False))
        marks.mark(work / "plan", execute=True)
        advise(lake / "planes.parquet").plan.save(work / "encoding-plan.json")
    import pyarrow.parquet as pq

    planes_schema = pq.read_schema(lake / "planes.parquet")

    def encoding_plan() -> object:
        plan = load_encoding_plan(work / "encoding-plan.json")
        plan.check(planes_schema)
        return plan.writer_kwargs()

    def containment_plan() -> object:
        plan = load_plan(work / "plan")
        return [plan.recipe(m.table) for m in plan.marked]

    def manifest() -> object:
        return marks.read_manifest(str(lake))

    plan_doc = json.loads((work / "plan" / "plan.json").read_text())
    recipe = work / "plan" / plan_doc["marked"][0]["recipe"]
    return [DocSeed(work / "encoding-plan.json", encoding_plan), DocSeed(work / "plan" / "plan.json", containment_plan),
            DocSeed(recipe, containment_plan), DocSeed(lake / marks.MANIFEST, manifest)]


def _reseal(doc: object) -> object:
    from lakeshrink.sealed import seal

    if not isinstance(doc, dict) or not isinstance(doc.get("format"), str) or not isinstance(doc.get("version"), int):
        return doc
    body = {k: v for k, v in doc.items() if k not in ("format", "version", "sha256", "checksum")}
    try:
        return seal(doc["format"], doc["version"], body)
    except Exception:  # noqa: BLE001 - a value the seal cannot hold (NaN): leave it unsealed
        return doc


def fuzz_documents(cases: int, rng: random.Random, work: Path) -> Tally:
    """Mutated sealed documents: bytes, JSON values, and JSON values re-sealed (a valid seal over hostile fields).

    Without a new seal, reading must refuse any change; with one, it must refuse or read it without a traceback.
    """
    tally = Tally()
    seeds = _sealed_seeds(work)
    originals = {s.path: s.path.read_bytes() for s in seeds}
    for n in range(cases):
        if time.monotonic() > DEADLINE[0]:
            break
        seed = seeds[n % len(seeds)]
        original = originals[seed.path]
        doc = json.loads(original)
        kind = rng.randrange(3)
        if kind == 0:
            data, changed = mutate_bytes(rng, original), None
        else:
            new = mutate_json(rng, doc, keep=frozenset({"sha256", "checksum"} if kind == 1 else ()))
            if kind == 2:
                new = _reseal(new)
            data, changed = json.dumps(new, allow_nan=True).encode("utf-8", "surrogatepass"), new
        seed.path.write_bytes(data)

        def check(seed: DocSeed = seed, kind: int = kind, data: bytes = data, changed: object = changed) -> bool:
            seed.load()
            if kind == 2:
                return True  # re-sealed: reading it as written is right
            try:
                same = json.loads(data) == doc
            except ValueError:
                same = False
            return same

        run_case(tally, check, f"case {n} ({seed.path.name}, {'bytes json resealed'.split()[kind]}) "
                               f"sha256 {hashlib.sha256(data).hexdigest()[:12]}")
        seed.path.write_bytes(original)
    return tally


TARGETS: dict[str, Callable[[int, random.Random, Path], Tally]] = {"archive": fuzz_archives, "documents": fuzz_documents}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="cases in all, shared among the targets")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop early after this long and report the cases run (the report says so)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default benchmarks/results/fuzz.json)")
    args = parser.parse_args(argv)
    if args.max_seconds is not None:
        DEADLINE[0] = time.monotonic() + args.max_seconds
    from lakeshrink import progress

    progress.set_enabled(False)
    targets = args.target or sorted(TARGETS)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report: dict[str, object] = {"cases": args.cases, "seed": args.seed, "rss_before_mib": rss0 // 1024}
    bad = 0
    with tempfile.TemporaryDirectory(prefix="lakeshrink-fuzz-") as tmp:
        for name in targets:
            start = time.perf_counter()
            tally = TARGETS[name](args.cases // len(targets), random.Random(f"{args.seed}-{name}"), Path(tmp))
            seconds = time.perf_counter() - start
            counts = {k: tally.counts.get(k, 0) for k in ("ok", "refused", "wrong", "traceback", "hang")}
            bad += counts["wrong"] + counts["traceback"] + counts["hang"]
            report[name] = {**counts, "seconds": round(seconds, 1), "examples": tally.examples}
            print(f"{name:10s} {sum(counts.values()):7d} cases in {seconds:7.1f}s  " +
                  "  ".join(f"{k} {v}" for k, v in counts.items()))
            for line in tally.examples:
                print("   ", line)
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak RSS {report['peak_rss_mib']} MiB (before the first case: {report['rss_before_mib']} MiB)")
    out = args.out or RESULTS / "fuzz.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
