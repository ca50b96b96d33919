"""``lakeshrink containment scan``: the R2D2 containment pipeline."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
