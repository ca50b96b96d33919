"""Cost-model decisions remembered per schema and size class, within one process.

On a table of a few thousand rows the advisor's statistics (:mod:`~lakeshrink.codecs.encodings.stats`) are most
of what advising costs, and a rewrite of such a table takes only tens of milliseconds. A process that advises
many small tables of one schema (the files of a partitioned table, one table per day, a Python or Spark job
writing many small outputs) computes them once: the next table with the same key reuses the per-column choices.

The key is everything the cost model's choices depend on besides the data: the Parquet leaves (path, physical,
logical and Arrow type of each), the advisor settings (reader profile, objective, sample and thresholds: the
whole :class:`~lakeshrink.codecs.encodings.advisor.AdvisorConfig`), whether the table is whole or a part of a
larger one, and the size class (the row count's power of two: the model's repeat thresholds scale with rows).
Any change of these is a miss. What depends on the table itself is worked out again on every hit: its row count,
its sample, whether statistics are written, the declared sort order (verified on the table's rows, never reused)
and the reasons (from the table's own statistics, computed only if a reason is read): a reused decision gives the
plan, JSON and checksum a fresh advice of the table gives when the model makes the same choices for it.

Only cost-model plans are remembered: trial encodes run on tables of hundreds of thousands of rows and more,
where they cost a few % of the rewrite. Nor are plans for which DuckDB's writer was tried on the sample (tables
of 16 times their sample and more): their notes give the sizes measured on that table's sample. The memory is bounded (:data:`MAX_ENTRIES`, oldest dropped first) and
never written to disk; :func:`forget` empties it, ``AdvisorConfig(reuse_decisions=False)`` bypasses it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.schema import LeafColumn

MAX_ENTRIES = 256


@dataclass(frozen=True)
class Decision:
    """What the cost model chose for one table, to be reused on the next of the same key.

    Attributes:
        columns: per leaf, in order, the setting chosen and the readers of the profile that turned away what
            ``latest`` would have taken (a plan made from the decision makes its own reasons, see
            :func:`~lakeshrink.codecs.encodings.model_plan.plan_from_decision`).
        writer: the plan's writer (``pyarrow`` or ``duckdb-v2``).
        rows: rows of the table first advised.
        sorted_path: the column found sorted over that table (checked again on every table it is reused for).
    """

    columns: tuple[tuple[Candidate, tuple[str, ...]], ...]
    writer: str
    rows: int
    sorted_path: str | None = None

    @classmethod
    def of(cls, columns: tuple[tuple[Candidate, tuple[str, ...]], ...], writer: str, rows: int,
           sorted_path: str | None) -> Decision:
        """``Decision(...)``, its fields put in place directly (the frozen dataclass's ``__init__`` sets each
        through ``object.__setattr__``: a cost paid per cold advice; one by one: a keyword call of ``dict.update``
        builds a dictionary to copy)."""
        decision = object.__new__(cls)
        state = decision.__dict__
        state["columns"] = columns
        state["writer"] = writer
        state["rows"] = rows
        state["sorted_path"] = sorted_path
        return decision


_DECISIONS: OrderedDict[Hashable, Decision] = OrderedDict()
_LOCK = threading.Lock()


class _Key(int):
    """A decision's key: the hash of its parts (every leaf, every setting, the size class, whether whole),
    computed once, held as the ``int`` itself, so that a dictionary hashes it without a Python call (a cold
    advice hashes its key three times: :func:`recall`, then :func:`remember`'s store and move; as a method that
    was three Python calls). Keys are equal when their parts are: a dictionary compares two keys only when their
    hashes match and they are not one object (a remembered decision found again by an equal key)."""

    parts: tuple

    def __eq__(self, other: object) -> bool:  # (the hash is made from the parts: equal parts, equal hashes)
        return isinstance(other, _Key) and self.parts == other.parts

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = int.__hash__


def decision_key(leaves: tuple[LeafColumn, ...], config: Hashable, rows: int, whole: bool) -> Hashable | None:
    """The key of a table's decision (see the module docstring): size class is ``rows.bit_length()``; ``None``
    when the settings cannot be a key (a list given where a tuple is expected): nothing is then remembered."""
    global _LAST_KEY
    size_class = rows.bit_length()
    last = _LAST_KEY  # (read once: another thread may replace it, whole)
    if last is not None and last[0] is leaves and last[1] is config and last[2] == size_class and last[3] is whole:
        return last[4]  # the same objects and size class: the same key (keys are immutable)
    try:
        key = _Key(hash((_schema_hash(leaves, config), size_class, whole)))
    except TypeError:
        return None
    key.parts = (leaves, config, size_class, whole)
    _LAST_KEY = (leaves, config, size_class, whole, key)
    return key


_LAST_KEY: tuple | None = None
"""The last key made and what it was made of (the leaves of a schema and the settings are the same objects from one
advice of a table to the next: the key is then that one, without hashing or making one)."""


_HASHES: dict[tuple[int, int], tuple[object, object, int]] = {}


def _schema_hash(leaves: tuple[LeafColumn, ...], config: Hashable) -> int:
    """``hash((leaves, config))``, remembered for the last few pairs of objects (the leaves of a schema and the
    default settings are the same objects from one advice to the next; hashing every leaf and setting again
    cost more than the look-up). The pair is held, so its ids cannot be reused by other objects meanwhile."""
    ids = (id(leaves), id(config))
    found = _HASHES.get(ids)
    if found is not None and found[0] is leaves and found[1] is config:
        return found[2]
    value = hash((leaves, config))
    with _LOCK:
        if len(_HASHES) >= 64:
            _HASHES.clear()
        _HASHES[ids] = (leaves, config, value)
    return value


def recall(key: Hashable) -> Decision | None:
    """The decision remembered under ``key``, or ``None``."""
    with _LOCK:
        found = _DECISIONS.get(key)
        if found is not None:
            _DECISIONS.move_to_end(key)
        return found


def remember(key: Hashable, decision: Decision) -> None:
    """Keep ``decision`` under ``key`` (dropping the least recently used beyond :data:`MAX_ENTRIES`)."""
    with _LOCK:
        _DECISIONS[key] = decision
        _DECISIONS.move_to_end(key)
        while len(_DECISIONS) > MAX_ENTRIES:
            _DECISIONS.popitem(last=False)


def forget() -> None:
    """Drop every remembered decision."""
    with _LOCK:
        _DECISIONS.clear()
