"""The repository's own promises: README's two commands and CI running the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.index("```bash")
    assert text[:first_block].count("\n") <= 3, "the two commands must open the README"
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("lakeshrink demo")
    assert "pytest" in commands[1] and "[test]" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


@pytest.mark.parametrize("name", ["LICENSE-NOTE.txt", "HDFS_1k.log", "OpenSSH_1k.log"])
def test_bundled_logs_carry_their_license(name):
    assert (ROOT / "lakeshrink" / "data" / "logs" / name).is_file()
