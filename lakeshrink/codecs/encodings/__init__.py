"""Per-column Parquet encodings chosen from samples (the columnar encoding advisor).

Most lakes are written with the writers' defaults (dictionary then PLAIN, snappy). This package samples each
column in stratified runs (BtrBlocks, SIGMOD 2023), trial-encodes the sample with every setting legal for its
Parquet physical type, and picks per column by an objective (``size``, ``speed``, ``balanced``), producing an
:class:`EncodingPlan` that pyarrow's writer, polars data and Spark (through per-partition pyarrow writers) can use.

Example:
    >>> import pyarrow as pa
    >>> from lakeshrink.codecs.encodings import advise, write_parquet
    >>> table = pa.table({"id": list(range(100_000))})
    >>> plan = advise(table, objective="size").plan
    >>> write_parquet(table, "/tmp/ids.parquet", plan).bytes < 10_000     # doctest: +SKIP
    True
"""

from lakeshrink.codecs.encodings.advisor import Advice, AdvisorConfig, advise, advise_sample, advise_table
from lakeshrink.codecs.encodings.candidates import Candidate, CandidateSpace, candidates_for
from lakeshrink.codecs.encodings.plan import ColumnChoice, EncodingPlan, SortKey, load_plan
from lakeshrink.codecs.encodings.sample import SampleConfig
from lakeshrink.codecs.encodings.writer import RewriteResult, WriteResult, rewrite, write_parquet

__all__ = [
    "Advice",
    "AdvisorConfig",
    "Candidate",
    "CandidateSpace",
    "ColumnChoice",
    "EncodingPlan",
    "RewriteResult",
    "SampleConfig",
    "SortKey",
    "WriteResult",
    "advise",
    "advise_sample",
    "advise_table",
    "candidates_for",
    "load_plan",
    "rewrite",
    "write_parquet",
]
