"""Safe writing: nothing already written is lost, half-written, or left unreadable to others.

Every file or directory lakeshrink produces is first written under a temporary name beside its target and
renamed into place only when complete. The rules (issue 9, cases 3, 4 and 7):

* **Modes and owners.** A new file gets ``0o666 & ~umask`` (a directory ``0o777 & ~umask``), like any other
  program's output; a replaced file or directory keeps the permission bits of the one it replaces, and its
  owner and group where the process may set them.
* **What is replaced.** A target that is a symlink is followed: the file it points to is replaced and the link
  stays. A FIFO, device, socket or directory where a file is expected (or a file where a directory is) is
  refused with :class:`~lakeshrink.errors.InputError`, never replaced.
* **Durability.** The temporary file (or every file of a temporary directory) is fsynced before the rename and
  the parent directory after it, so a power loss leaves the old target or the new one.
* **Crash windows.** Replacing a directory takes two renames (old aside, new in). An intent file
  (``.NAME.lakeshrink-journal``) written and fsynced first lets the next run that writes the same target roll
  the replacement forward (or back, when the new directory is gone), so a kill between the renames never leaves
  the path empty for longer than until the next run. :func:`recover` does it explicitly.
* **Leftovers.** Temporaries carry the writer's process id (``.NAME.lakeshrink-tmp-PID-...``); the next write of
  the same target removes those of processes that are no longer alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lakeshrink.errors import InputError

_TMP = ".lakeshrink-tmp-"
_JOURNAL = ".lakeshrink-journal"


# ------------------------------------------------------------------------------------------------- helpers
def current_umask() -> int:
    """The process umask (read from /proc where possible: setting it to read it is not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (renames, creations) to stable storage; a no-op where unsupported."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (deepest first), then ``root`` itself."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                fsync_file(p)
        fsync_dir(dirpath)


def resolve_target(target: str | os.PathLike[str], *, directory: bool = False) -> Path:
    """The path a write of ``target`` replaces: symlinks followed; refused when it is not a regular file (or,
    with ``directory``, not a directory).

    Raises:
        InputError: the target is a FIFO, device, socket, or the wrong kind of node.
    """
    path = Path(target)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        st = path.lstat()
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=target) from exc
    want_dir = directory
    if stat.S_ISDIR(st.st_mode) != want_dir or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        kind = _kind(st.st_mode)
        expected = "a directory" if want_dir else "a regular file"
        raise InputError(f"output is {kind}, not {expected}: refusing to replace it", path=target)
    return path


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a file")):
        if test(mode):
            return name
    return "a special file"


def _copy_owner_and_mode(src_stat: os.stat_result | None, dest: Path, *, directory: bool) -> None:
    if src_stat is None:
        os.chmod(dest, (0o777 if directory else 0o666) & ~current_umask())
        return
    os.chmod(dest, stat.S_IMODE(src_stat.st_mode))
    if hasattr(os, "chown"):
        st = dest.stat()
        if (st.st_uid, st.st_gid) != (src_stat.st_uid, src_stat.st_gid):
            with contextlib.suppress(OSError):  # only root (or the owner, for the group) may
                os.chown(dest, src_stat.st_uid, src_stat.st_gid)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


# ------------------------------------------------------------------------------------------ temporaries
def _prefix(target: Path) -> str:
    return f".{target.name}{_TMP}"


def _temp_sibling(target: Path, *, directory: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{_prefix(target)}{os.getpid()}-"
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
    os.close(fd)
    return Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``target`` left by processes that died (a kill, a power loss); returns them.

    Only names this module makes for this very target are considered, and only those whose writer's process id
    is no longer alive on this host (temporaries from before process ids were recorded are left alone).
    """
    target = Path(target)
    removed: list[Path] = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    prefix = _prefix(target)
    for p in siblings:
        if not p.name.startswith(prefix):
            continue
        pid_text = p.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


# ---------------------------------------------------------------------------------------------- journal
def _journal_path(target: Path) -> Path:
    return target.parent / f".{target.name}{_JOURNAL}"


def _write_journal(target: Path, new: Path, old: Path) -> Path:
    journal = _journal_path(target)
    doc = {"op": "replace-dir", "target": target.name, "new": new.name, "old": old.name, "pid": os.getpid(),
           "host": socket.gethostname()}
    tmp = journal.with_name(journal.name + ".w")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal)
    fsync_dir(target.parent)
    return journal


def recover(target: str | os.PathLike[str]) -> str | None:
    """Finish or undo a directory replacement of ``target`` interrupted by a crash; returns what was done
    (``"rolled forward"``, ``"rolled back"``, ``"finished"``) or None when there was nothing to do.

    Forward: the new directory is complete (it was fsynced before the journal was written), so if the target
    is missing it is renamed into place. Back: when the new one is gone, the old one is put back.
    """
    target = Path(target)
    journal = _journal_path(target)
    try:
        doc = json.loads(journal.read_text(encoding="utf-8"))
        new, old = target.parent / doc["new"], target.parent / doc["old"]
        if doc.get("target") != target.name or "/" in doc["new"] + doc["old"]:
            raise ValueError("journal of another target")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable lakeshrink journal ({exc}); inspect and remove it", path=journal) from exc
    if doc.get("host") == socket.gethostname() and doc.get("pid") != os.getpid() and _alive(int(doc.get("pid", 0))):
        raise InputError("another lakeshrink process is replacing this directory", path=target,
                         hint=f"wait for process {doc.get('pid')} to finish")
    action = "finished"
    if not target.exists():
        if new.is_dir():
            os.replace(new, target)
            action = "rolled forward"
        elif old.is_dir():
            os.replace(old, target)
            action = "rolled back"
    if old.exists() and target.exists():
        shutil.rmtree(old, ignore_errors=True)
    if new.exists() and target.exists() and action != "rolled forward":
        shutil.rmtree(new, ignore_errors=True)
    fsync_dir(target.parent)
    journal.unlink(missing_ok=True)
    fsync_dir(target.parent)
    return action


# ----------------------------------------------------------------------------------------------- writers
@contextmanager
def atomic_file(target: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically replaces ``target``.

    The new file gets the permission bits ``mode`` when given (a restored file's), else follows the umask, or
    keeps the mode and owner of the file it replaces; it is fsynced before
    the rename and its directory after. A symlink target is followed (the link stays); a FIFO, device or
    directory at the target is refused.

    Example:
        >>> with atomic_file("out/archive.lsz") as tmp:   # doctest: +SKIP
        ...     tmp.write_bytes(payload)
    """
    target = resolve_target(target)
    clean_stale_temporaries(target)
    tmp = _temp_sibling(target, directory=False)
    try:
        yield tmp
        if mode is None:
            _copy_owner_and_mode(_stat_or_none(target), tmp, directory=False)
        else:
            os.chmod(tmp, mode)
        fsync_file(tmp)
        os.replace(tmp, resolve_target(target))
        fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


CACHE_TMP_SUFFIX = ".tmp"  # the suffix of cache_file's temporary files (a cache may sweep its own)


@contextmanager
def cache_file(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to write; on success it replaces ``target`` by a rename, so no
    reader sees it half-written. For caches only: not fsynced and no sweep of stale temporaries (one directory
    listing per file is quadratic in a cache of many files), so a file lost or torn by a crash must fail its
    own seal or checksums and be rebuilt. A block that deletes the temporary file leaves ``target`` as it was
    (e.g. when what it wrote equals what is there).

    Example:
        >>> with cache_file(cache / "edges.parquet") as tmp:   # doctest: +SKIP
        ...     pq.write_table(edges, tmp)
    """
    target = Path(target)
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{CACHE_TMP_SUFFIX}")
    try:
        yield tmp
        if tmp.exists():
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory to fill; on success it is renamed to ``target``.

    If ``target`` exists it is replaced only when ``overwrite`` is true, otherwise ``FileExistsError`` is raised
    before anything is written. A replacement is journalled (see :func:`recover`): old moved aside, new renamed
    in, old removed. The new directory keeps the old one's mode and owner (or follows the umask when new), and
    everything in it is fsynced before the renames.
    """
    target = resolve_target(target, directory=True)
    if target.parent.exists():
        recover(target)
        clean_stale_temporaries(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    tmp = _temp_sibling(target, directory=True)
    try:
        yield tmp
        _copy_owner_and_mode(_stat_or_none(target), tmp, directory=True)
        fsync_tree(tmp)
        if target.exists():
            old = _temp_sibling(target, directory=True)
            old.rmdir()
            journal = _write_journal(target, tmp, old)
            os.replace(target, old)
            os.replace(tmp, target)
            fsync_dir(target.parent)
            journal.unlink()
            fsync_dir(target.parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
            fsync_dir(target.parent)
    except BaseException:
        if tmp.exists() and not _journal_path(target).exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def replace_file_in_place(target: str | os.PathLike[str]) -> Iterator[Path]:
    """:func:`atomic_file` for a file that must exist (an in-place rewrite of one file of a table)."""
    if not Path(target).is_file():
        raise InputError("no such file", path=target)
    with atomic_file(target) as tmp:
        yield tmp
