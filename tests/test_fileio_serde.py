"""Atomic writes and JSON serialisation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakeshrink.fileio import atomic_dir, atomic_file
from lakeshrink.serde import dumps, write_json


def test_atomic_file_replaces_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_file_keeps_old_on_error(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_dir(tmp_path):
    target = tmp_path / "d"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(FileExistsError):
        with atomic_dir(target):
            pass
    with pytest.raises(ValueError):
        with atomic_dir(target, overwrite=True) as tmp:
            (tmp / "b").write_text("2")
            raise ValueError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@dataclass(frozen=True)
class _Inner:
    path: Path
    ratio: float


@dataclass(frozen=True)
class _Outer:
    name: str
    items: tuple[_Inner, ...]


def test_dataclasses_become_json(tmp_path):
    obj = _Outer("x", (_Inner(Path("/a/b"), 1.5), _Inner(Path("c"), float("nan"))))
    assert json.loads(dumps(obj)) == {"name": "x", "items": [{"path": "/a/b", "ratio": 1.5}, {"path": "c", "ratio": None}]}
    write_json(obj, tmp_path / "o.json")
    assert json.loads((tmp_path / "o.json").read_text())["name"] == "x"
    with pytest.raises(TypeError, match="cannot turn object into JSON"):
        dumps(object())
