"""``lakeshrink logs``: lossless log template compression."""

from __future__ import annotations

import click


@click.group()
def logs() -> None:
    """Lossless log template compression (compress, decompress, templates, grep)."""
