"""Integers coded per key (metadata version 3): exact inverse, chosen for interleaved session line numbers,
and chunks of the earlier metadata versions still decode."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import keyed
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec


def test_keyed_residuals_invert_exactly():
    rng = np.random.default_rng(7)
    for n in (0, 1, 5, 1000):
        keys = rng.integers(0, 9, n)
        values = rng.integers(-(2**40), 2**40, n)
        assert np.array_equal(col.undo_keyed(col.keyed_residuals(values, keys), keys), values)


def _sessions_log(lines: int) -> bytes:
    rng = random.Random(3)
    counters: dict[int, int] = {}
    out = []
    for i in range(lines):
        pid = rng.choice(range(4000, 4040))
        counters[pid] = counters.get(pid, rng.randrange(1, 10**6)) + 1  # long-lived sessions
        out.append(json.dumps({"ts": f"2026-11-30 12:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i % 1000:03d}", "pid": pid,
                               "line_num": counters[pid], "msg": rng.choice(["BEGIN", "COMMIT", "SELECT 1"])},
                              separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def _descs(meta: dict) -> list[dict]:
    found = []

    def walk(d):
        if isinstance(d, dict):
            found.append(d)
            for v in d.values():
                walk(v)
        elif isinstance(d, list):
            for v in d:
                walk(v)

    walk(meta["tpl"])
    return found


def test_session_line_numbers_are_keyed_and_round_trip():
    data = _sessions_log(5000)
    result = LogCodec(CodecConfig()).encode_chunk(data)
    assert result.mode == "columnar"
    meta, _ = chunk_mod.read_meta(result.payload, len(data))
    assert meta["v"] >= 3 and any(d.get("t") == "kints" for d in _descs(meta))
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data
    assert chunk_mod.decode_chunk(result.payload) == data  # the unbounded path too


def test_version_2_chunks_still_decode(monkeypatch):
    data = b"".join(b"2026-11-30 12:00:%02d INFO job %d finished in %d ms\n" % (i % 60, i, i * 7 % 1000) for i in range(3000))
    monkeypatch.setattr(chunk_mod, "META_VERSION", 2)
    monkeypatch.setattr(chunk_mod.keyed, "rekey", lambda columns, encoded: encoded)  # what version 2 wrote
    payload = LogCodec(CodecConfig()).encode_chunk(data).payload
    monkeypatch.undo()
    meta, _ = chunk_mod.read_meta(payload, len(data))
    assert meta["v"] == 2
    assert chunk_mod.decode_chunk(payload, raw_bytes=len(data)) == data


# -- key codes by a join are the dense ranks of rank("dense") ----------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_key_codes_by_join_are_dense_ranks(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    words = ["", "a", "B", "b", "é", "É", "z\u00a0", "10", "9", "-1", "ab", "a\x00", "日本", "\U0001f600", "Z"]
    values = pl.Series("k", [words[i] for i in rng.integers(0, len(words), 4000)]
                       + [str(v) for v in rng.integers(0, 300, 4000)])
    monkeypatch.setattr(keyed, "CODES_BY_JOIN", False)
    ranked = keyed._key_codes(values)
    monkeypatch.setattr(keyed, "CODES_BY_JOIN", True)
    joined = keyed._key_codes(values)
    assert ranked is not None and joined is not None
    assert joined.dtype == ranked.dtype and np.array_equal(joined, ranked)
