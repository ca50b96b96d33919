"""Where a chunk's archive bytes go: its streams (header parts, template parameters, kinds, residues) and the
sections they are packed into, with their compressed sizes.

Usage::

    python benchmarks/logs_sections.py FILE [--mb 16] [--top 30] [--ppmd]

Encodes the first ``--mb`` MiB of FILE (up to a whole line) as one chunk, as ``logs compress`` does, then prints

* per stream: what it is (``h2`` header part 2, ``T24 p7`` parameter 7 of template 24 with its line count, ``kind``,
  ``rc`` ...), its column type, its raw bytes and its size compressed alone with LZMA2 preset 6 (``pb=0``), the
  largest first. Streams under 64 KiB share section 0, where LZMA2 also finds what they have in common (equal
  sequences in two columns cost about once there), so their sizes alone over-count;
* per section: raw and packed bytes (what the archive stores: LZMA2 or zstd, the width trial of integer
  sections), and with ``--ppmd`` PPMd7 (``pyppmd``, if installed; orders 3 to 12, 64 MiB) of the same bytes.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakeshrink.codecs.logs import chunk  # noqa: E402
from lakeshrink.codecs.logs import columns as col  # noqa: E402
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec  # noqa: E402
from lakeshrink.codecs.logs.packing import PackOptions, _framed  # noqa: E402


def _alone(data: bytes) -> int:
    if len(data) <= 16:
        return len(data)
    return len(lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6, "pb": 0}]))


def _labels(meta: dict, counts: dict[int, int]) -> list[tuple[str, dict]]:
    """(label, descriptor) per column, in the order the streams were written (see chunk._decode_columnar)."""
    out = [(f"h{i}", d) for i, d in enumerate(meta["h"]) if d is not None]
    for cid, text, descs in meta["tpl"]:
        out += [(f"T{cid} p{j} ({counts.get(cid, 0):,} lines: {text[:60]})", d) for j, d in enumerate(descs)]
    out += [(k, meta[k]) for k in ("cr", "kind", "rl", "rc", "bin") if meta.get(k) is not None]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--mb", type=float, default=16)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--ppmd", action="store_true", help="PPMd7 of each section too (needs pyppmd)")
    args = ap.parse_args()
    with open(args.file, "rb") as fh:
        data = fh.read(int(args.mb * (1 << 20)))
    data = data[: data.rfind(b"\n") + 1] if b"\n" in data else data
    codec = LogCodec(CodecConfig())
    codec.ensure_format(data[: 1 << 16].decode("utf-8", "replace").split("\n")[:200])
    assert codec.format is not None and codec.miner is not None
    start = time.process_time()
    meta, out, counts, _, _ = chunk._columns(data, codec.format, codec.miner, None)
    print(f"{args.file.name}: {len(data):,} bytes, format {codec.format.spec!r}, "
          f"columns in {time.process_time() - start:.2f} s of CPU")
    rows = []
    pos = 0
    for label, desc in _labels(meta, counts):
        k = col.stream_count(desc)
        streams = out.streams[pos : pos + k]
        pos += k
        rows.append((sum(_alone(s) for s in streams), sum(len(s) for s in streams), label, desc["t"],
                     any(len(s) >= chunk.BIG_STREAM for s in streams)))
    total = sum(r[0] for r in rows) or 1
    print(f"\nstreams, compressed alone (LZMA2 6): {total:,} B in all; largest {args.top}:")
    print(f"{'alone B':>9} {'share':>6} {'raw B':>10}  type   own section  column")
    for alone, raw, label, kind, big in sorted(rows, reverse=True)[: args.top]:
        print(f"{alone:9,} {alone / total:6.1%} {raw:10,}  {kind:6} {'yes' if big else 'no ':3}          {label}")
    small = bytearray()
    big = []
    for s in out.streams:
        if len(s) >= chunk.BIG_STREAM:
            big.append(s)
        else:
            small += s
    sections = [json.dumps(meta, separators=(",", ":")).encode() + bytes(small), *big]
    ppmd = None
    if args.ppmd:
        try:
            import pyppmd as ppmd  # type: ignore[import-not-found,no-redef]
        except ImportError:
            print("(pyppmd is not installed: no PPMd column)")
    options = PackOptions()
    print(f"\nsections as packed{' and PPMd7 of the same bytes' if ppmd else ''}:")
    packed_total = best_total = 0
    for i, s in enumerate(sections):
        packed = len(_framed(s, options, True, getattr(s, "width", 1)))
        line = f"  section {i:2}: raw {len(s):10,} B  width {getattr(s, 'width', 1)}  packed {packed:9,} B"
        best = packed
        if ppmd is not None:
            sizes = {o: len(ppmd.compress(s, max_order=o, mem_size=64 << 20)) for o in (3, 4, 6, 8, 12)}
            order = min(sizes, key=lambda o: sizes[o])
            best = min(best, sizes[order])
            line += f"  PPMd7 order {order}: {sizes[order]:9,} B"
        packed_total += packed
        best_total += best
        print(line)
    print(f"  in all: {packed_total:,} B packed" + (f", {best_total:,} B with the smaller of the two per section"
                                                   if ppmd is not None else ""))


if __name__ == "__main__":
    main()
