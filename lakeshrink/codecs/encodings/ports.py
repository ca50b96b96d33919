"""The encoding advisor's per-runtime operations (ports, see :mod:`lakeshrink.engine`): sampling a Parquet input
to advise a plan, and rewriting it with a plan.

The local engine samples and writes in this process; the Spark engine samples every partition with
``mapInArrow`` and writes each partition in a task, committing all or nothing. Both return the same result types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from lakeshrink.engine import Port

if TYPE_CHECKING:
    from lakeshrink.codecs.encodings.advisor import Advice
    from lakeshrink.codecs.encodings.plan import EncodingPlan
    from lakeshrink.codecs.encodings.writer import RewriteResult


class EncodingAdvisor(Protocol):
    def advise_path(self, path: str, *, objective: str | None = None, readers: str | None = None) -> Advice:
        """Advise per-column settings for the Parquet file or directory ``path``, within the ``readers``
        profile."""
        ...


class EncodingRewriter(Protocol):
    def rewrite(self, input: str, output: str, *, plan: EncodingPlan | None = None, objective: str | None = None,
                overwrite: bool = False, readers: str | None = None, iceberg_catalog: Any = None) -> RewriteResult:
        """Rewrite ``input`` into ``output`` with ``plan`` (advised when omitted, within ``readers``), every file
        verified; ``iceberg_catalog`` names a pyiceberg catalog for an Iceberg table (engines that rewrite them)."""
        ...


ENCODING_ADVISOR: Port[EncodingAdvisor] = Port("encodings.advise", EncodingAdvisor, "advise Parquet encodings")
ENCODING_REWRITER: Port[EncodingRewriter] = Port("encodings.rewrite", EncodingRewriter, "rewrite Parquet files")
