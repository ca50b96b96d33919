"""``EncodingPlan``: the per-column Parquet writer settings for one table, and how pyarrow is told about them.

A plan is frozen and versioned. It turns into keyword arguments for ``pq.write_table`` / ``pq.ParquetWriter``
(:meth:`EncodingPlan.writer_kwargs`) that pyarrow always accepts: every leaf is listed (pyarrow silently ignores
unknown names and applies its defaults to missing ones), ``column_encoding`` only names leaves whose dictionary is
off (pyarrow raises otherwise), compression levels are only given to ZSTD, and :meth:`EncodingPlan.check` refuses a
plan whose columns or settings do not fit the table's schema before anything is written.

File format (JSON, UTF-8), written by :meth:`EncodingPlan.save`::

    {
      "format": "lakeshrink.encoding-plan",   # magic
      "version": 3,                            # PLAN_VERSION; readers refuse newer versions
      "objective": "balanced", "rows": 336776, "sample_rows": 8192,
      "row_group_size": 1048576, "data_page_size": 1048576, "data_page_version": "1.0",
      "sorting_columns": [{"path": "id", "descending": false, "nulls_first": false}],
      "int96_timestamps": false,
      "readers": "portable",                   # reader profile advised for (version 1 plans: "latest")
      "store_schema": true,                    # keep pyarrow's ARROW:schema in the footer
      "writer": "pyarrow",                     # or "duckdb-v2" (DuckDB writes it; pyarrow is the fallback)
      "max_rows_per_page": 1048576,            # page row cap (pages are cut at data_page_size bytes anyway)
      "columns": [{"path": "id", "physical_type": "INT64", "dictionary": false,
                   "encoding": "DELTA_BINARY_PACKED", "compression": "ZSTD", "level": 19,
                   "estimated_bytes": 1047, "default_bytes": 1074221, "zstd_bytes": 2110,
                   "decode_seconds": 1.2e-05, "reason": "...",
                   "latest_bytes": 1047, "constrained_by": []}, ...],
      "notes": ["..."], "overhead_bytes": 1310,             # footer, schema and magic beyond the columns
      "estimated_bytes": 4692938, "default_bytes": 5653356,  # totals, informative (recomputed on load)
      "sha256": "<hex of the canonical JSON of every other key>"
    }

A plan is a sealed document (:mod:`lakeshrink.sealed`, the one format of every signed file): the seal catches a
plan damaged in storage or edited by hand; :func:`load_plan` refuses a bad magic, an unknown or newer version, a
missing or wrong checksum, and fields of the wrong type or range with
:class:`~lakeshrink.sealed.SealBroken` (a :class:`~lakeshrink.errors.CorruptArchive`). Version 1 plans (sealed
under ``"checksum": "sha256:<hex>"``) are still read. What a plan claims about data is checked against the data
when it is used: :meth:`EncodingPlan.check_data` refuses to declare a sort order the rows do not have.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.lazy import LazyField, resolved_state
from lakeshrink.codecs.encodings.schema import LeafColumn, leaf_columns, needs_arrow_schema
from lakeshrink.errors import InputError, SchemaMismatch
from lakeshrink.sealed import SealBroken, parse_sealed, seal, unseal, write_sealed

PLAN_MAGIC = "lakeshrink.encoding-plan"
#: 2: reader profile ("readers"), per-column latest_bytes and constrained_by; 3: sealed by lakeshrink.sealed
PLAN_VERSION = 3
_LEGACY = {1: ("checksum", "sha256:"), 2: ("checksum", "sha256:")}  # versions 1 and 2 were sealed under this key
_READABLE = (1, 2, PLAN_VERSION)
OBJECTIVES: tuple[str, ...] = ("size", "speed", "balanced")


@dataclass(frozen=True)
class ColumnChoice:
    """The setting chosen for one leaf column, with the estimates and the reason behind it.

    ``latest_bytes`` is the estimate of the pick with no reader constraint (``latest``), and ``constrained_by``
    names the readers of the plan's profile that cannot read that pick (empty when the profile cost nothing).
    ``reason`` may be given as a zero-argument callable that makes the text when first read.
    """

    path: str
    physical_type: str
    dictionary: bool
    encoding: str | None
    compression: str
    level: int | None = None
    estimated_bytes: int | None = None
    default_bytes: int | None = None
    zstd_bytes: int | None = None
    decode_seconds: float | None = None
    reason: str = LazyField("", str)  # type: ignore[assignment]
    latest_bytes: int | None = None
    constrained_by: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return resolved_state(self, "reason")  # the text, not the callable that makes it

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in order (the plan's JSON of this column)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @functools.cached_property
    def candidate(self) -> Candidate:
        """The setting as a :class:`Candidate` (made, and so checked, once)."""
        return Candidate(self.dictionary, self.encoding, self.compression, self.level)

    @classmethod
    def of(cls, leaf: LeafColumn, candidate: Candidate, **info: Any) -> ColumnChoice:
        """The choice of ``candidate`` (already checked: the plan's check need not make it again) for ``leaf``,
        with the optional fields in ``info``. Its fields are put in place directly: the frozen dataclass's
        ``__init__`` sets each of 13 through ``object.__setattr__``, a cost paid per column of every advice."""
        unknown = info.keys() - _CHOICE_DEFAULTS.keys()
        if unknown:
            raise TypeError(f"ColumnChoice has no field {', '.join(sorted(unknown))}")
        choice = object.__new__(cls)
        fields_ = choice.__dict__
        fields_.update(_CHOICE_DEFAULTS)
        fields_.update(info)
        fields_["_reason_value"] = fields_.pop("reason")
        fields_.update(path=leaf.path, physical_type=leaf.physical_type, dictionary=candidate.dictionary,
                       encoding=candidate.encoding, compression=candidate.compression, level=candidate.level,
                       candidate=candidate)
        return choice

    @classmethod
    def modelled(
        cls, leaf: LeafColumn, candidate: Candidate, reason: Any, constrained_by: tuple[str, ...]
    ) -> ColumnChoice:
        """:meth:`of` with only a reason and ``constrained_by`` (what the cost model gives a column; no size
        estimates), without looking for unknown fields."""
        choice = object.__new__(cls)
        fields_ = choice.__dict__
        fields_.update(_MODEL_CHOICE_DEFAULTS)
        # (stored one by one, in :meth:`of`'s order: no keyword dictionary built to be copied, per column)
        fields_["path"] = leaf.path
        fields_["physical_type"] = leaf.physical_type
        fields_["dictionary"] = candidate.dictionary
        fields_["encoding"] = candidate.encoding
        fields_["compression"] = candidate.compression
        fields_["level"] = candidate.level
        fields_["candidate"] = candidate
        fields_["_reason_value"] = reason
        fields_["constrained_by"] = constrained_by
        return choice


_CHOICE_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ColumnChoice) if f.name not in (
    "path", "physical_type", "dictionary", "encoding", "compression", "level")}  # (reason: LazyField's default)
_MODEL_CHOICE_DEFAULTS = {k: v for k, v in _CHOICE_DEFAULTS.items() if k not in ("reason", "constrained_by")}


@dataclass(frozen=True)
class SortKey:
    """A declared sort order (``sorting_columns`` in the row-group metadata)."""

    path: str
    descending: bool = False
    nulls_first: bool = False


def settings_kwargs(settings: Mapping[str, Candidate]) -> dict[str, Any]:
    """pyarrow writer keyword arguments that apply ``settings`` (leaf path -> candidate) and nothing else.

    Every leaf of the table must be in ``settings``: leaves left out get pyarrow's defaults for compression and
    no dictionary.
    """
    use_dictionary = [path for path, c in settings.items() if c.dictionary]
    column_encoding = {path: c.encoding for path, c in settings.items() if not c.dictionary}
    compression = {path: c.compression for path, c in settings.items()}
    levels = {path: c.level for path, c in settings.items() if c.level is not None}
    return {
        "use_dictionary": use_dictionary,
        "column_encoding": column_encoding or None,
        "compression": compression,
        "compression_level": levels or None,
    }


@dataclass(frozen=True)
class EncodingPlan:
    """Per-column Parquet writer settings for one table (frozen, versioned, JSON round trip).

    Attributes:
        columns: one choice per Parquet leaf, in file order.
        objective: ``size``, ``speed`` or ``balanced`` (what the advisor optimised).
        rows: rows of the table advised on; ``sample_rows``: rows trial-encoded.
        row_group_size: rows per row group (``None``: pyarrow's default).
        data_page_size: target bytes per data page (``None``: pyarrow's default, 1 MiB).
        data_page_version: ``"1.0"`` (most compatible) or ``"2.0"``.
        sorting_columns: sort order declared in the row-group metadata (kept from the input, or verified).
        int96_timestamps: write timestamps as legacy INT96, as the input did (Spark's default); such columns
            only take dictionary or PLAIN.
        notes: remarks for people (row-group advice, sort order found...).
        overhead_bytes: estimated bytes of the file beyond its column chunks (footer, schema, magic), counted in
            :attr:`estimated_bytes`.
        readers: the reader profile the plan was advised for (``portable``, ``spark-3.5,duckdb-1.1``...;
            ``latest``: no constraint, also what a version 1 plan is taken for).
        store_schema: store pyarrow's serialized Arrow schema in the footer (``False`` only when the schema
            reads back equal without it, see :func:`~lakeshrink.codecs.encodings.schema.needs_arrow_schema`).
        max_rows_per_page: rows per data page at most (``None``: pyarrow's default, 20,000). Pages are cut at
            ``data_page_size`` bytes anyway; the row cap only multiplies page headers (with their statistics)
            on columns that encode to almost nothing: a constant column of 1.5 M rows takes 6 KB in 75 pages
            and 200 B in 2.
        writer: ``pyarrow`` (the per-column settings) or ``duckdb-v2`` (DuckDB's writer, V2 pages and ZSTD-19,
            chosen when it wrote the sample smaller; see :mod:`~lakeshrink.codecs.encodings.duckdb_writer`;
            falls back to pyarrow with the per-column settings whenever its file would not do).
        statistics: write min/max/null-count statistics (``False`` only for tables so small that a reader's
            first read of the footer fetches the whole file, where statistics cannot save a read; table
            formats always keep them).

    ``notes`` may be given as a zero-argument callable that makes them when first read (the cost model's plans:
    a rewrite reads none); equality, hashing, JSON, ``replace`` and pickling read the field, so they see the text.
    """

    columns: tuple[ColumnChoice, ...]
    objective: str = "balanced"
    rows: int = 0
    sample_rows: int = 0
    row_group_size: int | None = None
    data_page_size: int | None = None
    data_page_version: str = "1.0"
    sorting_columns: tuple[SortKey, ...] = ()
    int96_timestamps: bool = False
    notes: tuple[str, ...] = LazyField((), tuple)  # type: ignore[assignment]
    overhead_bytes: int = 0
    readers: str = "latest"
    store_schema: bool = True
    writer: str = "pyarrow"
    max_rows_per_page: int | None = None
    statistics: bool = True

    def __getstate__(self) -> dict[str, Any]:
        return resolved_state(self, "notes")  # the text, not the callable that makes it

    def __post_init__(self) -> None:
        _check_kinds(self.__dict__)
        self._check_columns()
        _check_sizes(self.__dict__)

    def _check_columns(self) -> None:
        """The part of the plan's check that reads its columns and sort order (:meth:`__post_init__`)."""
        paths = set()
        for c in self.columns:  # (one pass: a plan is checked whenever it is made, per advice)
            if c.path in paths:
                raise InputError("a plan names a column twice")
            paths.add(c.path)
            c.candidate  # validates the combination  # noqa: B018
            if c.level is not None and (not isinstance(c.level, int) or not -7 <= c.level <= 22):
                raise InputError(f"column {c.path!r}: compression level must be in -7..22, got {c.level!r}")
        for key in self.sorting_columns:
            if key.path not in paths:
                raise InputError(f"sorting column {key.path!r} is not a column of the plan")

    @classmethod
    def made(cls, **fields_: Any) -> EncodingPlan:
        """``EncodingPlan(**fields_)``, checked by the same :meth:`__post_init__`, with the fields put in place
        directly: the frozen dataclass's ``__init__`` sets each of 16 through ``object.__setattr__``, a cost
        paid by every advice."""
        if not fields_.keys() <= _PLAN_FIELDS or "columns" not in fields_:  # (a comparison: no set made)
            unknown = fields_.keys() - _PLAN_FIELDS
            raise TypeError(f"EncodingPlan has no field {', '.join(sorted(unknown))}" if unknown
                            else "EncodingPlan needs its columns")
        plan = object.__new__(cls)
        state = plan.__dict__
        state.update(_PLAN_DEFAULTS)
        state.update(fields_)
        state["_notes_value"] = state.pop("notes")  # (the lazy field's slot)
        plan.__post_init__()
        return plan

    @classmethod
    def of_settings(
        cls, settings: PlanSettings, columns: tuple[ColumnChoice, ...], rows: int, sample_rows: int,
        sorting_columns: tuple[SortKey, ...], int96_timestamps: bool, notes: Any, statistics: bool,
    ) -> EncodingPlan:
        """:meth:`made` of the fields every plan of one advisor setting shares (``settings``, made and checked
        once per setting: :func:`plan_settings`) and of this plan's own, put in place one by one; only what
        depends on this plan (its columns and sort order) is checked here. The same plan as :meth:`made`'s."""
        plan = object.__new__(cls)
        state = plan.__dict__
        state.update(settings.state)
        state["columns"] = columns
        state["rows"] = rows
        state["sample_rows"] = sample_rows
        state["sorting_columns"] = sorting_columns
        state["int96_timestamps"] = int96_timestamps
        state["_notes_value"] = notes
        state["statistics"] = statistics
        plan._check_columns()
        return plan

    def sorted_as_declared(self, table: pa.Table) -> bool:
        """Whether ``table``'s rows are in the order the plan declares (true when it declares none)."""
        if not self.sorting_columns or table.num_rows < 2:
            return True
        if any(k.path not in table.column_names for k in self.sorting_columns):
            return True  # nested leaves are not declared by the advisor; nothing to check against
        import pyarrow.compute as pc

        keys = [(k.path, "descending" if k.descending else "ascending", "at_start" if k.nulls_first else "at_end")
                for k in self.sorting_columns]
        order = pc.sort_indices(table.select([k[0] for k in keys]), sort_keys=keys)
        return order.equals(pa.array(range(table.num_rows), type=order.type))

    def check_data(self, table: pa.Table, *, where: str | Path | None = None) -> None:
        """Refuse to write ``table`` with this plan when the plan declares a sort order its rows do not have
        (the plan may have been made for other data with the same schema).

        Raises:
            SchemaMismatch: naming the first sort column, and the file.
        """
        if not self.sorted_as_declared(table):
            names = ", ".join(f"{k.path}{' desc' if k.descending else ''}" for k in self.sorting_columns)
            raise SchemaMismatch(f"the encoding plan declares the rows sorted by {names}, but these rows are not; "
                                 "advise again on this data", column=self.sorting_columns[0].path, path=where)

    # -- estimates ---------------------------------------------------------------------------------------
    def _total(self, attr: str) -> int | None:
        values = [getattr(c, attr) for c in self.columns]
        return None if any(v is None for v in values) else int(sum(values))

    @property
    def estimated_bytes(self) -> int | None:
        """Estimated file size: the columns' estimates plus the footer overhead."""
        columns = self._total("estimated_bytes")
        return None if columns is None else columns + self.overhead_bytes

    @property
    def default_bytes(self) -> int | None:
        return self._total("default_bytes")

    @property
    def latest_bytes(self) -> int | None:
        """Estimated size with no reader constraint (``None`` when not advised with a profile)."""
        columns = self._total("latest_bytes")
        return None if columns is None else columns + self.overhead_bytes

    @property
    def zstd_bytes(self) -> int | None:
        return self._total("zstd_bytes")

    # -- writer arguments --------------------------------------------------------------------------------
    def check(self, schema: pa.Schema, *, where: str | Path | None = None) -> tuple[LeafColumn, ...]:
        """Raise :class:`SchemaMismatch` unless the plan fits ``schema`` leaf for leaf; return the leaves."""
        leaves = leaf_columns(schema, int96=self.int96_timestamps)
        have = {leaf.path: leaf for leaf in leaves}
        mine = {c.path: c for c in self.columns}
        missing = [p for p in have if p not in mine]
        extra = [p for p in mine if p not in have]
        if missing or extra:
            detail = []
            if missing:
                detail.append(f"not in the plan: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
            if extra:
                detail.append(f"not in the data: {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}")
            raise SchemaMismatch(f"the encoding plan does not fit the table ({'; '.join(detail)})",
                                 column=(missing or extra)[0], path=where)
        for leaf in leaves:
            choice = mine[leaf.path]
            if choice.physical_type != leaf.physical_type:
                raise SchemaMismatch(f"column {leaf.path!r} is {leaf.physical_type} in the data but "
                                     f"{choice.physical_type} in the plan", column=leaf.path, path=where)
            if not choice.candidate.legal_for(leaf):
                raise SchemaMismatch(f"column {leaf.path!r} ({leaf.physical_type}{', dictionary-typed' if leaf.dictionary else ''}) "
                                     f"cannot use {choice.candidate.key}", column=leaf.path, path=where)
        return leaves

    def writer_kwargs(self, schema: pa.Schema | None = None) -> dict[str, Any]:
        """Keyword arguments for ``pq.write_table`` / ``pq.ParquetWriter`` (checked against ``schema`` if given).

        The footer's copy of the Arrow schema is left out (``store_schema``) only when ``schema`` is given and
        reads back equal without it.
        """
        if schema is not None:
            self.check(schema)
        kwargs = settings_kwargs({c.path: c.candidate for c in self.columns})
        kwargs["data_page_version"] = self.data_page_version
        if not self.store_schema and schema is not None and not needs_arrow_schema(schema, int96=self.int96_timestamps):
            kwargs["store_schema"] = False  # only with the schema at hand: this file's may need it where the plan's did not
        if self.int96_timestamps:
            kwargs["use_deprecated_int96_timestamps"] = True
        if self.row_group_size is not None:
            kwargs["row_group_size"] = self.row_group_size
        if self.data_page_size is not None:
            kwargs["data_page_size"] = self.data_page_size
        if self.max_rows_per_page is not None:
            kwargs["max_rows_per_page"] = self.max_rows_per_page
        if not self.statistics:
            kwargs["write_statistics"] = False
        if self.sorting_columns:
            index = {c.path: i for i, c in enumerate(self.columns)}
            kwargs["sorting_columns"] = [pq.SortingColumn(index[k.path], k.descending, k.nulls_first)
                                         for k in self.sorting_columns]
        return kwargs

    # -- JSON ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as its sealed JSON document (``format``, ``version``, fields, ``sha256``)."""
        body = {
            "objective": self.objective,
            "rows": self.rows,
            "sample_rows": self.sample_rows,
            "row_group_size": self.row_group_size,
            "data_page_size": self.data_page_size,
            "data_page_version": self.data_page_version,
            "sorting_columns": [dict(vars(k)) for k in self.sorting_columns],
            "int96_timestamps": self.int96_timestamps,
            "readers": self.readers,
            "store_schema": self.store_schema,
            "writer": self.writer,
            "max_rows_per_page": self.max_rows_per_page,
            "statistics": self.statistics,
            "columns": [{**c.as_dict(), "constrained_by": list(c.constrained_by)} for c in self.columns],
            "notes": list(self.notes),
            "overhead_bytes": self.overhead_bytes,
            "estimated_bytes": self.estimated_bytes,
            "default_bytes": self.default_bytes,
        }
        return seal(PLAN_MAGIC, PLAN_VERSION, body)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | Path | None = None) -> EncodingPlan:
        """The plan in a sealed document (see the module docstring); anything else is refused.

        Raises:
            SealBroken: wrong magic, unknown or newer version, missing or wrong checksum, malformed fields.
        """
        data = unseal(dict(data) if isinstance(data, Mapping) else data, PLAN_MAGIC, _READABLE, path=path,
                      legacy=_LEGACY)
        try:
            columns = tuple(ColumnChoice(**{**_typed(c, _COLUMN_TYPES),
                                            "constrained_by": tuple(map(_typed_str, _list(c.get("constrained_by", []))))})
                            for c in _list(data["columns"]))
            sorting = tuple(SortKey(**_typed(k, _SORT_TYPES)) for k in _list(data.get("sorting_columns", [])))
            return cls(
                columns=columns,
                objective=_typed_str(data.get("objective", "balanced")),
                rows=_int(data.get("rows", 0)),
                sample_rows=_int(data.get("sample_rows", 0)),
                row_group_size=data.get("row_group_size"),
                data_page_size=data.get("data_page_size"),
                data_page_version=_typed_str(data.get("data_page_version", "1.0")),
                sorting_columns=sorting,
                int96_timestamps=_bool(data.get("int96_timestamps", False)),
                notes=tuple(_typed_str(n) for n in _list(data.get("notes", []))),
                overhead_bytes=_int(data.get("overhead_bytes", 0)),
                readers=_typed_str(data.get("readers", "latest")),
                store_schema=_bool(data.get("store_schema", True)),
                writer=_typed_str(data.get("writer", "pyarrow")),
                max_rows_per_page=_of(data.get("max_rows_per_page"), int) if data.get("max_rows_per_page") is not None else None,
                statistics=_bool(data.get("statistics", True)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SealBroken(f"encoding plan is malformed: {exc}", path=path) from exc
        except InputError as exc:
            raise SealBroken(f"encoding plan is invalid: {exc}", path=path) from exc

    @classmethod
    def from_json(cls, text: str | bytes, *, path: str | Path | None = None) -> EncodingPlan:
        data = parse_sealed(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"), PLAN_MAGIC,
                            _READABLE, path=path, legacy=_LEGACY)
        return cls.from_dict(data, path=path)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plan as a sealed JSON document, atomically."""
        doc = self.to_dict()
        write_sealed(path, PLAN_MAGIC, PLAN_VERSION, {k: v for k, v in doc.items() if k not in ("format", "version", "sha256")})


_PLAN_DEFAULTS: dict[str, Any] = {f.name: f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
                                  for f in fields(EncodingPlan) if f.name != "columns"}
"""Every field of :class:`EncodingPlan` but its columns, with its default (for :meth:`EncodingPlan.made`)."""
_PLAN_FIELDS = frozenset(_PLAN_DEFAULTS) | {"columns"}


def _check_kinds(state: Mapping[str, Any]) -> None:
    """The first part of a plan's check (:meth:`EncodingPlan.__post_init__`, :func:`plan_settings`), of its fields
    by name: its objective, writer and page version; :func:`_check_sizes` is the last."""
    objective, writer, version = state["objective"], state["writer"], state["data_page_version"]
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if writer not in ("pyarrow", "duckdb-v2"):
        raise InputError(f"writer must be 'pyarrow' or 'duckdb-v2', got {writer!r}")
    if version not in ("1.0", "2.0"):
        raise InputError(f"data_page_version must be '1.0' or '2.0', got {version!r}")


def _check_sizes(state: Mapping[str, Any]) -> None:
    """The last part of a plan's check, after its columns': its row-group and page sizes."""
    for name in ("row_group_size", "data_page_size"):
        value = state[name]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 40):
            raise InputError(f"{name} must be a positive integer or null, got {value!r}")


@dataclass(frozen=True)
class PlanSettings:
    """The fields of a plan that one advisor setting gives every plan it makes (:meth:`EncodingPlan.of_settings`),
    with the other fields' defaults: ``state`` is the plan's fields by name but its columns and notes, checked
    (a dictionary, copied into each plan as it is: never changed once made)."""

    state: dict[str, Any]


@functools.lru_cache(maxsize=64)
def plan_settings(objective: str, readers: str, store_schema: bool, writer: str, data_page_size: int | None,
                  max_rows_per_page: int | None) -> PlanSettings:
    """The :class:`PlanSettings` of these fields (the others at their defaults), checked as a plan's are (made
    once per setting: the objects are immutable)."""
    state = {k: v for k, v in _PLAN_DEFAULTS.items() if k != "notes"}  # (the fields' order, as :meth:`made` has it)
    state.update(objective=objective, readers=readers, store_schema=store_schema, writer=writer,
                 data_page_size=data_page_size, max_rows_per_page=max_rows_per_page)
    _check_kinds(state)
    _check_sizes(state)
    return PlanSettings(state)


_COLUMN_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "physical_type": (str,), "dictionary": (bool,), "encoding": (str, type(None)),
    "compression": (str,), "level": (int, type(None)), "estimated_bytes": (int, type(None)),
    "default_bytes": (int, type(None)), "zstd_bytes": (int, type(None)), "decode_seconds": (float, int, type(None)),
    "reason": (str,), "latest_bytes": (int, type(None)), "constrained_by": (list,),
}
_SORT_TYPES: dict[str, tuple[type, ...]] = {"path": (str,), "descending": (bool,), "nulls_first": (bool,)}


def _typed(value: Any, types: Mapping[str, tuple[type, ...]]) -> dict[str, Any]:
    """``value`` if it is an object whose fields have the types this module writes (bool is not an int here)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    for key, v in value.items():
        allowed = types.get(key)
        if allowed is None:
            raise TypeError(f"unknown field {key!r}")
        if not isinstance(v, allowed) or (isinstance(v, bool) and bool not in allowed):
            raise TypeError(f"field {key!r} has type {type(v).__name__}")
    return value


def _of(value: Any, kind: type) -> Any:
    """``value`` if it is of ``kind`` (a bool is not an int here), else ``TypeError``."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _list(value: Any) -> list:
    return _of(value, list)


def _int(value: Any) -> int:
    return _of(value, int)


def _typed_str(value: Any) -> str:
    return _of(value, str)


def load_plan(path: str | os.PathLike[str]) -> EncodingPlan:
    """Read a plan written by :meth:`EncodingPlan.save` (magic, version, checksum and field types are checked).

    Raises:
        InputError: the file cannot be read.
        SealBroken: anything but an intact plan of a known version.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the encoding plan: {exc.strerror or exc}", path=path) from exc
    return EncodingPlan.from_json(data, path=path)



def _bool(value: Any) -> bool:
    return _of(value, bool)
