"""Linked columns (metadata version 5): a parameter repeating the value another template's line of the same
session printed before (pgbench's account id on its UPDATE, SELECT and INSERT lines)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import linked
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.errors import CorruptArchive

FORMAT = "<Date> <Time> <Content>"


def _sessions_log(transactions: int, broken_every: int = 0) -> bytes:
    """Interleaved sessions, each transaction three lines of one pid: the id and amount of the first line are
    printed again on the second and third (the third in another order); ``broken_every``: every so many
    transactions the third line prints another id (an exception)."""
    rng = np.random.default_rng(11)
    pids = [4100 + 7 * k for k in range(6)]
    pending: dict[int, list[str]] = {p: [] for p in pids}
    out = []
    t = 0
    done = 0
    while done < transactions:
        pid = pids[int(rng.integers(len(pids)))]
        if not pending[pid]:
            aid, delta, tid = int(rng.integers(1, 500_000)), int(rng.integers(-5000, 5000)), int(rng.integers(1, 50))
            third = aid if not broken_every or done % broken_every else aid + 1
            pending[pid] = [
                f"[{pid}] UPDATE accounts SET balance = balance + {delta} WHERE aid = {aid};",
                f"[{pid}] SELECT balance FROM accounts WHERE aid = {aid};",
                f"[{pid}] INSERT INTO history VALUES ({tid}, {third}, {delta});",
            ]
            done += 1
        t += int(rng.integers(0, 3))
        out.append(f"2026-12-01 20:{t // 60000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d} {pending[pid].pop(0)}")
    for pid in pids:
        out += [f"2026-12-01 21:00:00.000 {line}" for line in pending[pid]]
    return ("\n".join(out) + "\n").encode()


def _links(payload: bytes, raw: int) -> list[dict]:
    meta, _ = chunk_mod.read_meta(payload, raw)
    return [d for _, _, ds in meta["tpl"] for d in ds if d["t"] == "lnk"]


@pytest.mark.parametrize("arrow", [True, False])  # both decoders
@pytest.mark.parametrize("broken_every", [0, 37])
def test_repeats_are_linked_and_exact(arrow, broken_every, monkeypatch):
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0 if arrow else 1 << 40)  # this small chunk by either decoder
    data = _sessions_log(3000, broken_every)
    result = LogCodec(CodecConfig(format=FORMAT)).encode_chunk(data)
    assert result.mode == "columnar"
    links = _links(result.payload, len(data))
    # the SELECT's aid, the INSERT's aid and its delta: each the value its pid's UPDATE printed before
    assert len(links) >= 3 and all(d["a"] >= 0 and d["b"] >= 0 for d in links)
    assert sum(d["k"] for d in links) >= (3000 // broken_every if broken_every else 0)
    out = bytes(chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)))
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()


def test_links_make_the_chunk_smaller(monkeypatch):
    data = _sessions_log(3000)
    linked_size = len(LogCodec(CodecConfig(format=FORMAT)).encode_chunk(data).payload)
    monkeypatch.setattr(chunk_mod.linked, "link", lambda rows, columns, encoded: [list(e) for e in encoded])
    plain_size = len(LogCodec(CodecConfig(format=FORMAT)).encode_chunk(data).payload)
    assert linked_size < 0.9 * plain_size


def test_version_4_chunks_still_decode(monkeypatch):
    data = _sessions_log(3000)
    monkeypatch.setattr(chunk_mod, "META_VERSION", 4)
    monkeypatch.setattr(chunk_mod.linked, "link", lambda rows, columns, encoded: [list(e) for e in encoded])
    payload = LogCodec(CodecConfig(format=FORMAT)).encode_chunk(data).payload
    monkeypatch.undo()
    meta, _ = chunk_mod.read_meta(payload, len(data))
    assert meta["v"] == 4 and not _links(payload, len(data))
    assert chunk_mod.decode_chunk(payload, raw_bytes=len(data)) == data


def test_lookup_takes_the_lag_th_last_row_of_the_same_key():
    # source rows at lines 0, 2, 4, 6 with keys a, b, a, a; targets at lines 5 and 7, key a
    order = linked._Order(np.array([0, 2, 4, 6]), np.array([0, 1, 0, 0]), top=10)
    ok, at = order.lookup(np.array([5, 7, 7, 1]), np.array([0, 0, 0, 1]), lag=1)
    assert ok.tolist() == [True, True, True, False] and at[:3].tolist() == [2, 3, 3]
    ok, at = order.lookup(np.array([5, 7]), np.array([0, 0]), lag=2)
    assert ok.tolist() == [True, True] and at.tolist() == [0, 2]
    ok, _ = order.lookup(np.array([5]), np.array([-1]), lag=1)  # a key the source never has
    assert ok.tolist() == [False]
    ok, at = order.lookup(np.array([4]), np.array([0]), lag=1)  # the source's own line (a column of the same
    assert ok.tolist() == [True] and at.tolist() == [0]  # template) is not before itself


def _tamper(payload: bytes, raw: int, change) -> bytes:
    meta, streams = chunk_mod.read_meta(payload, raw)
    change([d for _, _, ds in meta["tpl"] for d in ds if d["t"] == "lnk"][0], meta)
    meta.pop("loc")
    return chunk_mod._pack(meta, streams, CodecConfig().pack_options)


@pytest.mark.parametrize("change", [
    lambda d, m: d.update(s=99),  # no such template
    lambda d, m: d.update(j=99),  # no such column
    lambda d, m: d.update(l=0),  # lags start at 1
    lambda d, m: d.update(a=-1),  # a key on one side only
    lambda d, m: d.update(k=10**9),  # more exceptions than rows
    lambda d, m: d.update(l=linked.MAX_LAG),  # rows left with neither a source value nor an exception
    lambda d, m: d.update(s=next(i for i, (_, _, ds) in enumerate(m["tpl"]) if d in ds),
                          j=next(j for j, x in enumerate(next(ds for _, _, ds in m["tpl"] if d in ds)) if x is d)),
])
def test_hostile_links_are_refused(change):
    data = _sessions_log(3000)
    payload = LogCodec(CodecConfig(format=FORMAT)).encode_chunk(data).payload
    bad = _tamper(payload, len(data), change)
    with pytest.raises(CorruptArchive):
        chunk_mod.decode_chunk(bad, raw_bytes=len(data))


def test_keys_compare_as_text():
    import polars as pl

    from lakeshrink.codecs.logs import columns as col

    src = col.encode_strings(pl.Series(["42", "7", "42", "9"] * 8))
    padded = col.encode_strings(pl.Series(["0042", "0007", "0042", "1234"] * 8))  # the same numbers, other text
    plain = col.encode_strings(pl.Series(["7", "42", "5", "9"] * 8))
    assert src.desc["t"] == padded.desc["t"] == "int" and src.desc["z"] != padded.desc["z"]
    src_codes, own_codes = linked._key_codes(src.desc, list(src.streams), 32, padded.desc, list(padded.streams), 32)
    assert (own_codes == -1).all()  # "0042" is not the key "42"
    src_codes, own_codes = linked._key_codes(src.desc, list(src.streams), 32, plain.desc, list(plain.streams), 32)
    assert own_codes[:4].tolist() == [src_codes[1], src_codes[0], -1, src_codes[3]]
