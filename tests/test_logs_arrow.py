"""The Arrow decoder (lakeshrink/codecs/logs/arrow_decode.py) gives back the exact input bytes, as the list
decoder does: on real logs, on every column type, on odd lines (raw, CRLF, non-UTF-8, no final newline), on
old archives, and through the archive reader's decoding threads."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lakeshrink.codecs.logs import arrow_decode as ad
from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import parallel
from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.header import known_formats


def _decodes(payload: bytes, size: int) -> tuple[bytes, bytes]:
    """The chunk decoded by the list decoder and by the Arrow one (the same bounds as a reader's)."""
    meta, streams = chunk_mod.read_meta(payload, size)
    out = []
    for arrow in (False, True):
        with col.bounded(chunk_mod.string_budget(size)):
            out.append(chunk_mod._decode_columnar(meta, streams, arrow))
    return out[0], out[1]


def _kinds(desc: dict) -> set[str]:
    found = {desc["t"]}
    for key in ("c", "k", "v", "w", "m", "x", "r"):
        sub = desc.get(key)
        if isinstance(sub, dict):
            found |= _kinds(sub)
        elif isinstance(sub, list) and desc["t"] == "skel" and key == "c":
            for s in sub:
                found |= _kinds(s)
    for _, descs in desc.get("p", []) if desc["t"] == "tmpl" else []:
        for d in descs:
            found |= _kinds(d)
    return found


def _payload_kinds(payload: bytes, size: int) -> set[str]:
    meta, _ = chunk_mod.read_meta(payload, size)
    descs = [d for d in meta["h"] if d is not None] + [d for _, _, ds in meta["tpl"] for d in ds]
    descs += [meta["rl"], meta["rc"]]
    return set().union(*(_kinds(d) for d in descs))


def _mixed_log(n: int, seed: int = 7) -> bytes:
    """Lines of many parameter types, and lines that fit no header or template."""
    rng = random.Random(seed)
    levels = ["INFO", "WARN", "ERROR", "DEBUG"]
    users = ["alice", "bob", "carol", "dave", "erin"]
    rows = []
    for i in range(n):
        t = f"2026-12-01 05:{(i // 600) % 60:02d}:{i // 10 % 60:02d},{i % 10 * 100 + rng.randrange(10):03d}"
        pick = i % 9
        lvl = levels[pick % 4] if i % 50 else levels[(pick + 1) % 4]  # mostly one level per template
        if pick == 0:
            msg = f"user {rng.choice(users)} opened file f{rng.randrange(10**6)}.txt in {rng.randrange(-50, 5000)} ms"
        elif pick == 1:
            msg = f"block blk_{rng.randrange(-10**12, 10**12)} id={rng.randrange(10**5):06d} crc {rng.getrandbits(32):08x}"
        elif pick == 2:
            msg = f"connect from {rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(1, 65536)}"
        elif pick == 3:
            msg = f"sent {rng.randrange(10**7)} bytes [{rng.choice(['', str(rng.randrange(100))])}] to peer"
        elif pick == 4:
            msg = f"état {rng.choice(['prêt', 'arrêté', 'démarré'])} ✓ code {rng.randrange(10)}"
        elif pick == 5:
            msg = f"session {rng.getrandbits(64):016X} closed after {rng.randrange(0, 99999)} s"
        elif pick == 6:
            msg = f"size {rng.randrange(10**4):04d} of {rng.randrange(10**2):05d}"
        elif pick == 7:
            msg = "heartbeat ok"
        else:
            msg = f"free text {' '.join(rng.choice(users) for _ in range(rng.randrange(1, 5)))}"
        rows.append(f"{t} {lvl} {msg}".encode())
    for i in range(0, n, 97):
        rows[i] = b"    at org.example.Frame.call(Frame.java:%d)" % i  # continuation lines: kept whole
    for i in range(5, n, 211):
        rows[i] += b"\r"
    rows[len(rows) // 2] = b"\xff\xfe not utf-8 \x80"
    return b"\n".join(rows)  # no final newline


def test_mixed_column_types_decode_the_same_both_ways():
    data = _mixed_log(6000)
    result = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True)).encode_chunk(data)
    assert result.mode == "columnar"
    lists, arrow = _decodes(result.payload, len(data))
    assert lists == data
    assert arrow == data
    kinds = _payload_kinds(result.payload, len(data))
    assert {"int", "text", "skel", "dict", "cond", "hex", "const"} <= kinds, kinds


@pytest.mark.slow
def test_loghub_chunks_decode_the_same_both_ways(loghub):
    seen: set[str] = set()
    for system in [k.name for k in known_formats()]:
        data = (loghub / system / f"{system}_2k.log").read_bytes()
        result = LogCodec(CodecConfig(format=system)).encode_chunk(data)
        if result.mode != "columnar":
            continue
        lists, arrow = _decodes(result.payload, len(data))
        assert lists == data, system
        assert arrow == data, system
        seen |= _payload_kinds(result.payload, len(data))
    # every column type the writer makes on these logs went through the Arrow decoder
    assert {"const", "int", "ints", "iconst", "text", "dict", "hex", "skel", "pack", "eint", "cond", "tmpl", "drv"} <= seen


def test_the_chunk_size_picks_the_decoder_and_the_writer_checks_with_it(monkeypatch):
    data = _mixed_log(3000, seed=11)
    codec = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True))
    used = []
    real = chunk_mod._decode_arrow
    monkeypatch.setattr(chunk_mod, "_decode_arrow", lambda *a: used.append(1) or real(*a))
    result = codec.encode_chunk(data)  # under ARROW_MIN_BYTES: checked by the list decoder, as it is read
    assert not used and result.mode == "columnar"
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data
    assert not used
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0)
    monkeypatch.setattr(chunk_mod, "_decode_lists", lambda *a: pytest.fail("the list decoder was used"))
    again = codec.encode_chunk(data)  # the writer's check decodes as the reader will: with Arrow
    assert used and again.mode == "columnar" and again.fallback is None
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data


def test_a_wrong_arrow_decoder_makes_the_writer_store_the_chunk_whole(monkeypatch):
    data = _mixed_log(3000, seed=12)
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0)
    monkeypatch.setattr(chunk_mod, "_decode_arrow", lambda *a: b"wrong")
    result = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True)).encode_chunk(data)
    assert result.mode != "columnar" and result.fallback
    assert chunk_mod.decode_chunk(result.payload, raw_bytes=len(data)) == data


def test_old_archives_decode_with_arrow(monkeypatch):
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0)
    monkeypatch.setattr(chunk_mod, "_decode_lists", lambda *a: pytest.fail("the list decoder was used"))
    from tests.test_logs_structured import _v1_source

    data = Path(__file__).parent / "data"
    hdfs = Path(__file__).parents[1] / "lakeshrink" / "data" / "logs" / "HDFS_1k.log"
    want = {"a.log": hdfs.read_bytes()[:30000], "sub/b.txt": b"plain line\nline two\n"}
    with ArchiveReader(data / "v1_two_files.lslog") as reader:
        assert {f.path: b"".join(reader.iter_file(i, arrow=True)) for i, f in enumerate(reader.index.files)} == want
    with ArchiveReader(data / "logs_v1.lslog") as reader:
        assert b"".join(reader.iter_file(0, arrow=True)) == _v1_source()


def test_large_files_decode_on_threads_with_arrow(monkeypatch, tmp_path):
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "ARROW_FILE_BYTES", 100 << 10)
    monkeypatch.setenv("LAKESHRINK_WORKERS", "2")
    src = tmp_path / "in.log"
    data = b"\n".join(_mixed_log(3000, seed=s) for s in range(4)) + b"\n"
    src.write_bytes(data)
    archive = tmp_path / "a.lslog"
    report = compress_files([str(src)], archive, CodecConfig(format="<Date> <Time> <Level> <Content>",
                                                                 allow_binary=True, chunk_bytes=64 << 10, workers=1))
    assert report.chunks >= 4 and report.columnar_chunks >= 4
    assert parallel.decode_plan([len(data)]) == parallel.DecodePlan(2, threads=False)  # one chunk
    plan = parallel.decode_plan([100 << 10] * report.chunks)
    assert plan == parallel.DecodePlan(2, threads=True)
    with monkeypatch.context() as m:
        m.setattr(chunk_mod, "ARROW_MIN_BYTES", 50 << 10)
        assert parallel.decode_plan([1 << 10] * 100 + [100 << 10] * 2).threads
        assert not parallel.decode_plan([1 << 10] * 300 + [100 << 10] * 2).threads  # most bytes in small chunks
    arrow = []
    real = chunk_mod._decode_arrow
    monkeypatch.setattr(chunk_mod, "_decode_arrow", lambda *a: arrow.append(1) or real(*a))
    decompress_archive(archive, tmp_path / "out.log")
    assert (tmp_path / "out.log").read_bytes() == data
    assert len(arrow) == report.columnar_chunks  # in this process: on threads
    with ArchiveReader(archive) as reader:
        assert b"".join(reader.iter_file(0, 2, threads=True)) == data
        assert b"".join(reader.iter_file(0, 2, threads=True, arrow=False)) == data
        assert reader._pool is not None and reader._pool.threads


def test_assemble_lays_out_groups_and_tail():
    a = pa.array([b"x", b"yy"], type=ad.BIN)
    b = pa.array([b"1", b"22", b"333"], type=ad.BIN)
    out = ad.assemble(6, [(np.array([0, 4]), [b"<", a, b">"]), (np.array([1, 2, 5]), [b, b"", b"!"])], [b";"])
    assert out.to_pylist() == [b"<x>;", b"1!;", b"22!;", b";", b"<yy>;", b"333!;"]
    assert ad.lines_bytes(ad.assemble(2, [(np.arange(2), [a])], [b"\n"]), False) == b"x\nyy"
    assert ad.join([b"a", b"b"], 3).to_pylist() == [b"ab"] * 3
    with pytest.raises(col.FramingError):
        ad.assemble(3, [(np.arange(3), [a])])
    # (values, positions): a column shared by groups, each row taking the value at its position
    shared = pa.array([b"A", b"B", b"C"], type=ad.BIN)
    out = ad.assemble(3, [(np.array([0, 2]), [(shared, np.array([2, 0])), b"."]), (np.array([1]), [(shared, np.array([1]))])])
    assert out.to_pylist() == [b"C.", b"B", b"A."]
    with pytest.raises(col.FramingError):
        ad.assemble(1, [(np.array([0]), [(shared, np.array([3]))])])


def test_integer_text_matches_python_formatting():
    values = np.array([0, 7, -3, 12345, 10**17, -(10**17)], dtype=np.int64)
    assert ad.int_text(values).to_pylist() == [str(v).encode() for v in values.tolist()]
    assert ad.int_text(values, 5).to_pylist() == [(b"%05d" % v) for v in values.tolist()]
    assert ad.int_text(values[:4] % 100, 3).to_pylist() == [b"%03d" % v for v in (values[:4] % 100).tolist()]


def test_split_text_checks_the_number_of_values():
    assert ad.split_text(b"a\n\nbc", 3).to_pylist() == [b"a", b"", b"bc"]
    assert ad.split_text(b"", 1).to_pylist() == [b""]
    with pytest.raises(col.FramingError):
        ad.split_text(b"a\nb", 3)


def test_the_arrow_decoder_imports_neither_pandas_nor_polars(tmp_path):
    data = _mixed_log(2000, seed=5)
    payload = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True)).encode_chunk(data).payload
    (tmp_path / "chunk").write_bytes(payload)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from lakeshrink.codecs.logs import chunk
        chunk.ARROW_MIN_BYTES = 0
        used = []
        real = chunk._decode_arrow
        chunk._decode_arrow = lambda *a: used.append(1) or real(*a)
        out = chunk.decode_chunk(Path({str(tmp_path / "chunk")!r}).read_bytes(), raw_bytes={len(data)})
        print(len(out), bool(used), "pandas" in sys.modules, "polars" in sys.modules)
    """)
    # pa.array() imports pandas when it is installed (0.45 s of CPU): the decoder makes arrays from buffers
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [str(len(data)), "True", "False", "False"]


def test_packed_columns_match_the_list_decoder():
    # ``18:01:47,978`` kept as 180147978; small values get leading zeros; negative ones (never written, but
    # decodable) take the list decoder's floor division
    values = np.array([180147978, 0, 7, 999999999, 123, -5, -180147978], dtype=np.int64)
    inner = col.encode_ints(values)
    for literals, widths in ((["", ":", ":", ",", ""], [2, 2, 2, 3]), (["[", "", "] ok"], [4, 5]), (["", ""], [9])):
        desc = {"t": "pack", "s": literals, "w": widths, "c": inner.desc}
        lists = col.decode_list(desc, list(inner.streams), len(values))
        assert ad.array_of(desc, list(inner.streams), len(values)).to_pylist() == [v.encode() for v in lists]
