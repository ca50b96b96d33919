"""Compression fast paths (the allocator, the Bloom filter, keys made once, the header split on spaces, one
skeleton, sections compressed early, the check beside LZMA2): each gives exactly what the plain path gives (the
payload bytes do not change), and the work it saves is really not done (a test that only compared bytes would
pass with the change switched off). The shapes' fast replacements are tested in ``test_logs_structured.py``,
key codes by a join in ``test_logs_keyed.py``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs import archive as ar
from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import keyed, packing
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.files import start_codec


def _plain_table(data: bytes, bits: int) -> np.ndarray:
    table = np.zeros(bits, dtype=bool)
    table[ar._trigram_hashes(data, bits)] = True
    return table


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 1000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (1 << 20) + 2,
                                  (1 << 20) + 3, 3 * (1 << 20) + 7])
def test_bloom_table_in_place_is_the_plain_table(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    for bits in (ar.BLOOM_BITS, 1 << 10):
        assert np.array_equal(ar._trigram_table(data, bits), _plain_table(data, bits))


def test_bloom_of_a_log_is_unchanged():
    lines = [f"2026-12-01 09:{i % 60:02d}:{i % 7:02d}.{i % 1000:03d} UTC [{3000 + i % 17}] LOG:  duration: "
             f"{i * 0.013:.3f} ms  statement: SELECT {i};\n" for i in range(60_000)]
    data = "".join(lines).encode()
    assert len(data) >= ar.BLOOM_MIN_BYTES
    assert np.array_equal(ar._trigram_table(data, ar.BLOOM_BITS), _plain_table(data, ar.BLOOM_BITS))
    bloom = ar.make_bloom(data)
    assert ar.bloom_may_contain(bloom, b"statement: SELECT 5999")
    assert not ar.bloom_may_contain(bloom, b"ZZZQQQ")


def test_bloom_works_in_one_small_buffer():
    """The old form made about eight arrays per 1 MiB step (13.3 MiB at its peak on this input, each array
    faulted in afresh in a worker); now every step's hashes go through one 2 MiB buffer."""
    import tracemalloc

    data = bytes(range(256)) * (5 * (1 << 20) // 256)
    tracemalloc.start()
    try:
        ar._trigram_table(data, ar.BLOOM_BITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20


def test_rekey_encodes_each_key_once(monkeypatch):
    """A key column's own coding is the same whichever integer column is tried with it: made once per key."""
    rng = np.random.default_rng(3)
    n = 2000
    sessions = rng.integers(0, 40, n)
    counters = {}
    line_num = []
    for s in sessions.tolist():
        counters[s] = counters.get(s, 0) + 1
        line_num.append(counters[s])
    columns = [
        pl.Series("a", [str(v) for v in line_num]),
        pl.Series("b", [str(v * 3) for v in line_num]),
        pl.Series("c", [str(int(v)) for v in rng.integers(0, 10**6, n)]),
        pl.Series("k", [f"s{v}" for v in sessions.tolist()]),
        pl.Series("j", [f"p{v % 9}" for v in sessions.tolist()]),
    ]
    encoded = [col.encode_strings(c) for c in columns]
    seen: list[bytes] = []
    real = col.encode_ints

    def counting(values):
        seen.append(np.asarray(values).tobytes())
        return real(values)

    monkeypatch.setattr(col, "encode_ints", counting)
    out = keyed.rekey(columns, encoded)
    monkeypatch.setattr(col, "encode_ints", real)
    key_codes = [keyed._key_codes(c) for c in columns]
    key_codes = [k.tobytes() for k in key_codes if k is not None]
    assert len(key_codes) >= 2
    for codes in key_codes:
        assert seen.count(codes) == 1
    assert len(seen) > 2 * len(key_codes)  # the residuals of several columns were tried with each key
    assert [e.desc for e in out] == [e.desc for e in keyed.rekey(columns, encoded)]


_FAULTS = """
import resource, sys
import numpy as np
from lakeshrink.codecs.logs.parallel import tune_allocator
from lakeshrink.memory import libc as _libc
if _libc() is None:
    print(-1); sys.exit()
tune_allocator()
a = np.ones(54_000, dtype=np.int64)  # a template's column of a 17 MiB chunk: 432 KiB
for _ in range(3):
    (a << 1).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    b = (a << 1) ^ (a >> 63)
    del b
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_worker_allocator_reuses_column_sized_blocks():
    """Column arrays of a chunk come from the heap, not a new mapping each time (with the 128 KiB threshold
    of round 5 each of these 600 arrays was faulted in page by page: about 64,000 faults)."""
    faults = int(subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, check=True).stdout)
    if faults < 0:
        pytest.skip("not glibc: the allocator is not tuned")
    assert faults < 5_000


SPACE_FORMATS = ["<Content>", "<A> <B>", "<Date> <Time> <Content>", "<Date> <Time> <Level> <Content>", "<A>   <B> <C>"]


@pytest.mark.parametrize("spec", SPACE_FORMATS)
def test_header_split_on_spaces_is_the_regex_split(spec):
    """The space cut of a format of space-separated fields gives the lazy regex's groups on every line:
    runs of spaces, tabs, Unicode spaces, empty fields, leading and trailing whitespace, too few fields."""
    import random

    from lakeshrink.codecs.logs.header import parse_format, space_fields, split_header, split_on_spaces

    fmt = parse_format(spec)
    fields = space_fields(fmt.regex)
    assert fields == spec.count("<")
    rng = random.Random(spec)
    words = ["2026-12-01", "09:22:26.770", "UTC", "[3156]", "LOG:", "a", "", "x=1", "\u00e9", "\u2713"]
    seps = [" "] * 12 + ["  ", "\t", " \t", "\u00a0", "\u2003", "\r"]
    lines = ["".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(0, 7))) + rng.choice(words)
             for _ in range(4000)]
    lines += ["", " ", "  ", "a", " a", "a ", "a  b", "a b c d e f", "\ta b c d", "a b c d ", "a b c  d"]
    series = pl.Series("l", lines, dtype=pl.String)
    names = [p.group for p in fmt.parts]
    slow = series.str.extract_groups(fmt.regex).struct.unnest().select(names)
    assert split_on_spaces(series, fields, names, fmt.regex).equals(slow)
    split = split_header(fmt, series)
    assert split.matched.to_list() == slow[names[0]].is_not_null().to_list()
    assert split.parts.equals(slow.with_columns(pl.all().fill_null("")))


def test_space_fields_only_for_space_separated_formats():
    from lakeshrink.codecs.logs.header import parse_format, space_fields

    for spec in ["<Date> <Time> <Level> <Component>: <Content>", "<A>,<B>", "<A> (<B> )?<C>", "[<A>] <B>"]:
        assert space_fields(parse_format(spec).regex) is None


def _skeleton_columns() -> list[pl.Series]:
    import random

    rng = random.Random(11)
    n = 6000  # longer than the sampled profile (4,096 values) as well as short columns
    out = []
    for size in (300, n):
        out += [
            pl.Series([f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
                       f"{rng.randint(0, 999):03d}" for _ in range(size)]),
            pl.Series([f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}:{rng.randint(1, 65535)}"
                       for _ in range(size)]),
            pl.Series([f"{rng.random() * 10:.3f}" for _ in range(size)]),
            pl.Series([f"blk_{rng.randint(-10**12, 10**12)}" for _ in range(size)]),  # letters in a literal
            pl.Series([f"{rng.choice('ab')}{rng.randint(0, 9)}:{rng.randint(0, 99)}" for _ in range(size)]),
            pl.Series([f"{rng.randint(0, 9)}:{rng.choice(['x', '1', 'y2'])}" for _ in range(size)]),
        ]
    return out


def test_same_skeleton_is_built_once_with_the_same_encoding(monkeypatch):
    built = []
    real_runs = col._runs

    def counting_runs(values, index, count, literals=None):
        built.append(index)
        return real_runs(values, index, count, literals)

    monkeypatch.setattr(col, "_runs", counting_runs)
    for values in _skeleton_columns():
        monkeypatch.setattr(col, "SKIP_SAME_SKELETON", True)
        built.clear()
        fast = col.encode_strings(values)
        fast_built = list(built)
        monkeypatch.setattr(col, "SKIP_SAME_SKELETON", False)
        built.clear()
        plain = col.encode_strings(values)
        assert fast.desc == plain.desc and fast.streams == plain.streams, values.head(3).to_list()
        assert len(fast_built) <= len(built)
    # a clock: both run classes give one skeleton, built once now
    monkeypatch.setattr(col, "SKIP_SAME_SKELETON", True)
    built.clear()
    col.encode_strings(_skeleton_columns()[6])
    assert built == [0]


def test_keyed_residuals_with_the_order_given_are_the_same():
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 5000):
        keys = rng.integers(0, 30, n)
        values = rng.integers(-1000, 10**6, n)
        order = np.argsort(keys, kind="stable")
        assert np.array_equal(col.keyed_residuals(values, keys, order), col.keyed_residuals(values, keys))


def test_rekey_sorts_each_key_once(monkeypatch):
    """The rows of a key in key order are found once per key, not once per integer column tried with it."""
    rng = np.random.default_rng(9)
    n = 3000
    sessions = rng.integers(0, 50, n)
    columns = [pl.Series("k", [f"s{v}" for v in sessions.tolist()])]
    columns += [pl.Series(f"v{i}", [str(int(v)) for v in rng.integers(0, 10**6, n)]) for i in range(4)]
    encoded = [col.encode_strings(c) for c in columns]
    expected = [(e.desc, e.streams) for e in keyed.rekey(columns, encoded)]
    sorts = []
    real = np.argsort

    def counting(a, *args, **kwargs):
        if len(a) == n and kwargs.get("kind") == "stable":
            sorts.append(1)
        return real(a, *args, **kwargs)

    monkeypatch.setattr(col.np, "argsort", counting)
    out = keyed.rekey(columns, encoded)
    monkeypatch.setattr(col.np, "argsort", real)
    assert [(e.desc, e.streams) for e in out] == expected
    assert len(sorts) == 1  # one key, four integer columns


def test_handed_chunk_is_dropped_once_pickled():
    import pickle

    from lakeshrink.codecs.logs.files import Handed, encode_job

    data = b"2026-12-01 09:22:26.770 UTC [3156] LOG:  x\n" * 10
    handed = Handed(data)
    blob = pickle.dumps((1, handed))
    assert handed.data is None  # the parent no longer holds the chunk
    assert pickle.loads(blob) == (1, data)
    assert type(pickle.loads(blob)[1]) is bytes
    with pytest.raises(RuntimeError):
        pickle.dumps(handed)
    # run inline (one job, no worker), it is read as it is
    from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec

    codec = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>"))
    chunk = encode_job("t", pickle.dumps(codec), Handed(data), "x")
    assert chunk.raw_bytes == len(data)


def test_iter_chunks_keeps_no_whole_block_beside_the_chunk():
    """While a chunk is out, the reader holds the look-ahead block and the cut-off tail, not the whole block
    the chunk was cut from as well (17 MiB less in the parent of a two-worker compression)."""
    import io
    import tracemalloc

    from lakeshrink.codecs.logs.files import iter_chunks

    block = 1 << 20
    data = (b"x" * 99 + b"\n") * (6 * block // 100)
    plain = []
    buf = data[:block]
    pos = block
    while buf:  # the chunks as before: cut at the last newline when more follows
        nxt = data[pos : pos + block]
        pos += block
        if not nxt:
            plain.append(buf)
            break
        cut = buf.rfind(b"\n")
        plain.append(buf[: cut + 1])
        buf = buf[cut + 1 :] + nxt
    import hashlib

    stream = io.BytesIO(data)
    digests = []
    peak_held = 0
    tracemalloc.start()
    try:
        for chunk in iter_chunks(stream, block, name="x", max_line_bytes=0):
            peak_held = max(peak_held, tracemalloc.get_traced_memory()[0])
            digests.append(hashlib.sha256(chunk).digest())
            del chunk
    finally:
        tracemalloc.stop()
    assert digests == [hashlib.sha256(c).digest() for c in plain]
    assert peak_held < 2.5 * block  # the chunk and the look-ahead (before: the whole block too, 3 blocks)


# -- sections compressed as soon as their column is ready, and the writer's check beside LZMA2 -------------
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
