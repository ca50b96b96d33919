"""The scan's per-runtime operations (ports, see :mod:`lakeshrink.engine`).

* :data:`CONTAINMENT_VERIFIER`: stage 4 of the scan, the exact verification of candidate pairs (polars anti-joins
  in process; joins on Spark);
* :data:`CATALOG_READER`: the tables of a catalog database as a lake (Spark only: a catalog is Spark's).

The planner's port (rebuilding a marked table) is :data:`lakeshrink.containment.planner.ports.REBUILDER`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from lakeshrink.engine import Port

if TYPE_CHECKING:
    from lakeshrink.containment.lake import Lake
    from lakeshrink.containment.scan.verify import VerifyOutcome, VerifyPlan


class ContainmentVerifier(Protocol):
    def verify(self, plan: VerifyPlan, *, spill_dir: str | None = None) -> VerifyOutcome:
        """Every planned pair's verdict and the bytes read and moved (``spill_dir``: where an engine that
        spills to local disk may do so)."""
        ...


class CatalogReader(Protocol):
    def catalog_lake(self, database: str) -> tuple[Lake, str]:
        """The stored tables of ``database`` as a :class:`Lake` (ids ``db.table``) and the root tasks resolve."""
        ...


CONTAINMENT_VERIFIER: Port[ContainmentVerifier] = Port("containment.verify", ContainmentVerifier,
                                                       "verify containment candidates")
CATALOG_READER: Port[CatalogReader] = Port("containment.catalog", CatalogReader, "read a catalog database")
