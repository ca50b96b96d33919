"""Structured logs (NDJSON, CSV, TSV): shapes as templates, typed value columns, byte-exact round trips."""

from __future__ import annotations

import json
import lzma
import time

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs import structured
from lakeshrink.codecs.logs.chunk import _columnar, decode_chunk, encode_chunk
from lakeshrink.codecs.logs.header import detect_format, parse_format
from lakeshrink.codecs.logs.miner import TemplateMiner
from lakeshrink.codecs.logs.packing import PackOptions

CONTENT = parse_format("<Content>")


def _round_trip(data: bytes, fmt=CONTENT) -> tuple[bytes, dict[int, int], int]:
    payload, counts, residue, _ = _columnar(data, fmt, TemplateMiner(), PackOptions(zstd_level=3))
    assert decode_chunk(payload) == data
    assert decode_chunk(encode_chunk(data, fmt, TemplateMiner(), PackOptions(zstd_level=3)).payload) == data
    return payload, counts, residue


def _ndjson(n: int) -> bytes:
    rows = []
    for i in range(n):
        status = (200, 404, 500)[i % 3]
        rows.append(
            f'{{"ts":"2026-11-30T12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z","status":{status},'
            f'"dur": {i % 97 / 10:.2f},"ok":{"true" if i % 2 else "false"},"user":null,'
            f'"msg":"GET /api/v1/items/{i} took {i % 97} ms","tags":["a","b"],"req":{{"id":"r{i:06d}","n":-{i % 5}}}}}'
        )
    rows.append('{"odd" :  1.50e3 , "text":"quote \\" and unicode \u00e9 \\u00e9","empty":{}}')  # other spacing
    return ("\n".join(rows) + "\n").encode()


def test_detects_json_csv_tsv_and_plain_text():
    assert structured.detect(pl.Series(['{"a":1}', '{"a":2}', ' {"b": "x"} '])) == "json"
    assert structured.detect(pl.Series(["1\tx\ty", "2\tz\tw", "3\t\t-"])) == "tsv"
    assert structured.detect(pl.Series(['a,"b,c",d,,e', 'f,"g",h,i,j', 'k,l,m,n,o'])) == "csv"
    assert structured.detect(pl.Series(["INFO open file a, b", "WARN disk full"])) is None
    assert detect_format([json.dumps({"timestamp": "2026-11-30 12:00:00", "m": i}) for i in range(20)])[0].spec == "<Content>"


def test_json_shapes_keep_keys_spacing_and_number_text():
    shapes = structured.shapes("json", pl.Series(['{"a": 1.50, "b":"x y","c":[1,2],"d":{"e":null}}', "{}", '{"<*>":1}']))
    assert shapes.to_list() == ['{"a": <*>, "b":"<*>","c":[1,2],"d":{"e":<*>}}', None, None]


def test_ndjson_round_trip_is_exact_and_beats_lzma():
    data = _ndjson(3000)
    payload, counts, residue = _round_trip(data)
    assert max(counts.values()) >= 2999 and residue <= 1
    xz = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    assert len(payload) < 0.7 * len(xz)


def test_csv_with_quoted_multiline_fields_round_trips():
    rows = [
        f'2026-11-30 12:00:{i % 60:02d}.{i:03d} UTC,"bench","bench",{7000 + i % 4},"[local]",6b0d.{i:x},{i},'
        f'"SELECT",,3/{i},0,LOG,00000,"duration: {i % 9}.{i % 1000:03d} ms  statement: SELECT {i}",,,,,,,,,"pgbench","client backend",,0'
        for i in range(500)
    ]
    rows.insert(250, '2026-11-30 12:00:00.000 UTC,"bench","bench",7001,"[local]",6b0d.1,1,"SELECT",,3/1,0,LOG,00000,'
                     '"duration: 1.0 ms  statement: SELECT *\nFROM t\nWHERE ""x"" = 1;",,,,,,,,,"psql","client backend",,0')
    data = ("\n".join(rows) + "\n").encode()
    assert structured.detect(pl.Series(rows)) == "csv"
    _, counts, residue = _round_trip(data)
    assert max(counts.values()) >= 500 and residue <= 3
    _round_trip(data, parse_format("<Date> <Time> <Content>"))


def test_tsv_with_header_lines_round_trips():
    head = "#separator \\x09\n#fields\tts\tuid\tproto\tquery\n#types\ttime\tstring\tenum\tstring\n"
    body = "".join(f"1700000000.{i:06d}\tC{i:08x}\tudp\twww.example{i % 7}.com\n" for i in range(400))
    data = (head + body + "#close\t2026-11-30-12-00-00\n").encode()
    _, counts, residue = _round_trip(data)
    assert max(counts.values()) == 400 and residue <= 4


def test_many_distinct_json_shapes_take_linear_time():
    def run(n: int) -> float:
        data = ("".join(f'{{"k{i}":{i},"v":"x"}}\n' for i in range(n))).encode()
        start = time.process_time()
        _round_trip(data)
        return time.process_time() - start

    small, large = run(25_000), run(100_000)
    assert large < 8 * small + 2.0  # 4x the lines: about 4x the time, never 16x


def _v1_source() -> bytes:
    rows = [f"2024-01-0{1 + i % 9} 10:{i % 60:02d}:00 INFO open file f{i}.txt in {i * 3} ms\n" for i in range(60)]
    rows += [f'{{"ts":"2024-01-01T10:{i % 60:02d}:00Z","status":{(200, 500)[i % 2]},"msg":"GET /a/{i}"}}\n' for i in range(30)]
    return "".join(rows).encode() + b"tail without newline\r"


def test_archives_written_before_structured_logs_still_decode(tmp_path):
    # tests/data/logs_v1.lslog was written by lakeshrink before this change (chunk metadata version 1)
    from pathlib import Path

    from lakeshrink.codecs.logs.files import decompress_archive

    out = tmp_path / "back.log"
    decompress_archive(Path(__file__).parent / "data" / "logs_v1.lslog", out)
    assert out.read_bytes() == _v1_source()


# -- the shapes' fast replacements (no capture groups) give the shapes of the plain ones -------------------
_ALPHABET = list(':  \t"\\,\x00{}019-.eEtrufalsn') + ["\u00a0", "é", "\n"]


@pytest.mark.parametrize("kind", ["json", "csv"])
@pytest.mark.parametrize("seed", range(4))
def test_shapes_without_captures_are_the_shapes_with_them(kind, seed, monkeypatch):
    """Random text over the characters the two forms care about (colons, spaces, quotes, escapes, commas, NUL,
    scalar starts, Unicode spaces): the fast replacements give the same shapes, row for row."""
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
