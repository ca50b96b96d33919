"""Safe writing: nothing already written is lost or half-written.

Every file or directory lakeshrink produces is first written under a temporary name beside its target and
renamed into place only when complete. On any error the temporary is removed and the target is untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temp_sibling(target: Path, *, directory: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.lakeshrink-tmp-"
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
    os.close(fd)
    return Path(name)


@contextmanager
def atomic_file(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically replaces ``target``.

    Example:
        >>> with atomic_file("out/archive.lsz") as tmp:   # doctest: +SKIP
        ...     tmp.write_bytes(payload)
    """
    target = Path(target)
    tmp = _temp_sibling(target, directory=False)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory to fill; on success it is renamed to ``target``.

    If ``target`` exists it is replaced only when ``overwrite`` is true (the old one is moved aside first and
    removed after the rename), otherwise ``FileExistsError`` is raised before anything is written.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    tmp = _temp_sibling(target, directory=True)
    try:
        yield tmp
        if target.exists():
            old = _temp_sibling(target, directory=True)
            old.rmdir()
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
