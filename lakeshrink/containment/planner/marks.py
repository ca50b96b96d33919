"""Marking planned tables for deletion, and withdrawing marks whose parent changed. Never deleting anything.

A mark says "this table can be deleted: it is rebuilt exactly from that parent by that recipe". lakeshrink
records marks in a manifest at the lake root and, for Delta tables, in a table property; it never deletes or
rewrites a data file. Deleting marked tables is the operator's decision, made after reading the plan's report.

``LAKE/_lakeshrink/marked.json`` is a sealed document (:mod:`lakeshrink.sealed`), magic ``"lakeshrink-marks"``, version 1::

    {"format": "lakeshrink-marks", "version": 1, "lake": root, "plan": plan dir, "plan_sha256": ...,
     "updated": ISO time, "marks": [{"table", "parent", "bytes", "recipe", "recipe_sha256", "parent_state",
     "child_state", "marked": ISO time, "delta_property": bool}...],
     "withdrawn": [{"table", "parent", "reason", "withdrawn": ISO time}...], "sha256": ...}

Delta tables also get the table properties ``lakeshrink.marked`` (``"true"``, or ``"false"`` once withdrawn),
``lakeshrink.parent`` and ``lakeshrink.plan`` (a metadata-only commit; the data files are untouched).

:func:`mark` is a dry run unless ``execute`` is true. Before writing anything it re-checks every planned mark
against the lake as it is now (parent and child unchanged, recipe sealed); on any doubt nothing is marked.
:func:`verify` re-checks the marks of the manifest and withdraws, with the reason, those whose parent (or the
table itself) changed or vanished.
"""

from __future__ import annotations

import datetime
import json
import os
import posixpath
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pafs

from lakeshrink.containment import identity
from lakeshrink.containment.planner import mark_intent, recipes
from lakeshrink.containment.planner.plan import LoadedPlan, load_plan
from lakeshrink.containment.planner.table_paths import UnsafeTablePath, check_table_id
from lakeshrink.errors import CorruptArchive, LakeshrinkError, TableError
from lakeshrink.fileio import atomic_file
from lakeshrink.sealed import read_sealed, seal, unseal
from lakeshrink.serde import to_jsonable
from lakeshrink.tables.discovery import filesystem_of

MARKS_FORMAT = "lakeshrink-marks"
MARKS_VERSION = 1
MANIFEST = "_lakeshrink/marked.json"
DELTA_PROPERTY = "lakeshrink.marked"


class PlanStale(TableError):
    """The lake no longer matches the plan (a parent or table changed or vanished); nothing was marked."""


@dataclass(frozen=True)
class Mark:
    table: str
    parent: str
    bytes: int
    recipe: str
    recipe_sha256: str
    parent_state: recipes.PinnedState
    child_state: recipes.PinnedState
    marked: str
    delta_property: bool = False


@dataclass(frozen=True)
class Withdrawal:
    table: str
    parent: str
    reason: str
    withdrawn: str


@dataclass(frozen=True)
class MarkResult:
    """What :func:`mark` did (or, in a dry run, would do)."""

    dry_run: bool
    lake: str
    manifest: str
    marks: tuple[Mark, ...]
    replaced: tuple[str, ...]
    delta_tables: tuple[str, ...]

    @property
    def bytes(self) -> int:
        return sum(m.bytes for m in self.marks)


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: marks still valid and marks withdrawn (or to withdraw, in a dry run)."""

    dry_run: bool
    lake: str
    manifest: str | None
    valid: tuple[str, ...]
    withdrawn: tuple[Withdrawal, ...]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _state(raw: dict[str, Any]) -> recipes.PinnedState:
    return recipes.PinnedState(raw["table"], raw["format"], tuple(recipes.PinnedFile(**f) for f in raw["files"]),
                               raw.get("delta_version"), raw.get("snapshot_id"))


def _manifest_path(lake: str) -> str:
    return posixpath.join(lake, MANIFEST)


def read_manifest(lake: str) -> tuple[tuple[Mark, ...], tuple[Withdrawal, ...], dict[str, Any]] | None:
    """The marks recorded at ``lake``, or None when there is no manifest. Refuses an edited or truncated one."""
    fs, base = filesystem_of(lake) if "://" in lake else (pafs.LocalFileSystem(), lake)
    path = _manifest_path(base)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    if isinstance(fs, pafs.LocalFileSystem):
        doc = read_sealed(path, MARKS_FORMAT)
    else:
        with fs.open_input_stream(path) as f:
            try:
                doc = unseal(json.loads(f.read().decode("utf-8")), MARKS_FORMAT, (MARKS_VERSION,), path=path)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CorruptArchive(f"marks manifest is not valid JSON (truncated?): {exc}", path=path) from exc
    try:
        marks = tuple(
            Mark(**{**m, "parent_state": _state(m["parent_state"]), "child_state": _state(m["child_state"])}) for m in doc["marks"]
        )
        withdrawn = tuple(Withdrawal(**w) for w in doc.get("withdrawn", []))
    except (KeyError, TypeError) as exc:
        raise CorruptArchive(f"malformed marks manifest: {exc!r}", path=path) from exc
    for m in marks:
        check_table_id(m.table)
        check_table_id(m.parent)
    return marks, withdrawn, doc


def _write_manifest(lake: str, body: dict[str, Any]) -> str:
    doc = seal(MARKS_FORMAT, MARKS_VERSION, body)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if "://" in lake:
        fs, base = filesystem_of(lake)
        path = _manifest_path(base)
        fs.create_dir(posixpath.dirname(path), recursive=True)
        with fs.open_output_stream(path) as f:  # object stores replace an object whole or not at all
            f.write(text.encode("utf-8"))
        return path
    path = _manifest_path(lake)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _set_delta(ref_path: str, properties: dict[str, str]) -> None:
    from deltalake import CommitProperties, DeltaTable

    DeltaTable(ref_path).alter.set_table_properties(
        properties, raise_if_not_exists=False, commit_properties=CommitProperties(custom_metadata={"lakeshrink": "mark"}),
    )


def _recheck(root: str, table: str, pinned: recipes.PinnedState, role: str) -> tuple[str | None, str | None]:
    """(reason it changed or None, table path); a table that is gone or unreadable counts as changed."""
    try:
        lake, ref = recipes.open_table(root, table)
        if ref.is_format_table and (unreadable := recipes.pinned_unreadable(lake, ref, pinned)):
            return f"the {role} {table!r}: {unreadable}", ref.path if ref.format == "delta" else None
        change = recipes.state_change(lake, ref, pinned)
    except recipes.ParentChanged as exc:
        return f"the {role} {table!r} vanished ({exc})", None
    except UnsafeTablePath:
        raise
    except (LakeshrinkError, OSError) as exc:
        return f"the {role} {table!r} cannot be read: {exc}", None
    moved = "moved on" if ref.is_format_table else "changed"
    return (f"the {role} {table!r} {moved}: {change}" if change else None), ref.path if ref.format == "delta" else None


def roll_back_interrupted(lake: str) -> list[str]:
    """Undo the Delta mark properties of a ``mark --execute`` that died before its manifest was written (see
    :mod:`.mark_intent`); returns the tables whose property was taken back."""
    intent = mark_intent.read_intent(lake)
    if intent is None:
        return []
    manifest = read_manifest(lake)
    held = {m.table for m in manifest[0] if m.delta_property} if manifest else set()
    undone = []
    for table, path in intent.items():
        if table not in held:
            _set_delta(path, {DELTA_PROPERTY: "false"})
            undone.append(table)
    mark_intent.clear_intent(lake)
    return undone


def same_storage(root: str, a: str, b: str) -> bool:
    """Whether tables ``a`` and ``b`` of the lake at ``root`` share any data file (now, on the filesystem)."""
    if a == b:
        return True
    lake_a, ref_a = recipes.open_table(root, a)
    lake_b, ref_b = recipes.open_table(root, b)
    return bool(identity.storage_key(lake_a.filesystem, ref_a) & identity.storage_key(lake_b.filesystem, ref_b))


def _same_storage(root: str, table: str, parent: str) -> str | None:
    """Why ``table`` cannot be marked with ``parent`` as its source when they are one storage, else None."""
    try:
        same = same_storage(root, table, parent)
    except (LakeshrinkError, OSError):
        return None  # a table that cannot be opened is reported by _recheck
    if same:
        return (f"{table!r} and its parent {parent!r} are the same storage (a symlink or hard link): "
                "deleting one would delete the other")
    return None


def mark(plan_dir: str | os.PathLike[str], *, execute: bool = False) -> MarkResult:
    """Mark the plan's tables (a dry run unless ``execute``): manifest at the lake root, property on Delta tables.

    Raises:
        CorruptArchive: the plan or a recipe was edited or truncated, or the existing manifest is.
        PlanStale: a parent or a planned table changed or vanished since planning; nothing is marked.
        TableError: a table path escapes the lake root.
    """
    plan: LoadedPlan = load_plan(plan_dir)
    now = _now()
    marks: list[Mark] = []
    problems: list[str] = []
    delta_paths: dict[str, str] = {}
    for entry in plan.marked:
        recipe = plan.recipe(entry.table)
        parent_problem, _ = _recheck(plan.lake, entry.parent, recipe.parent_state, "parent")
        child_problem, delta_path = _recheck(plan.lake, entry.table, recipe.child_state, "table")
        problems += [p for p in (parent_problem, child_problem, _same_storage(plan.lake, entry.table, entry.parent)) if p]
        if delta_path:
            delta_paths[entry.table] = delta_path
        marks.append(Mark(entry.table, entry.parent, entry.bytes, str((plan.dir / entry.recipe).resolve()), entry.recipe_sha256,
                          recipe.parent_state, recipe.child_state, now, entry.table in delta_paths))
    if problems:
        raise PlanStale("the lake changed since the plan was made, nothing was marked: " + "; ".join(problems)
                        + " (make a new scan and plan)", path=plan.lake)
    existing = read_manifest(plan.lake)
    new_tables = {m.table for m in marks}
    replaced = tuple(sorted(m.table for m in existing[0] if m.table not in new_tables)) if existing else ()
    manifest = _manifest_path(plan.lake)
    if execute:
        roll_back_interrupted(plan.lake)
        done: list[str] = []
        if delta_paths:
            mark_intent.write_intent(plan.lake, plan.sha256, delta_paths)
        try:
            for table, path in delta_paths.items():
                parent = next(m.parent for m in marks if m.table == table)
                _set_delta(path, {DELTA_PROPERTY: "true", "lakeshrink.parent": parent, "lakeshrink.plan": plan.sha256})
                done.append(path)
        except Exception as exc:
            for path in done:  # take back what was set, so no table claims a mark the manifest does not hold
                _set_delta(path, {DELTA_PROPERTY: "false"})
            raise TableError(f"cannot set the Delta mark property: {exc}; no table was marked", path=plan.lake) from exc
        for old in existing[0] if existing else ():
            if old.table not in new_tables and old.delta_property:
                _, path = _recheck(plan.lake, old.table, old.child_state, "table")
                if path:
                    _set_delta(path, {DELTA_PROPERTY: "false"})
        old_withdrawn = [to_jsonable(w) for w in existing[1]] if existing else []
        replaced_w = [to_jsonable(Withdrawal(m.table, m.parent, "replaced by a newer plan", now)) for m in existing[0]
                      if m.table not in new_tables] if existing else []
        manifest = _write_manifest(plan.lake, {
            "lake": plan.lake, "plan": str(plan.dir.resolve()), "plan_sha256": plan.sha256, "updated": now,
            "marks": to_jsonable(marks), "withdrawn": old_withdrawn + replaced_w,
        })
        mark_intent.clear_intent(plan.lake)
    return MarkResult(not execute, plan.lake, manifest, tuple(marks), replaced, tuple(delta_paths))


def verify(plan_dir: str | os.PathLike[str], *, dry_run: bool = False) -> VerifyResult:
    """Re-check every mark against the lake as it is now; withdraw (unless ``dry_run``) those that changed.

    Without a manifest (the plan was never marked), the plan's marks are checked and nothing is written.
    """
    plan = load_plan(plan_dir)
    if not dry_run:
        roll_back_interrupted(plan.lake)
    existing = read_manifest(plan.lake)
    now = _now()
    if existing is None:
        checks = [(m.table, m.parent, plan.recipe(m.table)) for m in plan.marked]
        pinned = [(t, p, r.parent_state, r.child_state) for t, p, r in checks]
        dry_run = True
    else:
        pinned = [(m.table, m.parent, m.parent_state, m.child_state) for m in existing[0]]
    valid: list[str] = []
    withdrawn: list[Withdrawal] = []
    delta_paths: dict[str, str] = {}
    for table, parent, parent_state, child_state in pinned:
        parent_problem, _ = _recheck(plan.lake, parent, parent_state, "parent")
        child_problem, delta_path = _recheck(plan.lake, table, child_state, "table")
        reason = _same_storage(plan.lake, table, parent) or parent_problem or child_problem
        if reason:
            withdrawn.append(Withdrawal(table, parent, reason, now))
            if delta_path:
                delta_paths[table] = delta_path
        else:
            valid.append(table)
    manifest = _manifest_path(plan.lake) if existing is not None else None
    if existing is not None and withdrawn and not dry_run:
        gone = {w.table for w in withdrawn}
        doc = existing[2]
        for path in delta_paths.values():
            _set_delta(path, {DELTA_PROPERTY: "false"})
        manifest = _write_manifest(plan.lake, {
            "lake": doc["lake"], "plan": doc["plan"], "plan_sha256": doc["plan_sha256"], "updated": now,
            "marks": [m for m in doc["marks"] if m["table"] not in gone],
            "withdrawn": [*doc.get("withdrawn", []), *to_jsonable(withdrawn)],
        })
    return VerifyResult(dry_run, plan.lake, manifest, tuple(valid), tuple(withdrawn))
