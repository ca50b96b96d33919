"""The intent file of ``containment mark --execute``: a crash between the Delta commits and the manifest is undone.

Marking writes Delta table properties (one commit per Delta table) and then the marks manifest. A kill between the
two would leave ``lakeshrink.marked=true`` on tables the manifest does not hold. So before the first commit the
list of Delta tables about to be marked is written to ``LAKE/_lakeshrink/marking.intent.json`` (a sealed document,
fsynced), and removed once the manifest is in place. The next ``mark`` or ``verify`` that finds it rolls the
marks back (``lakeshrink.marked=false`` on every listed table the manifest does not hold), then removes it.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

import pyarrow.fs as pafs

from lakeshrink.sealed import parse_sealed, seal, write_sealed
from lakeshrink.tables.discovery import filesystem_of

INTENT = "_lakeshrink/marking.intent.json"
INTENT_FORMAT = "lakeshrink-marks-intent"
INTENT_VERSION = 1


def _fs(lake: str) -> tuple[pafs.FileSystem, str]:
    return filesystem_of(lake)


def write_intent(lake: str, plan_sha256: str, delta_paths: dict[str, str]) -> None:
    """Record the Delta tables about to get the mark property (before the first commit)."""
    body: dict[str, Any] = {"plan_sha256": plan_sha256, "delta": dict(sorted(delta_paths.items()))}
    fs, base = _fs(lake)
    path = posixpath.join(base, INTENT)
    if isinstance(fs, pafs.LocalFileSystem):
        write_sealed(path, INTENT_FORMAT, INTENT_VERSION, body)
        return
    fs.create_dir(posixpath.dirname(path), recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(json.dumps(seal(INTENT_FORMAT, INTENT_VERSION, body)).encode("utf-8"))


def read_intent(lake: str) -> dict[str, str] | None:
    """The Delta tables (id -> path) of an interrupted marking, or None when there is none."""
    fs, base = _fs(lake)
    path = posixpath.join(base, INTENT)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with fs.open_input_stream(path) as f:
        doc = parse_sealed(f.read(), INTENT_FORMAT, (INTENT_VERSION,), path=path)
    delta = doc.get("delta")
    if not isinstance(delta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in delta.items()):
        from lakeshrink.sealed import SealBroken

        raise SealBroken("malformed marking intent", path=path)
    return delta


def clear_intent(lake: str) -> None:
    fs, base = _fs(lake)
    path = posixpath.join(base, INTENT)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_file(path)
