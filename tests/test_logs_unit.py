"""Unit tests of the log codec's parts: header formats, lines, columns, packing, miner, chunks, Arrow API."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs.chunk import _columnar, decode_chunk, encode_chunk
from lakeshrink.codecs.logs.codec import CodecConfig, LogCodec
from lakeshrink.codecs.logs.header import FormatError, detect_format, known_formats, parse_format, split_header
from lakeshrink.codecs.logs.lines import extract_params, fill_template, join_lines, split_lines, template_regex
from lakeshrink.codecs.logs.miner import MinerConfig, TemplateMiner
from lakeshrink.codecs.logs.packing import PackOptions, get_varint, pack, put_varint, unpack


def test_parse_format_parts_and_optional_group():
    fmt = parse_format(r"<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>")
    assert fmt.fields == ("Month", "Date", "Time", "Level", "Component", "PID", "Content")
    lines = pl.Series(["Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass", "Jun 14 15:16:01 combo kernel: hi  there"])
    split = split_header(fmt, lines)
    assert split.matched.to_list() == [True, True]
    pid = next(p.group for p in fmt.parts if p.name == "PID")
    assert split.parts[pid].to_list() == ["19939", ""]


@pytest.mark.parametrize("bad", ["<Date <Content>", "<A> <A>", "(<A>", "<A>) <Content>", "plain text"])
def test_parse_format_rejects_bad_strings(bad):
    with pytest.raises(FormatError):
        parse_format(bad)


def test_split_header_keeps_exact_whitespace():
    fmt = parse_format("<Date> <Time> <Content>")
    lines = pl.Series(["2024-01-01   10:00 a  b ", "nospace"])
    split = split_header(fmt, lines)
    assert split.matched.to_list() == [True, False]
    rebuilt = split.parts.select(pl.concat_str(pl.all()))[0, 0]
    assert rebuilt == lines[0]


def test_detect_format_on_loghub(loghub):
    wrong = []
    for known in known_formats():
        path = loghub / known.name / f"{known.name}_2k.log"
        lines = path.read_bytes().decode("utf-8").split("\n")[:300]
        fmt, found = detect_format(lines)
        # OpenSSH lines fit Mac's format field for field (Month Date Time User Component[PID]): equivalent split
        if found is None or (found.name != known.name and not (known.name == "OpenSSH" and found.name == "Mac")):
            wrong.append((known.name, found.name if found else fmt.spec))
    assert not wrong


def test_detect_format_falls_back_to_content():
    fmt, known = detect_format(["@@@ %%% ###", "!!!"])
    assert known is None and fmt.fields in (("Content",), ("Date", "Time", "Content"))


@pytest.mark.parametrize(
    "data",
    [b"", b"\n", b"a", b"a\n", b"a\r\nb\r\n", b"a\r\nb", b"\r\n\r\n", b"x\ny\r\nz\n\n", b"caf\xc3\xa9\n\xff\xfe bad\r\nok"],
)
def test_split_join_lines_exact(data):
    lines = split_lines(data)
    assert join_lines(lines.text, lines.cr, lines.final_newline, lines.binary) == data


def test_template_regex_round_trip():
    template = "Received block <*> of size <*> from /<*>"
    contents = pl.Series(["Received block blk_1 of size 67108864 from /10.0.0.1:5010", "Received block x of size y from /z  ", "other"])
    ok, params = extract_params(template, contents)
    assert ok.to_list() == [True, True, False]
    literals = template_regex(template)[1]
    back = fill_template(literals, [params[c].filter(ok) for c in params.columns], 2)
    assert back.to_list() == contents[:2].to_list()


@pytest.mark.parametrize(
    "values",
    [
        ["1", "2", "3", "10", "-5", "0"],
        ["081109", "081109", "081110"],
        ["0.2477829", "0.0002", "1.5"],
        ["10.251.73.220:50010", "10.1.2.3:1"],
        ["a", "b", "a", "a", "c"],
        ["", "x", ""],
        ["007", "07", "7"],
        ["deadbeef", "00ff00ff", "ABCDEF01"],
        ["deadbeef", "00ff00ff"],
        ["req-38101a0b-2096-447d", "req-9bc36dd9-91c5-4f7e"],
        ["9223372036854775807", "1"],
        ["same"] * 5,
        ["", "12", "", "7", "0"],
        ["1", "", "-3"],
        ["héllo wörld", "日本"],
    ],
)
def test_column_round_trip(values):
    series = pl.Series("v", values, dtype=pl.String)
    enc = col.encode_strings(series)
    assert col.stream_count(enc.desc) == len(enc.streams)
    assert col.decode_strings(enc.desc, list(enc.streams), len(values)).to_list() == values


def test_packed_clock_and_conditional_round_trip(rng):
    clock = pl.Series([f"{h:02d}:{m:02d}:{sec:02d},{ms:03d}" for h, m, sec, ms in rng.integers(0, 60, size=(300, 4))])
    packed = col._packed(col._runs(clock, 0, 4), ["", ":", ":", ",", ""])
    assert packed is not None and packed.desc["t"] == "pack"
    assert col.decode_strings(packed.desc, list(packed.streams), len(clock)).to_list() == clock.to_list()
    keys = rng.integers(0, 5, size=400)
    values = pl.Series([f"comp{k}" if i % 50 else "other" for i, k in enumerate(keys)])
    enc = col.encode_conditional(values, keys)
    assert enc.desc["t"] == "cond"
    assert col.decode_conditional(enc.desc, list(enc.streams), keys).to_list() == values.to_list()


def test_column_typing_is_used():
    ints = col.encode_strings(pl.Series([str(i) for i in range(1000, 2000)]))
    assert ints.desc["t"] == "int" and ints.desc["c"]["d"] is True  # delta wins on a sequence
    padded = col.encode_strings(pl.Series(["0001", "0002", "0010"]))
    assert padded.desc == {"t": "int", "z": 4, "c": padded.desc["c"]}


def test_ints_random_round_trip(rng):
    values = rng.integers(-(2**40), 2**40, size=500)
    enc = col.encode_ints(values)
    assert (col.decode_ints(enc.desc, list(enc.streams), len(values)) == values).all()


def test_varint_and_sections():
    out = bytearray()
    for v in (0, 1, 127, 128, 2**40):
        put_varint(v, out)
    pos, got = 0, []
    for _ in range(5):
        v, pos = get_varint(out, pos)
        got.append(v)
    assert got == [0, 1, 127, 128, 2**40]
    blob = bytearray()
    payloads = [b"", b"x" * 5, b"hello world " * 200, bytes(range(256)) * 3]
    for p in payloads:
        pack(p, PackOptions(zstd_level=3), blob)
    pos = 0
    for p in payloads:
        raw, pos = unpack(blob, pos)
        assert raw == p
    assert pos == len(blob)


def test_miner_groups_and_persists():
    miner = TemplateMiner(MinerConfig())
    ids = miner.add(pl.Series(["open file a.txt", "open file b.txt", "close now", "open file c.txt"]))
    assert ids[0] == ids[1] == ids[3] != ids[2]
    assert miner.template(ids[0]) == "open file <*>"
    again = TemplateMiner.from_bytes(miner.to_bytes())
    assert again.add(pl.Series(["open file z.txt"]))[0] == ids[0]


def test_templates_keep_tabs_and_runs_of_spaces():
    # PostgreSQL writes "LOG:  duration: 1.0 ms  statement: ..." and Zeek separates fields by tabs: the template
    # keeps the whitespace of the cluster's first member, so those lines fit it instead of landing in the residue
    fmt = parse_format("<Content>")
    data = "".join(
        f"LOG:  duration: {i}.{i % 7:03d} ms  statement: SELECT {i}\n" + f"  dns\t{i}\tudp\t10.0.0.{i % 9}\n"
        for i in range(40)
    ).encode()
    miner = TemplateMiner()
    columnar, counts, residue, _ = _columnar(data, fmt, miner, PackOptions())
    assert decode_chunk(columnar) == data
    assert residue == 0 and sorted(counts.values()) == [40, 40]
    assert "LOG:  duration: <*> ms  statement: SELECT <*>" in miner.templates()
    assert "  dns\t<*>\tudp\t<*>" in miner.templates()


def test_miner_config_validation():
    with pytest.raises(ValueError):
        MinerConfig(similarity=1.5)
    with pytest.raises(ValueError):
        MinerConfig(depth=2)


def test_chunk_round_trip_odd_input():
    fmt = parse_format("<Date> <Time> <Level> <Content>")
    data = (
        "2024-01-01 10:00:00 INFO open file a.txt\r\n" * 20
        + "garbage line without header\n"
        + "2024-01-01 10:00:01 INFO open  file   b.txt  \n"
        + "2024-01-01 10:00:02 WARN disk 91% full\n" * 15
    ).encode() + b"\xff\xfe not utf8\n" + b"2024-01-01 10:00:03 INFO tail without newline"
    result = encode_chunk(data, fmt, TemplateMiner(), PackOptions())
    assert decode_chunk(result.payload) == data
    columnar, counts, residue, _ = _columnar(data, fmt, TemplateMiner(), PackOptions())  # the columnar form itself
    assert columnar[0] == 0 and decode_chunk(columnar) == data
    assert residue >= 3  # the garbage line, the non-UTF-8 line, the odd-whitespace content


def test_chunk_falls_back_for_random_bytes(rng):
    data = rng.integers(0, 256, size=20000, dtype=np.uint8).tobytes()
    result = encode_chunk(data, parse_format("<Content>"), TemplateMiner(), PackOptions(zstd_level=3))
    assert decode_chunk(result.payload) == data
    assert result.mode in ("zstd", "lzma")


def test_arrow_api_round_trip():
    codec = LogCodec(CodecConfig(format="<Date> <Time> <Level> <Content>"))
    lines = pa.array(
        ["2024-01-01 10:00:00 INFO open file a.txt", "2024-01-01 10:00:01 INFO open file b.txt\r", "junk", ""]
    )
    table = codec.encode(lines)
    assert table.column("template").to_pylist()[:2] == ["open file <*>", "open file <*>"]
    assert table.column("line").to_pylist()[2] == "junk"
    assert codec.decode(table).to_pylist() == lines.to_pylist()
    restored = LogCodec.from_bytes(codec.to_bytes())
    assert restored.templates() == codec.templates()


def test_codec_config_validation():
    with pytest.raises(ValueError):
        CodecConfig(level=0)
    with pytest.raises(ValueError):
        CodecConfig(chunk_bytes=10)


def test_fuzzed_chunks_round_trip(rng):
    """Lines made of awkward pieces (NUL, tabs, regex metacharacters, '<*>', CR, unicode) always come back."""
    pieces = ["INFO", "WARN", "<*>", "\x00", "\t", "  ", "(a|b)*", "$1", "\\", "€", "12", "007", "0x1F", "-5",
              "a=b", "[x]", ":", "\r", "日本", "blk_-42", "10.0.0.1:80", "ab\x00cd"]
    fmt = parse_format("<Date> <Time> <Level> <Content>")
    columnar_exact: list[bool] = []
    for trial in range(20):
        lines = []
        for i in range(int(rng.integers(1, 60))):
            words = [pieces[int(k)] for k in rng.integers(0, len(pieces), size=int(rng.integers(0, 8)))]
            head = f"2024-01-0{trial % 9 + 1} 10:00:{i % 60:02d} " if rng.random() < 0.8 else ""
            lines.append(head + " ".join(words))
        data = "\n".join(lines).encode("utf-8") + (b"\n" if trial % 2 else b"")
        miner = TemplateMiner()
        for options in (PackOptions(zstd_level=3), PackOptions(zstd_level=3, try_lzma=False)):
            assert decode_chunk(encode_chunk(data, fmt, miner, options).payload) == data
            # the columnar form itself must be exact too (encode_chunk would hide a miss behind its fallback)
            columnar_exact.append(decode_chunk(_columnar(data, fmt, miner, options)[0]) == data)
    assert all(columnar_exact), f"{columnar_exact.count(False)} of {len(columnar_exact)} columnar forms not exact"


def test_small_and_large_column_decoders_agree(rng):
    """Short columns are decoded with Python lists, long ones with polars: both give the same values."""
    clock = pl.Series([f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in rng.integers(0, 60, size=(600, 3))])
    words = pl.Series(["alpha", "beta", "gamma"] * 200)
    encodings = [
        col._packed(col._runs(clock, 0, 3), ["", ":", ":", ""]),
        col._dict(words),
        col.encode_strings(pl.Series([f"10.0.{i % 256}.{i % 7}:{i}" for i in range(600)])),
        col.encode_strings(pl.Series(["", "12", "", "7", "0"] * 120)),
        col.encode_strings(pl.Series([f"{x:08x}" for x in rng.integers(0, 2**31, size=600)])),
        col.encode_strings(pl.Series(["007", "07", "7"] * 200)),
    ]
    expected = [clock, words, None, None, None, None]
    for enc, want in zip(encodings, expected):
        large = col.decode_strings(enc.desc, list(enc.streams), 600, _small=False).to_list()
        small = col.decode_list(enc.desc, list(enc.streams), 600)
        assert large == small
        if want is not None:
            assert large == want.to_list()


@pytest.mark.parametrize("system", ["HDFS", "Mac", "Windows"])
def test_chunks_with_cr_and_non_utf8_lines_decode_exactly(loghub, system):
    """Decoding (Python lists and numpy, no polars) gives back CRLF lines, a non-UTF-8 line and a last line
    without its newline, short chunks and long ones alike."""
    data = (loghub / system / f"{system}_2k.log").read_bytes()
    data = data.replace(b"\n", b"\r\n", 50) + b"caf\xe9 not utf-8\nlast line without newline"
    codec = LogCodec(CodecConfig(format=system))
    for chunk in (data, data * 10):  # 2,002 and 20,020 lines
        result = encode_chunk(chunk, codec.format, codec.miner, PackOptions())
        assert result.mode == "columnar"
        assert decode_chunk(result.payload) == chunk


def test_small_and_large_profiles_and_conditional_pairs_agree(rng, monkeypatch):
    """Short columns are profiled and paired with their keys in Python, long ones in polars: same encodings."""
    keys = rng.integers(0, 5, size=3000)
    levels = pl.Series([["INFO", "WARN", "ERROR"][k % 3] if k < 4 else f"x{i % 7}" for i, k in enumerate(keys)])
    columns = [
        levels,
        pl.Series([f"{v:05d}" for v in rng.integers(0, 99999, size=3000)]),
        pl.Series([f"{v}" for v in rng.integers(-50, 50, size=3000)]),
        pl.Series([f"blk_{v}:{v % 13}" for v in rng.integers(0, 10**9, size=3000)]),
    ]
    small = [col.encode_conditional(c, keys) for c in columns]
    monkeypatch.setattr(col, "SMALL_PROFILE", 0)
    large = [col.encode_conditional(c, keys) for c in columns]
    assert small[0].desc["t"] == "cond"
    for a, b, c in zip(small, large, columns):
        assert a == b
        assert col.decode_conditional(a.desc, list(a.streams), keys).to_list() == c.to_list()


@pytest.mark.parametrize("width", [0, 1, 2, 4, 6])
def test_int_strings_match_formatting(rng, width):
    """Integers written from the lookup table (small values) or formatted (others) give the same text."""
    values = np.concatenate([rng.integers(0, 100, size=50), rng.integers(0, 9999, size=50), [0, 9999, 10000]])
    for chunk in (values[:50], values, np.array([-7, 3, 123456789])):
        assert col.int_strings(chunk, width) == [str(int(v)).zfill(width) for v in chunk]


@pytest.mark.parametrize("payload", [b"", b"\x09", b"\x00\x05ab"])
def test_corrupt_chunks_raise_corrupt_archive(payload):
    """Decoder errors are LakeshrinkErrors (the CLI prints one line), of the exact type CorruptArchive."""
    from lakeshrink.codecs.logs.chunk import ChunkDecodeError, decode_chunk
    from lakeshrink.codecs.logs.packing import FramingError
    from lakeshrink.errors import CorruptArchive, LakeshrinkError

    with pytest.raises(CorruptArchive) as info:
        decode_chunk(payload)
    assert isinstance(info.value, LakeshrinkError) and type(info.value) in (ChunkDecodeError, FramingError)


def test_a_failing_columnar_path_is_logged_and_counted(tmp_path, monkeypatch, caplog):
    """No silent fallback: the chunk is stored whole, the reason logged and counted in the report."""
    from lakeshrink.codecs.logs import chunk as chunk_module
    from lakeshrink.codecs.logs.files import compress_files, decompress_archive

    def broken(*args, **kwargs):
        raise RuntimeError("columns on fire")

    monkeypatch.setattr(chunk_module, "_columnar", broken)
    src = tmp_path / "a.log"
    src.write_bytes(b"".join(b"2015-10-18 18:01:%02d INFO job %d done\n" % (i % 60, i) for i in range(300)))
    with caplog.at_level("WARNING", logger="lakeshrink.codecs.logs.chunk"):
        report = compress_files([str(src)], tmp_path / "a.lslog")
    assert report.fallback_chunks == report.chunks == 1 and report.columnar_chunks == 0
    assert "columns on fire" in caplog.text
    decompress_archive(tmp_path / "a.lslog", tmp_path / "back.log")
    assert (tmp_path / "back.log").read_bytes() == src.read_bytes()
