"""Issue 9, cases 1, 3, 4 and 7: writes never delete what they do not own, never replace special files, follow
the umask or keep the replaced target's mode, and survive kills (journal rolled forward, stale temporaries
cleaned, fsync before rename)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lakeshrink import fileio
from lakeshrink.cli.main import cli
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.errors import InputError


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ------------------------------------------------------------------------------------------------- case 1
def test_in_place_rewrite_keeps_folders_it_does_not_own(demo_data, tmp_path):
    table = tmp_path / "flights_jan"
    shutil.copytree(demo_data / "lake" / "flights_jan", table)
    (table / "_checkpoints").mkdir()
    (table / "_checkpoints" / "offsets.json").write_text('{"offset": 42}')
    (table / ".snapshots").mkdir()
    (table / ".snapshots" / "s1").write_text("snap")
    (table / "_lakeshrink").mkdir()
    (table / "_lakeshrink" / "marks.json").write_text("{}")
    result = run("encode", "rewrite", table, "-o", table)
    assert result.exit_code == 0, result.output
    assert (table / "_checkpoints" / "offsets.json").read_text() == '{"offset": 42}'
    assert (table / ".snapshots" / "s1").read_text() == "snap"
    assert (table / "_lakeshrink" / "marks.json").read_text() == "{}"


def test_in_place_rewrite_keeps_the_directory_mode(demo_data, tmp_path):
    table = tmp_path / "flights_jan"
    shutil.copytree(demo_data / "lake" / "flights_jan", table)
    os.chmod(table, 0o755)
    for p in table.rglob("*.parquet"):
        os.chmod(p, 0o644)
    assert run("encode", "rewrite", table, "-o", table).exit_code == 0
    assert table.stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in table.rglob("*.parquet"))


def test_rewrite_refuses_a_nested_delta_table(demo_data, tmp_path):
    table = tmp_path / "lake"
    shutil.copytree(demo_data / "lake" / "flights_jan", table / "sub")
    (table / "sub" / "_delta_log").mkdir()
    (table / "sub" / "_delta_log" / "00000000000000000000.json").write_text("{}")
    result = run("encode", "rewrite", table, "-o", table)
    assert result.exit_code == 1 and "Delta table" in result.output
    assert (table / "sub" / "_delta_log" / "00000000000000000000.json").exists()


def test_overwrite_refuses_to_delete_foreign_folders_of_another_output(demo_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_checkpoints").mkdir()
    (out / "_checkpoints" / "x").write_text("keep")
    result = run("encode", "rewrite", demo_data / "lake" / "flights_jan", "-o", out, "--overwrite")
    assert result.exit_code == 1 and "_checkpoints" in result.output
    assert (out / "_checkpoints" / "x").read_text() == "keep"


# ------------------------------------------------------------------------------------------------- case 3
def test_force_onto_a_symlink_replaces_the_file_it_points_to(tmp_path):
    src = tmp_path / "a.log"
    src.write_bytes(b"one\n")
    real = tmp_path / "real.lslog"
    real.write_bytes(b"old")
    link = tmp_path / "link.lslog"
    link.symlink_to(real)
    assert run("logs", "compress", src, "-o", link, "--force").exit_code == 0
    assert link.is_symlink() and real.read_bytes()[:8] == b"\x89LSKLOG\n"


def test_force_onto_a_fifo_is_refused(tmp_path):
    src = tmp_path / "a.log"
    src.write_bytes(b"one\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run("logs", "compress", src, "-o", fifo, "--force")
    assert result.exit_code == 1 and "FIFO" in result.output
    assert fifo.is_fifo()


def test_decompress_force_onto_a_socket_is_refused(tmp_path):
    # never a real device: on the old code this test would replace the node itself
    import socket

    src = tmp_path / "a.log"
    src.write_bytes(b"one\n")
    compress_files([str(src)], tmp_path / "a.lslog")
    node = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(node))
    try:
        with pytest.raises(InputError, match="socket"):
            decompress_archive(tmp_path / "a.lslog", node, overwrite=True)
        assert node.is_socket()
    finally:
        server.close()


# ------------------------------------------------------------------------------------------------- case 4
def test_new_outputs_follow_the_umask(tmp_path, umask_022):
    src = tmp_path / "a.log"
    src.write_bytes(b"one\ntwo\n")
    assert run("logs", "compress", src, "-o", tmp_path / "a.lslog").exit_code == 0
    assert (tmp_path / "a.lslog").stat().st_mode & 0o777 == 0o644
    with fileio.atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_replaced_outputs_keep_their_mode(tmp_path, umask_022):
    target = tmp_path / "t.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    with fileio.atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------------------------------------------- case 7
def test_kill_between_the_two_renames_is_rolled_forward(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "f").write_text("old")
    real_replace = os.replace
    calls = []

    def dying_replace(a, b):
        calls.append((a, b))
        if os.fspath(b) == os.fspath(target):
            raise KeyboardInterrupt  # the process dies after moving the old directory aside
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt), fileio.atomic_dir(target, overwrite=True) as tmp:
        (tmp / "f").write_text("new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert not target.exists()  # the window: nothing at the path...
    assert fileio.recover(target) == "rolled forward"  # ...until the next run
    assert (target / "f").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_next_write_recovers_first(tmp_path):
    target = tmp_path / "out"
    new = tmp_path / f".out.lakeshrink-tmp-{os.getpid()}-x"
    new.mkdir()
    (new / "f").write_text("new")
    fileio._write_journal(target, new, tmp_path / ".out.lakeshrink-tmp-1-old")
    with pytest.raises(FileExistsError):  # recovered, so it exists again and is not overwritten silently
        with fileio.atomic_dir(target):
            pass
    assert (target / "f").read_text() == "new"


def test_stale_temporaries_of_dead_processes_are_cleaned(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(proc.stdout)
    stale = tmp_path / f".a.lslog.lakeshrink-tmp-{dead}-abc"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".a.lslog.lakeshrink-tmp-{os.getpid()}-def"
    live.write_bytes(b"y")
    other = tmp_path / f".b.lslog.lakeshrink-tmp-{dead}-abc"
    other.write_bytes(b"z")
    src = tmp_path / "a.log"
    src.write_bytes(b"one\n")
    compress_files([str(src)], tmp_path / "a.lslog")
    assert not stale.exists() and live.exists() and other.exists()


def test_files_and_directories_are_fsynced_before_rename(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real(fd)))
    with fileio.atomic_file(tmp_path / "f") as tmp:
        tmp.write_text("x")
    assert any(".f.lakeshrink-tmp-" in s for s in synced) and str(tmp_path) in synced


def test_cache_file_replaces_on_success_and_leaves_the_target_otherwise(tmp_path):
    from lakeshrink.fileio import CACHE_TMP_SUFFIX, cache_file

    target = tmp_path / "edges.parquet"
    target.write_text("old")
    with cache_file(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # nobody sees the new file before it is whole
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), cache_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")
    with cache_file(target) as tmp:  # the block found its file equal to the target's and dropped it
        tmp.write_text("same")
        tmp.unlink()
    assert target.read_text() == "new"
    assert not list(tmp_path.glob(f"*{CACHE_TMP_SUFFIX}"))
