"""Multi-line events: Java (log4j2) stack traces, Python tracebacks, PostgreSQL statements over several lines.

Archives give the exact bytes back, format detection sees through continuation lines, and ``logs grep``
returns whole events, also when an event goes on from one chunk into the next.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.events import event_ids, expand, header_lines
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.grep import grep
from lakeshrink.codecs.logs.header import parse_format


def _java(n: int) -> str:
    out = []
    for i in range(n):
        ts = f"2026-11-30 12:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d}"
        if i % 7 == 3:
            out += [f"{ts} ERROR [main] org.example.Worker - job {i} failed",
                    f"java.lang.IllegalStateException: bad state {i}",
                    *(f"\tat org.example.Worker.step{d}(Worker.java:{10 + d * 7})" for d in range(2 + i % 5)),
                    "Caused by: java.io.IOException: disk full",
                    "\tat org.example.Disk.write(Disk.java:42)",
                    "\t... 3 more"]
        else:
            out.append(f"{ts} INFO  [main] org.example.Worker - job {i} done in {i * 37 % 900} ms")
    return "\n".join(out) + "\n"


def _python(n: int) -> str:
    out = []
    for i in range(n):
        ts = f"2026-11-30 12:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d}"
        if i % 9 == 4:
            out += [f"{ts} ERROR app.worker: task {i} crashed",
                    "Traceback (most recent call last):",
                    '  File "/srv/app/worker.py", line 88, in run',
                    "    result = step(task)",
                    f"ValueError: bad task {i}"]
        else:
            out.append(f"{ts} INFO app.worker: task {i} ok")
    return "\n".join(out) + "\n"


def _postgres(n: int) -> str:
    """As PostgreSQL 15 writes it with ``log_min_duration_statement = 0``: a statement's own newlines are kept."""
    out = []
    for i in range(n):
        ts = f"2026-11-30 12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d} UTC"
        if i % 5 == 2:
            out += [f"{ts} [{7000 + i % 13}] LOG:  duration: {i % 97 / 10:.3f} ms  statement: SELECT aid,",
                    "\t       abalance",
                    "\tFROM pgbench_accounts",
                    f"\tWHERE aid = {i * 7919 % 100000};"]
        else:
            out.append(f"{ts} [{7000 + i % 13}] LOG:  duration: {i % 89 / 100:.3f} ms  statement: SELECT 1;")
    return "\n".join(out) + "\n"


CASES = {"java": _java(400), "python": _python(400), "postgres": _postgres(400)}


def _archive(tmp_path, name: str, text: str | bytes, **config) -> tuple:
    src = tmp_path / f"{name}.log"
    src.write_bytes(text if isinstance(text, bytes) else text.encode())
    archive = tmp_path / f"{name}.lslog"
    report = compress_files([str(src)], archive, CodecConfig(**config))
    return src, archive, report


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_bytes", [32 << 20, 2048])
def test_round_trip_is_exact(tmp_path, name, chunk_bytes):
    src, archive, _ = _archive(tmp_path, name, CASES[name], chunk_bytes=chunk_bytes)
    out = tmp_path / "out.log"
    decompress_archive(archive, out)
    assert out.read_bytes() == src.read_bytes()


def test_format_is_detected_through_stack_traces(tmp_path):
    _, _, report = _archive(tmp_path, "java", _java(400))
    assert report.format == "<Date> <Time> <Level> <Content>"
    _, _, report = _archive(tmp_path, "python", _python(400))
    assert report.format == "<Date> <Time> <Level> <Component>: <Content>"


def test_header_lines_check_field_shapes():
    fmt = parse_format("<Date> <Time> <Level> <Content>")
    lines = pl.Series(["2026-11-30 12:00:00,000 ERROR x failed", "Caused by: java.io.IOException: disk full",
                       "\tat a.B.c(B.java:1)", "... 3 more", "2026-11-30 12:00:01,000 INFO ok\r"])
    assert header_lines(fmt, lines).tolist() == [True, False, False, False, True]
    assert header_lines(parse_format("<Content>"), lines).all()


def test_event_ids_and_expand():
    header = np.array([False, True, False, False, True, True, False])
    assert event_ids(header).tolist() == [0, 1, 1, 1, 2, 3, 3]  # a leading continuation line is its own event
    hits = np.array([False, False, True, False, False, False, False])
    assert expand(hits, header).tolist() == [False, True, True, True, False, False, False]


def _expected_events(text: str, needle: str, starts_event) -> list[tuple[int, str]]:
    """(line number, line) of every event holding ``needle``, computed line by line in plain Python."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    events: list[list[tuple[int, str]]] = []
    for no, line in enumerate(lines, 1):
        if not events or starts_event(line):
            events.append([])
        events[-1].append((no, line))
    return [row for event in events if any(needle in line for _, line in event) for row in event]


def _starts(line: str) -> bool:
    return line[:4].isdigit()


@pytest.mark.parametrize("chunk_bytes", [32 << 20, 1024])
@pytest.mark.parametrize(("name", "needle"), [("java", "disk full"), ("java", "Worker.java:31"), ("java", "job 10 "),
                                              ("python", "line 88"), ("python", "bad task 13"),
                                              ("postgres", "WHERE aid = 1"), ("postgres", "abalance")])
def test_grep_returns_whole_events(tmp_path, name, needle, chunk_bytes):
    text = CASES[name]
    _, archive, _ = _archive(tmp_path, name, text, chunk_bytes=chunk_bytes)
    got = [(m.line_number, m.line.decode()) for m in grep(archive, needle, fixed=True)]
    want = _expected_events(text, needle, _starts)
    assert want and got == want
    lines_only = [m.line.decode() for m in grep(archive, needle, fixed=True, events=False)]
    assert lines_only == [line for line in text.split("\n") if needle in line]


def test_filters_apply_to_the_event_header(tmp_path):
    text = _postgres(200)
    _, archive, _ = _archive(tmp_path, "pg", text, chunk_bytes=1500)
    got = [m.line.decode() for m in grep(archive, "FROM", fixed=True, where=[_where("Process=7003")])]
    heads = [line for line in got if line[:4].isdigit()]
    assert heads and all("[7003]" in line for line in heads)
    assert len(got) == 4 * len(heads)  # each event whole: its header and three continuation lines


def _where(text: str):
    from lakeshrink.codecs.logs.query import parse_where

    return parse_where(text)


def test_edge_cases_leading_continuation_and_no_final_newline(tmp_path):
    text = "\tat leftover.Frame(X.java:1)\n... 2 more\n" + _java(60).rstrip("\n")
    src, archive, _ = _archive(tmp_path, "lead", text)
    out = tmp_path / "out.log"
    decompress_archive(archive, out)
    assert out.read_bytes() == src.read_bytes()
    assert [m.line_number for m in grep(archive, "leftover", fixed=True)] == [1, 2]
    last = [m.line.decode() for m in grep(archive, "3 more", fixed=True)][-8:]
    assert last[-1] == "\t... 3 more" and not text.endswith("\n")
    crlf = _java(50).replace("\n", "\r\n")
    src, archive, _ = _archive(tmp_path, "crlf", crlf, chunk_bytes=1024)
    decompress_archive(archive, tmp_path / "crlf.out")
    assert (tmp_path / "crlf.out").read_bytes() == crlf.encode()
    got = [m.line.decode() for m in grep(archive, "disk full", fixed=True)]
    assert got == [line for _, line in _expected_events(_java(50), "disk full", _starts)]


def test_an_event_longer_than_several_chunks(tmp_path):
    trace = "".join(f"\tat org.example.Deep.frame{d}(Deep.java:{d})\n" for d in range(300))  # about 12 KB
    text = _java(20) + "2026-11-30 13:00:00,000 ERROR [main] org.example.Deep - overflow\n" + trace + _java(20)
    _, archive, report = _archive(tmp_path, "deep", text, chunk_bytes=1024)
    assert report.chunks > 10
    for needle in ("overflow", "frame150(", "frame299("):
        got = [(m.line_number, m.line.decode()) for m in grep(archive, needle, fixed=True)]
        assert got == _expected_events(text, needle, _starts) and len(got) == 301
    assert [m.line.decode() for m in grep(archive, "frame7(", fixed=True, template="overflow")] == []


def test_continuation_lines_form_no_templates(tmp_path):
    from lakeshrink.codecs.logs.grep import list_templates

    _, archive, _ = _archive(tmp_path, "java", _java(400))
    got = {t.template: t.lines for t in list_templates(archive)}
    assert got == {"[main] org.example.Worker - job <*> done in <*> ms": 343,
                   "[main] org.example.Worker - job <*> failed": 57}  # one per event: "Caused by: ..." is no header


def test_cli_prints_whole_events_unless_lines(tmp_path):
    from click.testing import CliRunner

    from lakeshrink.cli.main import cli as main

    _, archive, _ = _archive(tmp_path, "python", _python(40))
    whole = CliRunner().invoke(main, ["logs", "grep", str(archive), "bad task 13", "-n"])
    assert whole.exit_code == 0, whole.output
    assert whole.output.splitlines()[0].endswith("ERROR app.worker: task 13 crashed") and len(whole.output.splitlines()) == 5
    lines = CliRunner().invoke(main, ["logs", "grep", str(archive), "bad task 13", "-n", "--lines"])
    assert lines.output.splitlines() == [whole.output.splitlines()[-1]]
