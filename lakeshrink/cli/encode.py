"""``lakeshrink encode``: per-column Parquet encoding choices."""

from __future__ import annotations

import click


@click.group()
def encode() -> None:
    """Per-column Parquet encodings chosen from samples (advise, rewrite)."""
