"""The speed paths of the log codec give exactly what the plain paths give: deterministic regexes, two-core
regex and mask queries, masks in their ASCII form, the joined-text column profile, width choice on a sample, and
grep on odd inputs."""

from __future__ import annotations

import random
import re

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import lines as ln
from lakeshrink.codecs.logs.chunk import decode_chunk, encode_chunk
from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.grep import grep
from lakeshrink.codecs.logs.header import fast_header_regex, known_formats, parse_format
from lakeshrink.codecs.logs.miner import MinerConfig, TemplateMiner
from lakeshrink.codecs.logs.packing import LZMA, PackOptions, pack_all, unpack

_ALPHABET = "ab ,:[]=\t-0123x\u00e9\u2713"


def _random_values(rng: random.Random, count: int, longest: int = 12) -> list[str]:
    return ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def _slow(values: pl.Series, regex: str) -> pl.DataFrame:
    return values.str.extract_groups(regex).struct.unnest()


TEMPLATES = ["a <*> b <*>", "a <*> b", "<*>", "x=<*>, y=<*>;", "[<*>] <*>: <*>", "\u00e9 <*>\u00e9", "<*> <*> <*>", "<*><*> x"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_fast_template_regex_splits_as_the_lazy_one(template):
    rng = random.Random(template)
    fills = [_random_values(rng, 400, 6) for _ in range(template.count("<*>"))]
    literals = template.split("<*>")
    values = ["".join(lit + (fill[i] if k < len(fills) else "") for k, (lit, fill) in
                      enumerate(zip(literals, [*fills, [""] * 400]))) + rng.choice(["", " ", "  \t"]) for i in range(400)]
    values += _random_values(rng, 200) + ["", " ", "a  b "]
    series = pl.Series("c", values, dtype=pl.String)
    slow = ln.template_regex(template)[0]
    fast = ln.fast_template_regex(template)
    assert (fast is None) == ("<*><*>" in template)
    assert ln.extract_groups(series, fast, slow).equals(_slow(series, slow))


def test_fast_header_regex_splits_as_the_lazy_one():
    rng = random.Random(7)
    words = ["2024-01-01", "10:00:00,1", "INFO", "[main]", "a:b", "x y", "", "sshd[12]:", "|", "-", "\u00e9"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    lines += ["", " ", "\t", "a\r", "x" * 5000 + " y"]
    series = pl.Series("l", lines, dtype=pl.String)
    fast_count = 0
    for known in known_formats():
        fmt = parse_format(known.spec)
        fast = fast_header_regex(fmt.regex)
        fast_count += fast is not None
        regex, leading = fast if fast else (None, ())
        assert ln.extract_groups(series, regex, fmt.regex, leading).equals(_slow(series, fmt.regex)), known.name
    assert fast_count >= 10  # formats with optional groups keep the lazy regex
    assert fast_header_regex(parse_format("<A><B> <C>").regex) is None


def test_long_columns_take_the_two_core_path_with_the_same_result():
    rng = random.Random(3)
    values = pl.Series("c", [f"id={rng.randint(0, 10**6)} user {rng.choice(['ann', 'bo', ''])} ok{rng.choice(['', ' '])}"
                             for _ in range(ln.PARALLEL_ROWS + 17)])
    template = "id=<*> user <*> ok"
    slow = ln.template_regex(template)[0]
    assert ln.regex_groups(values, slow).equals(_slow(values, slow))
    assert ln.extract_groups(values, ln.fast_template_regex(template), slow).equals(_slow(values, slow))
    miner = TemplateMiner(MinerConfig())
    expected = values
    for mask in miner.config.masks:
        expected = (expected.str.replace_all(mask, "${1}<*>") if mask.startswith("(^|")
                    else expected.str.replace_all(mask, "<*>"))
    assert miner.mask(values).equals(expected)
    assert miner.mask(values.head(0)).len() == 0


def test_joined_profile_matches_the_per_value_checks():
    rng = random.Random(11)
    alphabet = "0123456789abcdefABCDEF-\n x"
    for _ in range(3000):
        values = ["".join(rng.choice(alphabet[: rng.choice([10, 16, 22, 23, 26])]) for _ in range(rng.randint(0, 4)))
                  for _ in range(rng.randint(1, 5))]
        prof = col._profile_small(values, skeletons=False)
        joined = "".join(values)
        if joined.isascii() and min(map(len, values)) > 0 and joined.isdigit():
            short = max(map(len, values)) <= 18
            assert prof["digits"] == short
            assert prof["canonical"] == (short and all(v[0] != "0" or len(v) == 1 for v in values))
        else:
            for name, pattern in col._PY.items():
                assert bool(prof[name]) == all(pattern.fullmatch(v) for v in values), (values, name)


@pytest.mark.parametrize("width", [2, 4, 8])
def test_wide_integer_sections_round_trip_after_the_sampled_width_choice(width):
    rng = np.random.default_rng(width)
    values = np.cumsum(rng.integers(0, 50, size=(300 << 10) // width)).astype(f"<u{width}")
    raw = values.tobytes()
    out = bytearray()
    pack_all([raw, b"small text section " * 8], PackOptions(), out, widths=[width, 1])
    back, pos = unpack(memoryview(bytes(out)), 0)
    assert back == raw and out[0] == LZMA
    assert unpack(memoryview(bytes(out)), pos)[0] == b"small text section " * 8


def _odd_log(lines: int) -> bytes:
    """Lines a server might write, with every odd case: empty lines, CRLF, invalid UTF-8, a very long line."""
    rng = random.Random(5)
    out = []
    for i in range(lines):
        pick = i % 97
        if pick == 0:
            out.append(b"")
        elif pick == 1:
            out.append(b"2024-01-01 10:00:%02d INFO crlf line %d\r" % (i % 60, i))
        elif pick == 2:
            out.append(b"2024-01-01 10:00:00 WARN bad \xff\xfe bytes %d" % i)
        elif pick == 3 and i < 200:
            out.append(b"2024-01-01 10:00:00 INFO " + b"long " * 40000)
        else:
            out.append(b"2024-01-01 10:%02d:%02d %s user %d opened session %d in %d ms" % (
                i // 60 % 60, i % 60, rng.choice([b"INFO", b"DEBUG"]), rng.randint(1, 9), i, rng.randint(1, 999)))
    return b"\n".join(out)  # no final newline


def test_large_odd_chunk_round_trips_through_every_fast_path():
    data = _odd_log(ln.PARALLEL_ROWS + 5000)
    result = encode_chunk(data, parse_format("<Date> <Time> <Level> <Content>"), TemplateMiner(MinerConfig()), PackOptions())
    assert result.mode == "columnar"
    assert decode_chunk(result.payload, raw_bytes=len(data)) == data


def test_grep_on_odd_input_finds_what_a_line_scan_finds(tmp_path):
    data = _odd_log(3000)
    src = tmp_path / "odd.log"
    src.write_bytes(data)
    archive = tmp_path / "a.lslog"
    compress_files([str(src)], archive, CodecConfig(allow_binary=True))
    decompress_archive(archive, tmp_path / "back.log")
    assert (tmp_path / "back.log").read_bytes() == data
    raw_lines = [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")]
    for pattern, fixed in [("opened session 12", True), ("crlf line", True), ("bad", True), ("ses+ion 1[0-9]{2} ", False),
                           ("nothing like this", True)]:
        found = [(m.line_number, m.line) for m in grep(archive, pattern, fixed=fixed, events=False)]
        needle = re.compile(re.escape(pattern) if fixed else pattern)
        expected = [(i + 1, line) for i, line in enumerate(raw_lines) if needle.search(line.decode("utf-8", "replace"))]
        assert found == expected, pattern


@pytest.mark.parametrize("data", [b"", b"a", b"\n", b"ab\ncde", b"ab\ncde\n", b"\n\nxyz\n\n", b"x" * 10 + b"\n" + b"y" * 3])
def test_longest_line_from_newline_positions(data):
    from lakeshrink.codecs.logs.files import _longest_line

    assert _longest_line(data) == max(len(line) for line in data.split(b"\n"))


# -- masks in their ASCII form on ASCII contents, as written on the others ----------------------------------
_MASK_ALPHABET = list("ab x=:([,.-_0123456789\t/") + ["\u00e9", "\u00a0", "\u2003", "\u0663", "\uff11", "\u212a", "K"]
_MASK_LINES = [
    "duration: 1.234 ms  statement: SELECT abalance FROM pgbench_accounts WHERE aid = 5;", "x=12\u00e9",
    "a \u0663\u0664", "id:7\u00a0ok", "0xff\u00e9 0x1F", "\u00e912 x", "10.0.0.1:80\u00e9", "(-3.5)", "[4,5]",
    "blk_-12 core.77 3 KB 1 MB", "6f1c2e0a-0b1d-4c2e-9f3a-0123456789ab done", "/usr/lib/x.so 10:22:33 12:00",
    "user=bo_1 a.b-c.d:8080", "",
]


def _mask_values(seed: int, count: int) -> pl.Series:
    rng = random.Random(seed)
    values = ["".join(rng.choice(_MASK_ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(count)]
    return pl.Series("c", [*values, *_MASK_LINES, None], dtype=pl.String)


def _mask_plainly(values: pl.Series, masks: tuple[str, ...]) -> pl.Series:
    for mask in masks:
        values = (values.str.replace_all(mask, "${1}<*>") if mask.startswith("(^|")
                  else values.str.replace_all(mask, "<*>"))
    return values


def test_ascii_forms_of_the_masks():
    from lakeshrink.codecs.logs.miner import DEFAULT_MASKS, ascii_form

    assert all(ascii_form(m) == f"(?-u:{m})" for m in DEFAULT_MASKS)
    assert ascii_form(r"/.+?\s") is None  # "." would match a byte: does not compile in the ASCII form
    assert ascii_form(r"[^a]+") is None
    assert ascii_form("\u00e9\\d+") is None


@pytest.mark.parametrize("seed", range(3))
def test_masks_in_ascii_form_give_the_plain_masking(seed, monkeypatch):
    """Random contents over digits, delimiters, Unicode digits, spaces and letters (so word boundaries and
    classes differ between the two forms on them), each mask set of a known format and the default one."""
    from lakeshrink.codecs.logs import miner as miner_mod
    from lakeshrink.codecs.logs.miner import DEFAULT_MASKS, UUID_MASK

    values = _mask_values(seed, 20_000 if seed else miner_mod._PARALLEL_ROWS + 17)
    ascii_rows = values.fill_null("").str.len_bytes() == values.fill_null("").str.len_chars()
    assert 0 < int(ascii_rows.sum()) < len(values)
    used: list[tuple[str, ...]] = []
    real = TemplateMiner._masked

    def spying(groups, masks):
        used.extend(masks)
        return real(groups, masks)

    monkeypatch.setattr(TemplateMiner, "_masked", staticmethod(spying))
    mask_sets = [DEFAULT_MASKS] + [(UUID_MASK, *k.masks) for k in known_formats()]
    for masks in mask_sets:
        miner = TemplateMiner(MinerConfig(masks=masks))
        expected = _mask_plainly(values, masks)
        monkeypatch.setattr(miner_mod, "ASCII_MASKS", False)
        assert miner.mask(values).equals(expected)
        monkeypatch.setattr(miner_mod, "ASCII_MASKS", True)
        used.clear()
        assert miner.mask(values).equals(expected), masks
        assert miner.mask(values.filter(ascii_rows)).equals(expected.filter(ascii_rows))
        assert miner.mask(values.filter(~ascii_rows)).equals(expected.filter(~ascii_rows))
        if any(miner_mod.ascii_form(m) for m in masks):  # the ASCII forms were really used
            assert any(m.startswith("(?-u:") for group in used for m in group)
    # the contents beyond ASCII need the masks as written: the ASCII forms would mask some of them otherwise
    forms = tuple(miner_mod.ascii_form(m) for m in DEFAULT_MASKS)
    assert not real([values], [forms]).equals(_mask_plainly(values, DEFAULT_MASKS))
