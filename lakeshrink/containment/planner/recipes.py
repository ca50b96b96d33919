"""Exact rebuild recipes: how to get a marked table back, row for row, from its parent.

A recipe names the parent and pins its state (every data file with its size and SHA-256; for a Delta table its
version, for an Iceberg table its snapshot id, with the files of that state), lists the child's columns (and its exact Arrow schema), and says which parent rows make the child:

* ``all``: every parent row (the child is a projection or a copy of the parent);
* ``range``/``in``: a predicate on one parent column (``low <= col <= high``, or ``col IN (...)``), used only when
  it selects exactly the rows the child needs (checked when the recipe is built);
* ``bitmap``: otherwise, the parent row positions as a compressed bitmap. lakeshrink uses Roaring bitmaps
  (Chambi, Lemire, Kaser and Godin, "Better bitmap performance with Roaring bitmaps", SPE 2016; the ``pyroaring``
  package, portable serialisation) when ``pyroaring`` is installed, and otherwise a zstd-compressed bit array
  (``numpy.packbits`` order, little bit first). Both are readable by any lakeshrink that has the codec.

When the child holds a row more often than its parent (not a plain subset as a multiset), ``multiplicities``
gives, for each selected parent row in parent order, how often it appears in the child (uint32 little-endian,
zstd-compressed, base64). ``row_checksum`` (:mod:`lakeshrink.containment.rowhash`) is the order-independent
checksum of the child's rows; a rebuild is accepted only when its checksum equals it.

Parent row positions are positions in the parent as read by :func:`read_parent` (files in the pinned order). A
Delta or Iceberg parent is read at its pinned state (time travel), so a rebuild works after the parent moved on
for as long as that state can still be read (until the Delta log or files are vacuumed, or the Iceberg snapshot
expires).

File format: a sealed JSON document (:mod:`lakeshrink.sealed`), magic ``"lakeshrink-recipe"``,
version 1, written by :func:`write_recipe` and read by :func:`read_recipe`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import zstandard

from lakeshrink.containment.lake import Lake, TableRef, discover
from lakeshrink.tables.read import at_state
from lakeshrink.containment.rowhash import checksum_of_hashes, row_hashes, table_checksum
from lakeshrink.containment.planner.table_paths import table_path
from lakeshrink.sealed import read_sealed, write_sealed
from lakeshrink.errors import CorruptArchive, InputError, TableError, VerificationFailed
from lakeshrink.fileio import atomic_file

RECIPE_FORMAT = "lakeshrink-recipe"
RECIPE_VERSION = 1
MAX_IN_VALUES = 256
_HASH_BLOCK = 1 << 20

try:  # optional: Roaring bitmaps when pyroaring is installed
    import pyroaring as _roaring
except ImportError:  # pragma: no cover - depends on the installation
    _roaring = None


class ParentChanged(TableError):
    """A pinned table no longer has the state its recipe or mark recorded (changed, or gone)."""


@dataclass(frozen=True)
class PinnedFile:
    path: str  # relative to the lake root
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class PinnedState:
    """A table's exact state: its files (size and SHA-256), for Delta its version, for Iceberg its snapshot."""

    table: str
    format: str
    files: tuple[PinnedFile, ...]
    delta_version: int | None = None
    snapshot_id: int | None = None

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class RowSelector:
    """Which parent rows make the child (see the module docstring for the kinds)."""

    kind: Literal["all", "range", "in", "bitmap"]
    column: str | None = None
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()
    encoding: str | None = None  # bitmap: "roaring" | "zstd-bits"
    data: str | None = None  # bitmap: base64 payload
    selected: int = 0  # number of parent rows selected

    def describe(self) -> str:
        if self.kind == "all":
            return "all parent rows"
        if self.kind == "range":
            return f"{self.column} = {self.low!r}" if self.low == self.high else f"{self.low!r} <= {self.column} <= {self.high!r}"
        if self.kind == "in":
            return f"{self.column} IN ({', '.join(map(repr, self.values[:5]))}{', ...' if len(self.values) > 5 else ''})"
        return f"{self.selected:,} parent rows by position ({self.encoding} bitmap, {len(self.data or '') * 3 // 4:,} bytes)"


@dataclass(frozen=True)
class Recipe:
    """How to rebuild table ``child`` exactly from ``parent``."""

    child: str
    parent: str
    parent_state: PinnedState
    child_state: PinnedState
    columns: tuple[str, ...]
    child_schema: str  # base64 of the Arrow IPC-serialised schema
    selector: RowSelector
    multiplicities: str | None
    parent_rows: int
    child_rows: int
    row_checksum: str

    def schema(self) -> pa.Schema:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(self.child_schema)))


# ---------------------------------------------------------------- pinning


def _sha256(fs: pafs.FileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def pin(lake: Lake, ref: TableRef, *, hashes: bool = True) -> PinnedState:
    """The table's current state; for Delta and Iceberg tables the version or snapshot (files without hashes: a
    table format never changes a file in place)."""
    files = tuple(
        PinnedFile(posixpath.relpath(f.path, lake.root), f.size,
                   _sha256(lake.filesystem, f.path) if hashes and not ref.is_format_table else None)
        for f in ref.files
    )
    return PinnedState(ref.id, ref.format, files, ref.delta_version, ref.snapshot_id)


def open_table(root: str, table_id: str) -> tuple[Lake, TableRef]:
    """Table ``table_id`` of the lake at ``root``, refusing paths that escape the root.

    Raises:
        ParentChanged: the table is gone.
    """
    lake = discover(root, tables=[])
    path = table_path(lake.root, table_id, local=isinstance(lake.filesystem, pafs.LocalFileSystem))
    if lake.filesystem.get_file_info(path).type == pafs.FileType.NotFound:
        raise ParentChanged(f"table {table_id!r} no longer exists", table=table_id, path=path)
    lake = discover(root, tables=[table_id])
    if lake.skipped:
        raise TableError(f"cannot open table {table_id!r}: {lake.skipped[0].reason}", table=table_id, path=path)
    return lake, lake.table(table_id)


def _files_of(lake: Lake, ref: TableRef) -> dict[str, int]:
    return {posixpath.relpath(f.path, lake.root): f.size for f in ref.files}


def state_change(lake: Lake, ref: TableRef, pinned: PinnedState) -> str | None:
    """Why the table's state differs from ``pinned``, or None when it is the same."""
    if ref.format != pinned.format:
        return f"format changed from {pinned.format} to {ref.format}"
    now = _files_of(lake, ref)
    was = {f.path: f.size for f in pinned.files}
    if pinned.format == "delta":
        # a commit that only changes metadata (such as lakeshrink's own mark property) leaves the data as pinned
        if ref.delta_version == pinned.delta_version or now == was:
            return None
        return f"Delta version is {ref.delta_version}, pinned {pinned.delta_version}, and its data files differ"
    if pinned.format == "iceberg":
        if ref.snapshot_id == pinned.snapshot_id or now == was:
            return None
        return f"Iceberg snapshot is {ref.snapshot_id}, pinned {pinned.snapshot_id}, and its data files differ"
    if now.keys() != was.keys():
        added, gone = sorted(now.keys() - was.keys()), sorted(was.keys() - now.keys())
        return f"files changed (added {added[:3]}, gone {gone[:3]})"
    for f in pinned.files:
        if now[f.path] != f.size:
            return f"{f.path} changed size ({f.size} -> {now[f.path]} bytes)"
    for f in pinned.files:
        if f.sha256 is not None and _sha256(lake.filesystem, posixpath.join(lake.root, f.path)) != f.sha256:
            return f"{f.path} changed content (SHA-256 differs)"
    return None


def at_pinned(lake: Lake, ref: TableRef, pinned: PinnedState) -> TableRef:
    """``ref`` at its pinned Delta version or Iceberg snapshot, every data file of that state still present.

    Raises:
        ParentChanged: the pinned state can no longer be read (log or files vacuumed, snapshot expired).
    """
    if not ref.is_format_table:
        return ref
    try:
        at = at_state(lake.filesystem, ref, delta_version=pinned.delta_version, snapshot_id=pinned.snapshot_id)
    except TableError as exc:
        if _files_of(lake, ref) == {f.path: f.size for f in pinned.files}:
            return ref  # the log of the pinned version expired, but only metadata changed since: same data files
        raise ParentChanged(f"its pinned state can no longer be read: {exc}", table=ref.id, path=ref.path) from exc
    for f in at.files:
        if lake.filesystem.get_file_info(f.path).type == pafs.FileType.NotFound:
            raise ParentChanged(f"its pinned state can no longer be read: data file {f.path} is gone (vacuumed?)",
                                table=ref.id, path=ref.path)
    return at


def pinned_unreadable(lake: Lake, ref: TableRef, pinned: PinnedState) -> str | None:
    """Why the pinned state of a Delta or Iceberg table can no longer be read, or None when it can."""
    try:
        at_pinned(lake, ref, pinned)
    except ParentChanged as exc:
        return str(exc)
    return None


def read_parent(lake: Lake, ref: TableRef, pinned: PinnedState | None = None, columns: list[str] | None = None) -> pa.Table:
    """The parent's rows in the order recipes number them (Delta, Iceberg: at the pinned state)."""
    if pinned is not None:
        ref = at_pinned(lake, ref, pinned)
    return lake.read(ref, columns)


# ---------------------------------------------------------------- selectors


def _encode_bitmap(positions: np.ndarray, n_rows: int) -> tuple[str, str]:
    if _roaring is not None:
        bm = _roaring.BitMap(positions.astype(np.uint32).tolist())
        return "roaring", base64.b64encode(bm.serialize()).decode("ascii")
    mask = np.zeros(n_rows, dtype=bool)
    mask[positions] = True
    packed = np.packbits(mask, bitorder="little").tobytes()
    return "zstd-bits", base64.b64encode(zstandard.ZstdCompressor(level=19).compress(packed)).decode("ascii")


def decode_bitmap(encoding: str, data: str, n_rows: int) -> np.ndarray:
    """Sorted parent row positions from a bitmap payload."""
    raw = base64.b64decode(data)
    if encoding == "roaring":
        if _roaring is None:
            raise InputError("this recipe's bitmap is a Roaring bitmap; install pyroaring to read it (pip install pyroaring)")
        return np.array(list(_roaring.BitMap.deserialize(raw)), dtype=np.int64)
    if encoding == "zstd-bits":
        bits = np.unpackbits(np.frombuffer(zstandard.ZstdDecompressor().decompress(raw), dtype=np.uint8), bitorder="little")
        return np.flatnonzero(bits[:n_rows]).astype(np.int64)
    raise CorruptArchive(f"unknown bitmap encoding {encoding!r}")


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _arrow_values(values: list[Any], type_: pa.DataType) -> pa.Array:
    if pa.types.is_date32(type_):
        values = [datetime.date.fromisoformat(v) for v in values]
    elif pa.types.is_timestamp(type_):
        values = [datetime.datetime.fromisoformat(v) for v in values]
    return pa.array(values, type=type_)


def _predicate_type(type_: pa.DataType) -> bool:
    return (pa.types.is_integer(type_) or pa.types.is_string(type_) or pa.types.is_large_string(type_)
            or pa.types.is_date32(type_) or (pa.types.is_timestamp(type_) and type_.tz is None))


def selector_mask(selector: RowSelector, table: pa.Table) -> np.ndarray:
    """Boolean mask of the parent rows a predicate selector picks."""
    col = table.column(selector.column)
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if selector.kind == "range":
        lo, hi = _arrow_values([selector.low, selector.high], col.type)
        mask = pc.and_(pc.greater_equal(col, lo), pc.less_equal(col, hi))
    else:
        mask = pc.is_in(col, value_set=_arrow_values(list(selector.values), col.type))
    return np.asarray(mask.fill_null(False))


def _find_predicate(parent: pa.Table, mask: np.ndarray, prefer: tuple[str, ...]) -> RowSelector | None:
    """A one-column predicate selecting exactly ``mask``, or None.

    A range on the first column (``prefer`` first) where one works; else the shortest exact IN-list.
    """
    names = list(dict.fromkeys([*prefer, *parent.column_names]))
    selected = int(mask.sum())
    found_in: RowSelector | None = None
    for name in names:
        col = parent.column(name)
        if not _predicate_type(col.type):
            continue
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        chosen = col.filter(pa.array(mask))
        if chosen.null_count:
            continue
        bounds = pc.min_max(chosen)
        low, high = _json_value(bounds["min"].as_py()), _json_value(bounds["max"].as_py())
        candidate = RowSelector("range", name, low, high, selected=selected)
        if np.array_equal(selector_mask(candidate, parent), mask):
            return candidate
        distinct = pc.unique(chosen)
        if len(distinct) <= MAX_IN_VALUES and (found_in is None or len(distinct) < len(found_in.values)):
            values = tuple(sorted(_json_value(v) for v in distinct.to_pylist()))
            candidate = RowSelector("in", name, values=values, selected=selected)
            if np.array_equal(selector_mask(candidate, parent), mask):
                found_in = candidate
    return found_in


# ---------------------------------------------------------------- building


def _cast_to(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    try:
        return pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in schema], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
        raise TableError(f"cannot cast the {what} to the child's schema: {exc}") from exc


def match_rows(child_hashes: np.ndarray, parent_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Parent positions (sorted) and multiplicities that rebuild the child's multiset of row hashes.

    Returns ``(positions, multiplicities or None, full)``; ``full`` is True when the positions are every parent
    row whose hash occurs in the child (then a predicate may describe them).

    Raises:
        TableError: some child row does not occur in the parent.
    """
    hashes, counts = np.unique(child_hashes, return_counts=True)
    candidates = np.flatnonzero(np.isin(parent_hashes, hashes))
    ph = parent_hashes[candidates]
    p_hashes, p_counts = np.unique(ph, return_counts=True)
    if len(p_hashes) != len(hashes):
        missing = len(hashes) - len(p_hashes)
        raise TableError(f"{missing:,} distinct child row(s) do not occur in the parent; the child is not contained")
    order = np.argsort(ph, kind="stable")
    group_start = np.searchsorted(ph[order], ph[order], side="left")
    rank = np.empty(len(ph), dtype=np.int64)
    rank[order] = np.arange(len(ph)) - group_start
    want = counts[np.searchsorted(hashes, ph)]
    have = p_counts[np.searchsorted(p_hashes, ph)]
    keep = rank < want
    positions = candidates[keep]
    full = bool(keep.all())
    extra = (want - have)[keep]
    if (extra <= 0).all():
        return positions, None, full
    mult = np.where((rank[keep] == 0) & (extra > 0), extra + 1, 1).astype(np.uint32)
    return positions, mult, full


def _recipe_for(lake: Lake, child_ref: TableRef, parent_id: str, parent: pa.Table, parent_state: PinnedState) -> Recipe:
    """The recipe of one child from a parent already read (all the parent's needed columns, pinned order)."""
    child_id = child_ref.id
    child = lake.read(child_ref)
    schema = child.schema
    missing = [c for c in schema.names if c not in parent.column_names]
    if missing:
        raise TableError(f"{child_id!r} cannot be rebuilt from {parent_id!r}: the parent lacks column(s) {', '.join(missing)}",
                         table=child_id)
    try:
        parent_view = _cast_to(parent, schema, f"parent {parent_id!r}")
        child_h = row_hashes(child)
        positions, mult, full = match_rows(child_h, row_hashes(parent_view))
    except TableError as exc:
        raise TableError(f"{child_id!r} cannot be rebuilt from {parent_id!r}: {exc}", table=child_id) from exc
    mask = np.zeros(parent.num_rows, dtype=bool)
    mask[positions] = True
    selector: RowSelector | None = None
    if full and len(positions) == parent.num_rows:
        selector = RowSelector("all", selected=len(positions))
    elif full:
        selector = _find_predicate(parent, mask, tuple(schema.names))
    if selector is None:
        encoding, data = _encode_bitmap(positions, parent.num_rows)
        selector = RowSelector("bitmap", encoding=encoding, data=data, selected=len(positions))
    multiplicities = None
    if mult is not None:
        multiplicities = base64.b64encode(zstandard.ZstdCompressor(level=19).compress(mult.astype("<u4").tobytes())).decode("ascii")
    return Recipe(
        child=child_id,
        parent=parent_id,
        parent_state=parent_state,
        child_state=pin(lake, child_ref),
        columns=tuple(schema.names),
        child_schema=base64.b64encode(schema.remove_metadata().serialize().to_pybytes()).decode("ascii"),
        selector=selector,
        multiplicities=multiplicities,
        parent_rows=parent.num_rows,
        child_rows=child.num_rows,
        row_checksum=checksum_of_hashes(child_h),
    )


def build_recipes(root: str, parent_id: str, child_ids: list[str]) -> list[Recipe | TableError]:
    """Recipes of several children of one parent, reading and pinning the parent once.

    A child that cannot be rebuilt gets its :class:`TableError` in its place; a parent that cannot be read
    raises.
    """
    lake, parent_ref = open_table(root, parent_id)
    parent_schema = lake.schema(parent_ref)
    children: list[TableRef | TableError] = []
    for child_id in child_ids:
        try:
            children.append(open_table(root, child_id)[1])
        except TableError as exc:
            children.append(exc)
    names = {n for c in children if isinstance(c, TableRef) for n in lake.schema(c).names}
    # the children's columns, and the other columns a predicate could use
    wanted = [f.name for f in parent_schema if f.name in names or _predicate_type(f.type)]
    parent_state = pin(lake, parent_ref)
    parent = read_parent(lake, parent_ref, parent_state, wanted)
    out: list[Recipe | TableError] = []
    for child in children:
        if isinstance(child, TableError):
            out.append(child)
            continue
        try:
            out.append(_recipe_for(lake, child, parent_id, parent, parent_state))
        except TableError as exc:
            out.append(exc)
    return out


def build_recipe(root: str, child_id: str, parent_id: str) -> Recipe:
    """Read child and parent, match the child's rows in the parent, and describe them as compactly as exact.

    Raises:
        TableError: a table cannot be read, its columns are not in the parent, or a child row is not in it.
    """
    result = build_recipes(root, parent_id, [child_id])[0]
    if isinstance(result, TableError):
        raise result
    return result


# ---------------------------------------------------------------- rebuilding


def decode_multiplicities(recipe: Recipe) -> np.ndarray | None:
    """How often each selected parent row occurs in the child (int64), or None when each occurs once."""
    if recipe.multiplicities is None:
        return None
    raw = zstandard.ZstdDecompressor().decompress(base64.b64decode(recipe.multiplicities))
    return np.frombuffer(raw, dtype="<u4").astype(np.int64)


def apply_recipe(recipe: Recipe, parent: pa.Table) -> pa.Table:
    """The child's rows from the parent's rows (in parent order), cast to the child's exact schema."""
    if parent.num_rows != recipe.parent_rows:
        raise ParentChanged(f"the parent has {parent.num_rows:,} rows, the recipe expects {recipe.parent_rows:,}", table=recipe.parent)
    sel = recipe.selector
    if sel.kind == "all":
        positions = np.arange(parent.num_rows)
    elif sel.kind in ("range", "in"):
        positions = np.flatnonzero(selector_mask(sel, parent))
    elif sel.kind == "bitmap":
        positions = decode_bitmap(sel.encoding or "", sel.data or "", parent.num_rows)
    else:
        raise CorruptArchive(f"unknown row selector {sel.kind!r}")
    if len(positions) != sel.selected:
        raise VerificationFailed(f"the selector picks {len(positions):,} parent rows, the recipe expects {sel.selected:,}")
    mult = decode_multiplicities(recipe)
    if mult is not None:
        if len(mult) != len(positions):
            raise CorruptArchive("recipe multiplicities do not match its selected rows")
        positions = np.repeat(positions, mult)
    return _cast_to(parent.select(list(recipe.columns)).take(pa.array(positions, type=pa.int64())), recipe.schema(), "rebuilt rows")


def rebuild(recipe: Recipe, root: str, *, verify: bool = True) -> pa.Table:
    """Rebuild the child from the lake at ``root`` and check its row checksum (unless ``verify`` is false).

    Raises:
        ParentChanged: the parent is gone or no longer has its pinned state.
        VerificationFailed: the rebuilt rows' checksum differs from the recipe's.
    """
    lake, ref = open_table(root, recipe.parent)
    if not ref.is_format_table:  # a Delta or Iceberg parent is read at its pinned state: time travel
        change = state_change(lake, ref, recipe.parent_state)
        if change is not None:
            raise ParentChanged(f"the parent changed since the recipe was made: {change}", table=recipe.parent, path=ref.path)
    table = apply_recipe(recipe, read_parent(lake, ref, recipe.parent_state, list(recipe.columns) + _selector_columns(recipe)))
    if not verify:
        return table
    got = table_checksum(table)
    if got != recipe.row_checksum:
        raise VerificationFailed(f"rebuilt {recipe.child!r} has row checksum {got}, the recipe says {recipe.row_checksum}")
    return table


def _selector_columns(recipe: Recipe) -> list[str]:
    col = recipe.selector.column
    return [col] if col is not None and col not in recipe.columns else []


def write_rebuild(recipe: Recipe, root: str, output: str | Path) -> str:
    """Rebuild the child as one Parquet file at ``output`` (atomically), verified by reading it back.

    Returns the row checksum. Nothing is left at ``output`` if any check fails. The checksum is computed once,
    on the file as written (which covers the rebuild in memory too).
    """
    table = rebuild(recipe, root, verify=False)
    with atomic_file(output) as tmp:
        pq.write_table(table, tmp)
        back = table_checksum(pq.read_table(tmp))
        if back != recipe.row_checksum:
            raise VerificationFailed(f"{output}: the rebuilt {recipe.child!r} has row checksum {back}, the recipe says {recipe.row_checksum}")
    return back


class LocalRebuilder:
    """The local engine's :class:`~lakeshrink.containment.planner.ports.Rebuilder`: :func:`write_rebuild`."""

    def __init__(self, engine: Any = None):
        self.engine = engine

    def write_rebuild(self, recipe: Recipe, root: str, output: str | Path) -> str:
        return write_rebuild(recipe, root, output)


# ---------------------------------------------------------------- files


def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    from lakeshrink.serde import to_jsonable

    return to_jsonable(recipe)


def recipe_from_dict(raw: dict[str, Any], *, path: str | Path | None = None) -> Recipe:
    try:
        def state(d: dict[str, Any]) -> PinnedState:
            return PinnedState(d["table"], d["format"], tuple(PinnedFile(**f) for f in d["files"]), d.get("delta_version"),
                               d.get("snapshot_id"))

        s = dict(raw["selector"])
        s["values"] = tuple(s.get("values") or ())
        return Recipe(
            child=raw["child"], parent=raw["parent"], parent_state=state(raw["parent_state"]),
            child_state=state(raw["child_state"]), columns=tuple(raw["columns"]), child_schema=raw["child_schema"],
            selector=RowSelector(**s), multiplicities=raw.get("multiplicities"), parent_rows=int(raw["parent_rows"]),
            child_rows=int(raw["child_rows"]), row_checksum=raw["row_checksum"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptArchive(f"malformed recipe: {exc!r}", path=path) from exc


def write_recipe(recipe: Recipe, path: str | Path) -> dict[str, Any]:
    """Write ``recipe`` as a sealed JSON document; returns the document (its ``sha256`` seals it)."""
    return write_sealed(path, RECIPE_FORMAT, RECIPE_VERSION, recipe_to_dict(recipe))


def read_recipe(path: str | Path) -> Recipe:
    """Read a recipe, refusing one that was edited or truncated."""
    return recipe_from_dict(read_sealed(path, RECIPE_FORMAT), path=path)
