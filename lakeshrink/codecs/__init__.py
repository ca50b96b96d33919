"""Arrow-level codecs: :mod:`.logs` (lossless log template compression) and :mod:`.encodings`
(per-column Parquet encoding choices)."""
