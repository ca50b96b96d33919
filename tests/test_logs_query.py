"""grep --where, time ranges of month-name and epoch timestamps, and logs stats --by template --every."""

from __future__ import annotations

import polars as pl
import pytest

from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.files import compress_files
from lakeshrink.codecs.logs.grep import grep
from lakeshrink.codecs.logs.header import parse_format
from lakeshrink.codecs.logs.query import line_times, parse_times, parse_where, where_mask
from lakeshrink.codecs.logs.stats import parse_every, template_stats
from lakeshrink.errors import InputError

SYSLOG = "".join(
    f"Nov 30 {10 + i // 60:02d}:{i % 60:02d}:0{i % 10} host app[{i % 3}]: request status={(200, 500)[i % 2]} "
    f"duration: {i * 7 % 200} ms\n"
    for i in range(120)
)


def test_parse_times_of_common_shapes():
    texts = ["2026-11-30 12:43:17.446 UTC", "2015-10-18 18:01:47,978", "Nov 30 12:43:17", "Nov  3 01:02",
             "1700000000.5", "1700000000500", "081109 203615", "17/06/09 20:10:40", "Sun Dec 04 04:47:44 2005", "soon"]
    got = parse_times(pl.Series(texts), year=2026).to_list()
    assert got[0] == pytest.approx(1796042597.446)
    assert got[1] == pytest.approx(1445191307.978)
    assert got[2] == pytest.approx(1796042597.0)
    assert got[3] == pytest.approx(1793667720.0)
    assert got[4] == got[5] == pytest.approx(1700000000.5)
    assert got[6] == pytest.approx(1226262975.0)
    assert got[7] == pytest.approx(1497039040.0)
    assert got[8] == pytest.approx(1133671664.0)
    assert got[9] is None


def test_where_conditions():
    lines = pl.Series(['{"status":500,"dur": 12.5}', '{"status":"200"}', "GET status=500 duration: 150 ms", "none"])
    assert where_mask(lines, [parse_where("status=500")]).tolist() == [True, False, True, False]
    assert where_mask(lines, [parse_where("duration>100")]).tolist() == [False, False, True, False]
    assert where_mask(lines, [parse_where("dur<=12.5"), parse_where("status!=200")]).tolist() == [True, False, False, False]
    fmt = parse_format("<Level> <Content>")
    assert where_mask(pl.Series(["INFO a", "WARN b"]), [parse_where("level~^W")], fmt).tolist() == [False, True]
    for bad in ("status", "duration>fast", "x~("):
        with pytest.raises(InputError):
            parse_where(bad)


def test_line_times_from_header_json_and_leading_time():
    fmt = parse_format("<Month> <Date> <Time> <Content>")
    assert line_times(pl.Series(["Jun 14 15:16:01 sshd"]), fmt, 2026).to_list() == [pytest.approx(1781450161.0)]
    assert line_times(pl.Series(['{"ts":1700000000.5,"m":1}', "2026-11-30 12:43:17 x", "no time"])).to_list()[:2] == [
        pytest.approx(1700000000.5), pytest.approx(1796042597.0)]


def test_grep_where_and_month_name_range(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(SYSLOG)
    archive = tmp_path / "a.lslog"
    compress_files([str(log)], archive, CodecConfig())
    hits = [m.line.decode() for m in grep(archive, "request", where=[parse_where("status=500"), parse_where("duration>150")])]
    want = [line for line in SYSLOG.splitlines() if "status=500" in line and int(line.split("duration: ")[1].split()[0]) > 150]
    assert hits == want and hits
    ranged = [m.line.decode() for m in grep(archive, ".", time_from="Nov 30 10:30", time_to="Nov 30 10:40:59", year=2026)]
    assert ranged == SYSLOG.splitlines()[30:41]


def test_stats_by_template_every_hour(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(SYSLOG)
    archive = tmp_path / "a.lslog"
    compress_files([str(log)], archive, CodecConfig())
    rows = template_stats(archive, parse_every("1h"), year=2026)
    assert sum(r.lines for r in rows) == 120
    assert sorted({r.bucket for r in rows}) == [1796032800.0, 1796036400.0]
    assert parse_every("30s") == 30 and parse_every("1.5h") == 5400
    with pytest.raises(InputError):
        parse_every("soon")


def test_cli_grep_where_and_stats(tmp_path):
    import json

    from click.testing import CliRunner

    from lakeshrink.cli.main import cli

    log = tmp_path / "app.log"
    log.write_text(SYSLOG)
    archive = tmp_path / "a.lslog"
    compress_files([str(log)], archive, CodecConfig())
    runner = CliRunner()
    result = runner.invoke(cli, ["logs", "grep", str(archive), "request", "--where", "status=500", "--where", "duration>190"])
    assert result.exit_code == 0, result.output
    want = [line for line in SYSLOG.splitlines() if "status=500" in line and int(line.split("duration: ")[1].split()[0]) > 190]
    assert result.output.splitlines() == want and want
    result = runner.invoke(cli, ["--output", "json", "logs", "stats", str(archive), "--every", "1h", "--year", "2026"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert {r["bucket"] for r in rows} == {"2026-11-30 10:00:00", "2026-11-30 11:00:00"}
    assert sum(r["lines"] for r in rows) == 120
    bad = runner.invoke(cli, ["logs", "grep", str(archive), "x", "--where", "duration>fast"])
    assert bad.exit_code == 1 and "not one" in bad.output
