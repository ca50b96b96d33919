"""Issue 9, case 10: what the CLI prints from data is shown exactly (rich markup and emoji codes are off)."""

from __future__ import annotations

from click.testing import CliRunner

from lakeshrink.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_templates_keep_their_brackets(tmp_path):
    src = tmp_path / "auth.log"
    lines = [f"Dec 10 06:55:{i % 60:02d} LabSZ sshd[{24200 + i}]: Connection closed by 1.2.3.{i % 9} [preauth] :smile:"
             for i in range(200)]
    src.write_text("\n".join(lines) + "\n")
    archive = tmp_path / "a.lslog"
    result = run("logs", "compress", src, "-o", archive, "--format", r"<Month> <Date> <Time> <Host> <Component>\[<Pid>\]: <Content>")
    assert result.exit_code == 0, result.output
    assert r"format: <Month> <Date> <Time> <Host> <Component>\[<Pid>\]: <Content>" in result.output
    result = run("logs", "templates", archive)
    assert result.exit_code == 0, result.output
    assert "[preauth] :smile:" in result.output


def test_scan_prints_table_names_and_reasons_exactly(tmp_path, demo_data):
    import shutil

    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake" / "derived", lake)
    (lake / "t[bold]x[red].parquet").write_bytes(b"not parquet at all")
    result = run("containment", "scan", lake, "-o", tmp_path / "scan")
    assert result.exit_code == 0, result.output
    assert "t[bold]x[red].parquet" in result.output
