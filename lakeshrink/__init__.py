"""lakeshrink: cut what a data lake costs to keep, never losing a byte.

Three capabilities over Arrow data, each run by the embedded ``local`` engine (pyarrow + polars, in process)
or by the ``spark`` engine (the same core per partition):

* :mod:`lakeshrink.codecs.logs`: lossless log template compression.
* :mod:`lakeshrink.codecs.encodings`: per-column Parquet encoding choices.
* :mod:`lakeshrink.containment`: redundant-table containment (R2D2) and the deletion planner.

Importing :mod:`lakeshrink` has no side effects and never imports pyspark.
"""

from lakeshrink.errors import (
    CorruptArchive,
    EngineUnavailable,
    InputError,
    LakeshrinkError,
    SchemaMismatch,
    TableError,
    VerificationFailed,
)

__version__ = "0.1.0"

__all__ = [
    "CorruptArchive",
    "EngineUnavailable",
    "InputError",
    "LakeshrinkError",
    "SchemaMismatch",
    "TableError",
    "VerificationFailed",
    "__version__",
]
