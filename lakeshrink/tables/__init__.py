"""Tables of a lake: finding them (:mod:`.discovery`), reading their live rows as Arrow (:mod:`.read`, with the
table formats in :mod:`.delta` and :mod:`.iceberg`), their statistics (:mod:`.stats`), and rewriting a table-format
table's files through its own transaction log (:mod:`.rewrite`).

This package is the one place that resolves lake roots and table paths; other capabilities ask it.
"""
