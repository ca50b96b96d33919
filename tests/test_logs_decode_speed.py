"""Round 7's decoding fast paths give the bytes of the plain paths they replace: pieces of one width folded
into one array (``arrow_decode.FOLD_FIXED``), integers written from a table of 4-digit groups
(``arrow_decode.DIGIT_TABLE``), and the command line's allocator and BLAS settings. Each is compared with its
plain form and with the input on varied logs (multi-line events, CSV with quoted multi-line fields, JSON
lines, empty lines, CRLF, non-UTF-8 bytes, no final newline), and a broken fast path is shown to fail them."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from lakeshrink.codecs.logs import arrow_decode as ad
from lakeshrink.codecs.logs import chunk as chunk_mod
from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from tests.test_logs_arrow import _mixed_log

FAST_PATHS = ("FOLD_FIXED", "DIGIT_TABLE")


def _binary(values: list[bytes]) -> pa.Array:
    return ad.binaries(values)


def _reference(n: int, groups, tail) -> list[bytes]:
    """What :func:`ad.assemble` lays out, row by row in Python."""
    def value(piece, i: int) -> bytes:
        if isinstance(piece, bytes):
            return piece
        if isinstance(piece, tuple):
            values, positions = piece
            return values[int(positions[i])].as_py()
        return piece[i].as_py()

    out = [b""] * n
    for rows, pieces in groups:
        for i, row in enumerate(rows.tolist()):
            out[row] = b"".join(value(p, i) for p in pieces)
    return [out[r] + b"".join(value(p, r) for p in tail) for r in range(n)]


def _random_groups(rng: random.Random, n: int):
    """Groups of disjoint rows (some rows in none), each of literals, arrays of one width, arrays of mixed
    widths and (values, positions) pieces of a shared column of one width and of mixed widths."""
    shared_fixed = _binary([b"%05d" % rng.randrange(10**5) for _ in range(50)])
    shared_mixed = _binary([str(rng.randrange(10**rng.randrange(1, 6))).encode() for _ in range(50)])
    rows = list(range(n))
    rng.shuffle(rows)
    cuts = sorted(rng.sample(range(1, n), 3))
    groups = []
    for part in (rows[: cuts[0]], rows[cuts[0] : cuts[1]], rows[cuts[1] : cuts[2]]):  # rows[cuts[2]:]: no group
        part = np.array(sorted(part), dtype=np.int64)
        k = len(part)
        pieces = []
        for _ in range(rng.randrange(1, 9)):
            kind = rng.randrange(6)
            if kind == 0:
                pieces.append(rng.choice([b"", b" ", b"] LOG:  ", "é ".encode()]))
            elif kind == 1:
                w = rng.randrange(0, 4)
                pieces.append(_binary([bytes(rng.randrange(256) for _ in range(w)) for _ in range(k)]))
            elif kind == 2:
                pieces.append(_binary([b"x" * rng.randrange(3) for _ in range(k)]))
            elif kind == 3:
                pieces.append((shared_fixed, np.array([rng.randrange(50) for _ in range(k)], dtype=np.int64)))
            elif kind == 4:
                pieces.append((shared_mixed, np.array([rng.randrange(50) for _ in range(k)], dtype=np.int64)))
            else:
                pieces.append(ad.int_text(np.array([rng.randrange(10, 100) for _ in range(k)], dtype=np.int64)))
        groups.append((part, pieces))
    return groups


@pytest.mark.parametrize("seed", range(12))
def test_folded_layout_is_the_plain_layout(monkeypatch, seed):
    rng = random.Random(seed)
    n = rng.choice([200, 700])
    groups = _random_groups(rng, n)
    tail = rng.choice([[b"\n"], [b"\r", b"\n"], [ad.suffixes(np.array([i % 3 == 0 for i in range(n)]), b"\r"), b"\n"], []])
    want = _reference(n, groups, tail)
    folds = []
    real_fold = ad._fold
    monkeypatch.setattr(ad, "_fold", lambda run, count: folds.append(len(run)) or real_fold(run, count))
    monkeypatch.setattr(ad, "FOLD_FIXED", False)
    assert ad.assemble(n, groups, tail).to_pylist() == want
    assert not folds
    monkeypatch.setattr(ad, "FOLD_FIXED", True)
    assert ad.assemble(n, groups, tail).to_pylist() == want


def test_fixed_width_runs_are_folded():
    n = 80
    fixed = ad.int_text(np.arange(10, 10 + n))  # two digits each
    mixed = ad.int_text(np.arange(n))  # one or two
    pieces = ad._merged([b"[", fixed, b"] ", mixed, b" ", fixed, b"\n"], n, {})
    assert len(pieces) == 3 and pieces[1] is mixed
    assert pieces[0].to_pylist() == [b"[%d] " % v for v in range(10, 10 + n)]
    assert pieces[2].to_pylist() == [b" %d\n" % v for v in range(10, 10 + n)]
    # below FOLD_MIN_ROWS nothing is folded
    assert len(ad._merged([b"[", fixed[:10], b"]"], 10, {})) == 3


def test_folding_checks_lengths_and_positions_as_the_take_does():
    n = 100
    shared = _binary([b"ab", b"cd"])
    for bad in ([(shared, np.full(n, 2))], [(shared, np.full(n, -1))], [(shared, np.zeros(n - 1, dtype=np.int64))],
                [_binary([b"xy"] * (n + 1))]):
        with pytest.raises(col.FramingError):
            ad.assemble(n, [(np.arange(n), [b"<", *bad, b">"])])


@pytest.mark.parametrize("width", [0, 1, 2, 3, 4, 5, 8, 9, 12, 17, 18, 19, 20])
def test_the_digit_table_writes_what_python_does(monkeypatch, width):
    rng = np.random.default_rng(width)
    samples = [rng.integers(0, 10, 300), rng.integers(10, 100, 300), rng.integers(1000, 10000, 300),
               rng.integers(0, 10**18, 300), rng.integers(10**17, 10**18, 300), rng.integers(-50, 50, 300),
               np.array([0, 9999, 10**18 - 1]), np.array([2**63 - 1, 0]), np.array([7] * 5), np.array([], dtype=np.int64)]
    for values in samples:
        values = values.astype(np.int64)
        want = [b"%0*d" % (width, v) for v in values.tolist()]
        for table in (False, True):
            monkeypatch.setattr(ad, "DIGIT_TABLE", table)
            assert ad.int_text(values, width).to_pylist() == want, (width, table, values[:5])


def _log4j(n: int, rng: random.Random) -> bytes:
    """log4j2 lines with stack traces (multi-line events), empty lines and CRLF endings in places."""
    out = []
    for i in range(n):
        out.append(f"2026-12-01 12:{i // 600 % 60:02d}:{i // 10 % 60:02d},{i % 1000:03d} "
                   f"{rng.choice(['INFO', 'WARN', 'ERROR'])} [worker-{rng.randrange(8)}] "
                   f"org.example.Job - job {rng.randrange(10**5)} took {rng.randrange(1, 9999)} ms")
        if i % 37 == 0:
            out += [f"java.lang.IllegalStateException: bad state {i}", "\tat org.example.Job.run(Job.java:42)",
                    "Caused by: java.io.IOException: disk full", "\t... 3 more"]
        if i % 53 == 0:
            out.append("")
        if i % 41 == 0:
            out[-1] += "\r"
    return "\n".join(out).encode() + b"\n"


def _csvlog(n: int, rng: random.Random) -> bytes:
    """PostgreSQL csvlog records, some with a quoted statement over several lines."""
    out = []
    for i in range(n):
        stmt = (f"SELECT abalance FROM pgbench_accounts WHERE aid = {rng.randrange(10**6)};" if i % 23
                else 'UPDATE t\n   SET a = a + 1\n WHERE ""id"" = 3;')
        out.append(f"2026-12-01 09:22:{i // 100 % 60:02d}.{i % 1000:03d} UTC,\"bench\",\"bench\",{3000 + i % 17},"
                   f"\"[local]\",6b0e91d2.{i % 17:x},{i // 17 + 1},\"SELECT\",2026-12-01 09:22:26 UTC,3/{i},0,LOG,00000,"
                   f"\"duration: {rng.randrange(100, 99999) / 1000:.3f} ms  statement: {stmt}\",,,,,,,,,\"pgbench\","
                   f"\"client backend\",,0")
    return "\n".join(out).encode()  # no final newline


def _jsonlog(n: int, rng: random.Random) -> bytes:
    out = []
    for i in range(n):
        rec = {"timestamp": f"2026-12-01 09:22:{i // 100 % 60:02d}.{i % 1000:03d} UTC", "pid": 3000 + i % 17,
               "line_num": i // 17 + 1, "error_severity": "LOG",
               "message": f"duration: {rng.randrange(100, 99999) / 1000:.3f} ms  statement: SELECT {rng.randrange(10**6)};"}
        out.append(json.dumps(rec, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def _inputs() -> dict[str, tuple[bytes, CodecConfig]]:
    rng = random.Random(5)
    mixed = _mixed_log(6000, seed=3)  # raw lines, CRLF, a non-UTF-8 line, no final newline
    odd = b"\n".join(b"" if i % 11 == 0 else b"2026-12-01 10:00:%02d INFO x=%d y=\xff%d" % (i % 60, i, i % 7)
                     for i in range(3000)) + b"\r\n"
    return {
        "mixed": (mixed, CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True)),
        "log4j": (_log4j(3000, rng), CodecConfig()),
        "csvlog": (_csvlog(3000, rng), CodecConfig()),
        "jsonlog": (_jsonlog(3000, rng), CodecConfig()),
        "empty-lines-non-utf8": (odd, CodecConfig(format="<Date> <Time> <Level> <Content>", allow_binary=True)),
    }


@pytest.fixture(scope="module")
def payloads() -> dict[str, tuple[bytes, bytes]]:
    out = {}
    for name, (data, config) in _inputs().items():
        result = LogCodec(config).encode_chunk(data)
        assert result.mode == "columnar", name
        out[name] = (data, result.payload)
    return out


def _decoded(payload: bytes, size: int, arrow: bool) -> bytes:
    meta, streams = chunk_mod.read_meta(payload, size)
    with col.bounded(chunk_mod.string_budget(size)):
        return chunk_mod._decode_columnar(meta, streams, arrow)


def test_chunks_decode_the_same_with_and_without_the_fast_paths(monkeypatch, payloads):
    used = {"fold": 0, "table": 0}
    real_fold, real_matrix = ad._fold, ad.digit_matrix
    monkeypatch.setattr(ad, "_fold", lambda *a: used.__setitem__("fold", used["fold"] + 1) or real_fold(*a))
    monkeypatch.setattr(ad, "digit_matrix", lambda *a: used.__setitem__("table", used["table"] + 1) or real_matrix(*a))
    for name, (data, payload) in payloads.items():
        assert _decoded(payload, len(data), arrow=False) == data, name
        for flag in FAST_PATHS:
            monkeypatch.setattr(ad, flag, False)
        assert _decoded(payload, len(data), arrow=True) == data, name
        for flag in FAST_PATHS:
            monkeypatch.setattr(ad, flag, True)
        assert _decoded(payload, len(data), arrow=True) == data, name
    assert used["fold"] and used["table"]  # the fast paths ran on these inputs


@pytest.mark.parametrize("broken", ["fold", "table"])
def test_a_broken_fast_path_fails_the_comparison(monkeypatch, payloads, broken):
    if broken == "fold":
        real = ad._fold
        monkeypatch.setattr(ad, "_fold", lambda run, count: real(list(run)[::-1], count))  # pieces out of order
    else:
        real = ad.digit_matrix
        monkeypatch.setattr(ad, "digit_matrix", lambda values, width: real(values + 1, width))
    wrong = [name for name, (data, payload) in payloads.items() if _decoded(payload, len(data), arrow=True) != data]
    assert wrong


def test_the_command_line_keeps_blas_on_one_thread_unless_told(tmp_path):
    code = ("import os, sys\nfrom lakeshrink.cli.main import main\nsys.argv = ['lakeshrink', '--version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.stdout.split()[-1] == "1", run.stderr
    env["OPENBLAS_NUM_THREADS"] = "2"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.stdout.split()[-1] == "2", run.stderr


def test_decompress_on_the_command_line_keeps_freed_blocks(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from lakeshrink import memory
    from lakeshrink.cli.main import cli

    calls = []
    monkeypatch.setattr(memory, "keep_freed_blocks", lambda: calls.append(1))
    src = tmp_path / "a.log"
    src.write_bytes(_log4j(300, random.Random(1)))
    runner = CliRunner()
    assert runner.invoke(cli, ["logs", "compress", str(src), "-o", str(tmp_path / "a.lslog")]).exit_code == 0
    res = runner.invoke(cli, ["logs", "decompress", str(tmp_path / "a.lslog"), "-o", str(tmp_path / "out.log")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out.log").read_bytes() == src.read_bytes()
    assert calls == [1]


def test_stable_argsort_is_numpys_stable_order():
    rng = np.random.default_rng(3)
    for keys in (rng.integers(0, 40, 5000), rng.integers(0, 1 << 16, 5000), rng.integers(0, (1 << 16) + 1, 5000),
                 rng.integers(-3, 40, 5000), rng.integers(0, 40, 5000).astype(np.uint32), rng.integers(0, 2**40, 500),
                 rng.integers(0, 256, 500).astype(np.uint8), np.array([], dtype=np.int64), np.array([7])):
        assert (col.stable_argsort(keys) == np.argsort(keys, kind="stable")).all()


def test_unzigzag_undoes_zigzag_at_every_width():
    def plain(values: np.ndarray) -> np.ndarray:  # round 6's form
        v = values.astype(np.uint64)
        return ((v >> np.uint64(1)).astype(np.int64)) ^ -((v & np.uint64(1)).astype(np.int64))

    rng = np.random.default_rng(4)
    for dtype in ("<u1", "<u2", "<u4", "<u8"):
        top = np.iinfo(dtype).max
        values = rng.integers(0, top, 2000, dtype=dtype, endpoint=True)
        values[:2] = [0, top]
        got = col._unzigzag(values)
        assert got.dtype == np.int64 and (got == plain(values)).all(), dtype
    ints = np.array([0, 1, -1, 2**62, -(2**63), 2**63 - 1], dtype=np.int64)
    assert (col._unzigzag(col._zigzag(ints)) == ints).all()
    narrow = np.arange(-500, 500, dtype=np.int64)
    assert (col._unzigzag(col._zigzag(narrow).astype("<u2")) == narrow).all()


def test_views_of_arrows_buffer_are_the_bytes(monkeypatch, payloads, tmp_path):
    monkeypatch.setattr(chunk_mod, "ARROW_MIN_BYTES", 0)
    for name, (data, payload) in payloads.items():
        view = chunk_mod.decode_chunk(payload, raw_bytes=len(data), copy=False)
        assert isinstance(view, memoryview) and view.format == "B" and view == data and bytes(view) == data, name
        assert chunk_mod.decode_chunk(payload, raw_bytes=len(data)) == data
    # through the archive, decoded in this process (one chunk) and on threads (several): the files come back
    from lakeshrink.codecs.logs import parallel
    from lakeshrink.codecs.logs.files import compress_files, decompress_archive

    monkeypatch.setattr(parallel, "ARROW_FILE_BYTES", 1)
    data = _log4j(4000, random.Random(9))
    src = tmp_path / "a.log"
    src.write_bytes(data)
    for chunk_bytes in (1 << 20, 64 << 10):
        archive = tmp_path / f"a{chunk_bytes}.lslog"
        compress_files([str(src)], archive, CodecConfig(chunk_bytes=chunk_bytes, workers=1))
        decompress_archive(archive, tmp_path / "out.log", overwrite=True)
        assert (tmp_path / "out.log").read_bytes() == data
