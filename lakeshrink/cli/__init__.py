"""The ``lakeshrink`` command line: a thin layer over the library.

One module per command group (``logs``, ``encode``, ``containment``) plus ``demo``; :mod:`._common` holds the
global options, the engine options, output in text or JSON, and the mapping of library errors to exit codes.
"""
