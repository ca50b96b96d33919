"""Derived columns (metadata version 4): a human-readable size computed from the byte count beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import derived
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.packing import FramingError
from lakeshrink.errors import CorruptArchive

FULL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "loghub-full" / "Proxifier.log"


@pytest.mark.parametrize(("a", "rule", "want"), [
    (1228, "n:1024:KB:t3", "1.19"),  # Windows StrFormatByteSize truncates: 1.199 -> 1.19
    (1228, "n:1024:KB:r3", "1.20"),
    (34151, "n:1024:KB:t3", "33.3"),
    (1029742, "n:1024:KB:t3", "1005"),  # four digits stay whole
    (15872, "nu:1024:KB:t3", "15.5 KB"),
    (5, "nu:1024:KiB:f1", "5.0 B"),
    (3 << 30, "u:1024:KiB:t3", "GiB"),
    (999_999, "nu:1000:kB:f2", "1000.00 kB"),
    (1_000_000, "nu:1000:kB:f2", "1.00 MB"),
    (2500, "n:1000:KB:f1", "2.5"),
    (2550, "n:1000:KB:f1", "2.6"),  # half-even on the exact quotient 2.55 -> 2.6 (5 is odd)
    (2450, "n:1000:KB:f1", "2.4"),
])
def test_rules(a, rule, want):
    assert derived.compute(rule, [a], "", "") == [want]


def _sizes_log(n: int) -> bytes:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        sent = int(rng.integers(1024, 50_000_000))
        [unit] = derived.compute("u:1024:KB:t3", [sent], "", "")
        value = derived.compute("n:1024:KB:t3", [sent], "", "")[0] if i % 97 else "9.99"  # a few exceptions
        out.append(f"[10.30 16:{i // 60 % 60:02d}:{i % 60:02d}] chrome.exe - host{i % 7}:443 close, {sent} bytes "
                   f"({value} {unit}) sent, {i % 5000} bytes received, lifetime 00:{i % 60:02d}")
    return ("\n".join(out) + "\n").encode()


def _descs(meta: dict) -> list[dict]:
    return [d for _, _, ds in meta["tpl"] for d in ds]


@pytest.mark.parametrize("n", [3000, 20000])  # the list decoder (short chunks) and the vectorised one
def test_sizes_are_derived_and_exact(n):
    data = _sizes_log(n)
    result = LogCodec(CodecConfig(format="Proxifier")).encode_chunk(data)
    assert result.mode == "columnar"
    meta, _ = chunk_mod.read_meta(result.payload, len(data))
    kinds = [d for d in _descs(meta) if d["t"] == "drv"]
    assert meta["v"] >= 4 and {d["f"] for d in kinds} == {"n:1024:KB:t3", "u:1024:KB:t3"}  # the number, its unit
    numbers = [d for d in kinds if d["f"].startswith("n:")]
    assert sum(d["k"] for d in numbers) == len(range(0, n, 97))  # the "9.99" rows are exceptions
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data
    assert chunk_mod.decode_chunk(result.payload) == data
    without = LogCodec(CodecConfig(format="Proxifier"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunk_mod.derived, "derive", lambda columns, encoded: encoded)
        plain = without.encode_chunk(data)
    assert len(result.payload) < 0.9 * len(plain.payload)


def test_unrelated_columns_are_not_derived():
    data = b"".join(b"2026-11-30 12:00:%02d INFO copied %d bytes in %d ms to disk%d\n" % (i % 60, i * 31, i % 13, i % 4)
                    for i in range(2000))
    result = LogCodec(CodecConfig()).encode_chunk(data)
    meta, _ = chunk_mod.read_meta(result.payload, len(data))
    assert not [d for d in _descs(meta) if d["t"] == "drv"]
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data


def _tamper(payload: bytes, raw: int, change) -> bytes:
    """The payload with its metadata changed by ``change`` (re-packed, so only the metadata is wrong)."""
    meta, streams = chunk_mod.read_meta(payload, raw)
    change([d for d in _descs(meta) if d["t"] == "drv"][0], meta)
    meta.pop("loc")
    return chunk_mod._pack(meta, streams, CodecConfig().pack_options)


@pytest.mark.parametrize("change", [
    lambda d, m: d.update(f="n:1024:XB:t3"),
    lambda d, m: d.update(s=99),
    lambda d, m: d.update(s=next(i for i, x in enumerate(_descs(m)) if x["t"] == "drv" and x is not d)),
    lambda d, m: d.update(k=10**9),
    lambda d, m: d.update(p=7),
])
def test_hostile_descriptors_are_refused(change):
    data = _sizes_log(3000)
    payload = LogCodec(CodecConfig(format="Proxifier")).encode_chunk(data).payload
    bad = _tamper(payload, len(data), change)
    with pytest.raises(CorruptArchive):
        chunk_mod.decode_chunk(bad, raw_bytes=len(data))


def test_version_3_chunks_still_decode(monkeypatch):
    data = _sizes_log(3000)
    monkeypatch.setattr(chunk_mod, "META_VERSION", 3)
    monkeypatch.setattr(chunk_mod.derived, "derive", lambda columns, encoded: encoded)  # what version 3 wrote
    payload = LogCodec(CodecConfig(format="Proxifier")).encode_chunk(data).payload
    monkeypatch.undo()
    meta, _ = chunk_mod.read_meta(payload, len(data))
    assert meta["v"] == 3 and not [d for d in _descs(meta) if d["t"] == "drv"]
    assert chunk_mod.decode_chunk(payload, raw_bytes=len(data)) == data


@pytest.mark.slow
@pytest.mark.skipif(not FULL.exists(), reason="../shared/data/loghub-full is not here")
def test_full_proxifier_log():
    data = FULL.read_bytes()
    result = LogCodec(CodecConfig(format="Proxifier")).encode_chunk(data)
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data
    assert len(data) / len(result.payload) > 1.1 * 29.9  # 1.1x DeLog's published ratio (LICENSE-NOTE)

