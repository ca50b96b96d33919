"""Sealed JSON documents: the one format of every signed file lakeshrink writes, and the one reader of them.

Encoding plans (``encode advise --save-plan``), containment plans (``plan.json``), recipes (``recipes/*.json``)
and the marks manifest (``_lakeshrink/marked.json``) are all one UTF-8 JSON object with

* ``"format"``: the magic string naming the kind of document (``"lakeshrink.encoding-plan"``,
  ``"lakeshrink-plan"``, ``"lakeshrink-recipe"``, ``"lakeshrink-marks"``);
* ``"version"``: an integer; a reader lists the versions it knows and refuses the others, saying whether the
  document comes from a newer lakeshrink (upgrade) or an older one (no longer read);
* the document's own fields;
* ``"sha256"``: the hex SHA-256 of the canonical JSON of every other field (keys sorted, no spaces,
  ``ensure_ascii=False``, no NaN, UTF-8). Pretty-printing does not change it; editing any value, deleting the
  seal, or truncating the file does, and the reader refuses the document.

The seal catches documents damaged in storage and edits made by hand or by a tool that does not re-seal; it is
not a signature against someone who re-seals on purpose. What a document *claims* about data (an encoding
plan's sort order, a recipe's parent) is still checked against the data by the code that uses it.

Every refusal is a :class:`SealBroken` (a :class:`~lakeshrink.errors.CorruptArchive`): one line naming the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from lakeshrink.errors import CorruptArchive
from lakeshrink.serde import to_jsonable, write_json

T = TypeVar("T")
SEAL_KEY = "sha256"
#: Sealed documents larger than this are refused before being read (the largest real ones are plans of
#: thousands of tables: a few MiB).
MAX_DOCUMENT_BYTES = 256 << 20


class SealBroken(CorruptArchive):
    """A sealed document that is not JSON, not of the expected kind or version, or fails its checksum."""


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes the seal is computed over."""
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError) as exc:  # NaN, or a value JSON cannot hold
        raise SealBroken(f"document cannot be sealed: {exc}") from exc


def seal(kind: str, version: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as a sealed document of ``kind`` (magic) and ``version``, with its checksum."""
    doc = {"format": kind, "version": version, **to_jsonable(dict(body))}
    doc.pop(SEAL_KEY, None)
    doc[SEAL_KEY] = hashlib.sha256(canonical(doc)).hexdigest()
    return doc


def write_sealed(path: str | os.PathLike[str], kind: str, version: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """Seal ``body`` and write it to ``path`` atomically (:mod:`lakeshrink.fileio` rules); returns the document."""
    doc = seal(kind, version, body)
    write_json(doc, path)
    return doc


def unseal(
    doc: Any,
    kind: str,
    versions: tuple[int, ...],
    *,
    path: str | os.PathLike[str] | None = None,
    legacy: Mapping[int, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Check a parsed document's magic, version and seal; return it (seal fields included).

    Args:
        doc: the parsed JSON.
        kind: the expected magic.
        versions: the versions this reader knows.
        path: names the file in errors.
        legacy: for old versions sealed under another key, ``{version: (key, prefix)}`` (e.g. version 1 of
            encoding plans: ``("checksum", "sha256:")``).

    Raises:
        SealBroken: anything but an intact document of this kind and a known version.
    """
    where = str(path) if path is not None else None
    if not isinstance(doc, dict):
        raise SealBroken(f"not a {kind} document (a JSON object was expected)", path=where)
    if doc.get("format") != kind:
        raise SealBroken(f"not a {kind} document (format is {str(doc.get('format'))[:60]!r})", path=where)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in versions:
        newest = max(versions)
        if isinstance(version, int) and not isinstance(version, bool) and version > newest:
            message = (f"{kind} version {version} is not supported: it was written by a newer lakeshrink (this one reads "
                       f"up to {newest}); upgrade lakeshrink")
        else:
            message = f"{kind} version {str(version)[:20]!r} is not supported (this lakeshrink reads {', '.join(map(str, versions))})"
        raise SealBroken(message, path=where)
    key, prefix = (legacy or {}).get(version, (SEAL_KEY, ""))
    stored = doc.get(key)
    if stored is None:
        raise SealBroken(f"the {kind} has no checksum ({key!r}): refusing an unsealed or hand-edited document",
                         path=where)
    body = {k: v for k, v in doc.items() if k != key}
    actual = prefix + hashlib.sha256(canonical(body)).hexdigest()
    if stored != actual:
        raise SealBroken(
            f"checksum mismatch: the {kind} was edited or damaged after lakeshrink wrote it; refusing to use it",
            path=where,
        )
    return doc


def parse_sealed(data: bytes, kind: str, versions: tuple[int, ...], *, path: str | os.PathLike[str] | None = None,
                 legacy: Mapping[int, tuple[str, str]] | None = None) -> dict[str, Any]:
    """:func:`unseal` of the bytes of a document (refused when not UTF-8 JSON: binary, truncated)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "not UTF-8 text (a binary file?)" if isinstance(exc, UnicodeDecodeError) else f"not JSON, or not valid JSON (truncated? {exc})"
        raise SealBroken(f"{kind} is {reason}", path=path) from exc
    return unseal(doc, kind, versions, path=path, legacy=legacy)


def read_sealed(path: str | os.PathLike[str], kind: str, versions: tuple[int, ...] = (1,), *,
                legacy: Mapping[int, tuple[str, str]] | None = None) -> dict[str, Any]:
    """Read and check a sealed document written by :func:`write_sealed`.

    Raises:
        SealBroken: the file is not JSON (binary, truncated?), not of this kind or version, or its checksum differs.
        FileNotFoundError: there is no such file.
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_DOCUMENT_BYTES:
            raise SealBroken(f"{kind} is larger than {MAX_DOCUMENT_BYTES >> 20} MiB: not a document lakeshrink wrote", path=path)
        raw = p.read_bytes()
    except IsADirectoryError as exc:
        raise SealBroken(f"{kind} expected, found a directory", path=path) from exc
    return parse_sealed(raw, kind, versions, path=path, legacy=legacy)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(cls: type[T], raw: Any, *, path: str | os.PathLike[str] | None = None, what: str = "entry") -> T:
    """``cls(**raw)`` for a dataclass, once each field of a plain type (``str``, ``int``, ``float``, ``bool``,
    optionally ``| None``) holds a value of that type: a re-sealed document with a wrong type is refused in one
    line instead of failing somewhere later. Fields of other types are passed as they are.

    Raises:
        SealBroken: ``raw`` is not an object, names an unknown field, lacks one, or holds a wrongly typed value.
    """
    if not isinstance(raw, dict):
        raise SealBroken(f"malformed {what}: an object was expected, found {type(raw).__name__}", path=path)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in raw.items():
        if key not in names:
            raise SealBroken(f"malformed {what}: unknown field {str(key)[:40]!r}", path=path)
        allowed = _plain_types(hints[key])
        if allowed is not None and not _is_a(value, allowed):
            raise SealBroken(f"malformed {what}: field {key!r} holds {type(value).__name__}", path=path)
    try:
        return cls(**raw)
    except (TypeError, ValueError) as exc:
        raise SealBroken(f"malformed {what}: {exc}", path=path) from exc


_PLAIN = (str, int, float, bool, type(None))


def _plain_types(hint: Any) -> tuple[type, ...] | None:
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return tuple(args) if all(a in _PLAIN for a in args) else None


def _is_a(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return isinstance(value, allowed)
