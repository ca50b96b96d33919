"""Round 8's compression speed work: each change gives exactly the payload bytes the plain path gives, and
really takes the path it claims (a test that only compared bytes would pass with the change switched off)."""

from __future__ import annotations

import numpy as np
import pytest

from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import packing
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.files import start_codec


def _pg_log(lines: int = 40_000, seed: int = 8) -> bytes:
    rng = np.random.default_rng(seed)
    pids = rng.integers(3000, 3040, lines).tolist()
    ms = rng.gamma(2.0, 0.4, lines).tolist()
    aids = rng.integers(1, 10**6, lines).tolist()
    out = []
    for i in range(lines):
        stamp = f"2026-12-01 09:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d} UTC"
        if i % 3:
            out.append(f"{stamp} [{pids[i]}] LOG:  duration: {ms[i]:.3f} ms  statement: UPDATE pgbench_accounts "
                       f"SET abalance = abalance + {aids[i] % 5000 - 2500} WHERE aid = {aids[i]};\n")
        else:
            out.append(f"{stamp} [{pids[i]}] LOG:  duration: {ms[i]:.3f} ms  statement: SELECT abalance FROM "
                       f"pgbench_accounts WHERE aid = {aids[i]};\n")
    return "".join(out).encode()


def _encode(data: bytes) -> bytes:
    codec = LogCodec(CodecConfig())
    start_codec(codec, data, "test.log")
    return codec.encode_chunk(data).payload


def test_early_sections_are_the_same_bytes_and_really_start_early(monkeypatch):
    data = _pg_log()
    started: list[int] = []
    real = packing.start_section

    def counting(raw, options, width=1):
        started.append(len(raw))
        return real(raw, options, width)

    monkeypatch.setattr(chunk_mod, "start_section", counting)
    monkeypatch.setattr(chunk_mod, "CHECK_BESIDE", False)  # it starts every section itself, at the end
    monkeypatch.setattr(chunk_mod, "EARLY_SECTIONS", False)
    plain = _encode(data)
    assert started == []
    monkeypatch.setattr(chunk_mod, "EARLY_SECTIONS", True)
    early = _encode(data)
    assert started and min(started) >= chunk_mod.BIG_STREAM  # big streams only, and some were started early
    assert early == plain
    assert chunk_mod.decode_chunk(early, raw_bytes=len(data)) == data


@pytest.mark.parametrize("which", [[], [1], [2], [1, 3], [0, 1, 2, 3]])
def test_pack_all_with_started_sections_writes_the_same_bytes(which):
    rng = np.random.default_rng(len(which))
    sections = [rng.integers(0, 50, size, dtype=np.uint8).tobytes() for size in (300, 1 << 19, 5000, 1 << 20)]
    widths = [1, 2, 1, 4]
    options = CodecConfig().pack_options
    plain = bytearray()
    packing.pack_all(sections, options, plain, widths=widths)
    started = [packing.start_section(s, options, w) if i in which else None
               for i, (s, w) in enumerate(zip(sections, widths))]
    out = bytearray()
    packing.pack_all(sections, options, out, widths=widths, started=started)
    assert out == plain
    pos, back = 0, []
    for _ in sections:
        raw, pos = packing.unpack(bytes(out), pos)
        back.append(raw)
    assert back == sections


# ---------------------------------------------------------------------------------- structured shapes
_ALPHABET = list(':  \t"\\,\x00{}019-.eEtrufalsn') + ["\u00a0", "é", "\n"]


@pytest.mark.parametrize("kind", ["json", "csv"])
@pytest.mark.parametrize("seed", range(4))
def test_shapes_without_captures_are_the_shapes_with_them(kind, seed, monkeypatch):
    """Random text over the characters the two forms care about (colons, spaces, quotes, escapes, commas, NUL,
    scalar starts, Unicode spaces): the fast replacements give the same shapes, row for row."""
    import polars as pl

    from lakeshrink.codecs.logs import structured

    rng = np.random.default_rng(seed)
    values = ["".join(rng.choice(_ALPHABET, size=int(rng.integers(0, 40)))) for _ in range(5000)]
    values += ['{"a":"x","b": 1, "c" :"y","d":\t"z","e":-2.5e3,"f":true}', 'a,"b",,c"d",e\x00f,"g"h', "a,b\x00c,d", "\x00x,1"]
    contents = pl.Series("c", values)
    monkeypatch.setattr(structured, "FAST_REPLACE", False)
    slow = structured.shapes(kind, contents)
    monkeypatch.setattr(structured, "FAST_REPLACE", True)
    fast = structured.shapes(kind, contents)
    assert fast.equals(slow)
    # both kinds of values are there: ones the fast form takes alone, and ones it leaves to the slow form
    rule = structured._JSON_STRINGS if kind == "json" else structured._CSV_FIELDS
    risky = contents.str.contains(rule[4])
    assert 0 < int(risky.sum()) < len(values) // 2


def test_jsonlog_and_csvlog_shapes_unchanged(monkeypatch):
    import polars as pl

    from lakeshrink.codecs.logs import structured

    json_lines = pl.Series("c", [f'{{"timestamp":"2026-12-01 09:00:{i % 60:02d}.{i % 1000:03d} UTC","pid":{3000 + i % 7},'
                                 f'"session_id":"6740a{i % 9:03x}.{i % 13:x}","line_num":{i},"message":"duration: '
                                 f'{i * 0.01:.3f} ms","x":null,"y":[1, 2], "z": -1}}' for i in range(3000)])
    csv_lines = pl.Series("c", [f'2026-12-01 09:00:{i % 60:02d}.{i % 1000:03d} UTC,"bench","pgbench",{3000 + i % 7},'
                                f'"[local]",6740a{i % 9:03x}.{i % 13:x},{i},"UPDATE",,LOG,00000,"duration: '
                                f'{i * 0.01:.3f} ms  statement: SELECT ""x"", 1",,,,,,,,"pgbench",client backend,,0'
                                for i in range(3000)])
    for kind, contents in (("json", json_lines), ("csv", csv_lines)):
        monkeypatch.setattr(structured, "FAST_REPLACE", False)
        slow = structured.shapes(kind, contents)
        monkeypatch.setattr(structured, "FAST_REPLACE", True)
        assert structured.shapes(kind, contents).equals(slow)


# ------------------------------------------------------------------------------------------- key codes
@pytest.mark.parametrize("seed", range(3))
def test_key_codes_by_join_are_dense_ranks(seed, monkeypatch):
    import polars as pl

    from lakeshrink.codecs.logs import keyed

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


# ------------------------------------------------------------------------- the check beside LZMA2
def test_check_beside_is_the_same_payload(monkeypatch):
    data = _pg_log(20_000, seed=3)
    monkeypatch.setattr(chunk_mod, "CHECK_BESIDE", False)
    after = _encode(data)
    monkeypatch.setattr(chunk_mod, "CHECK_BESIDE", True)
    beside = _encode(data)
    assert beside == after and beside[0] == chunk_mod.MODE_COLUMNAR


def _encode_result(data: bytes):
    codec = LogCodec(CodecConfig())
    start_codec(codec, data, "test.log")
    return codec.encode_chunk(data)


def test_check_beside_catches_a_columnar_form_that_decodes_wrong(monkeypatch):
    data = _pg_log(5_000, seed=4)
    real = chunk_mod.decode_chunk
    monkeypatch.setattr(chunk_mod, "decode_chunk", lambda payload, *a, **k: bytes(real(payload, *a, **k)) + b"!")
    result = _encode_result(data)
    assert result.mode != "columnar" and result.fallback == "the columnar form did not decode to the input"
    assert real(result.payload, raw_bytes=len(data)) == data


def test_check_beside_catches_a_section_that_unpacks_wrong(monkeypatch):
    """The stored form decodes right, but a compressed section is not what was stored: caught by unpacking."""
    data = _pg_log(5_000, seed=5)
    real = packing._framed

    def damaged(raw, options, zstd, width):
        out = real(raw, options, zstd, width)
        out[-1] ^= 0x55
        return out

    monkeypatch.setattr(packing, "_framed", damaged)
    result = _encode_result(data)
    assert result.mode != "columnar"
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data


def test_compression_workers_check_after_lzma2(monkeypatch):
    """In a worker process every core is busy with chunks: the check is not run beside LZMA2 there (it would
    save no time and hold both memories at once)."""
    from lakeshrink.codecs.logs import files

    monkeypatch.setattr(chunk_mod, "CHECK_BESIDE", True)
    files._warm_worker()
    assert chunk_mod.CHECK_BESIDE is False
