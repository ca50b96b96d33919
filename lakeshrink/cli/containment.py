"""``lakeshrink containment``: redundant-table containment and the deletion planner."""

from __future__ import annotations

import click


@click.group()
def containment() -> None:
    """Redundant tables: scan a lake for contained tables; plan, mark, verify and rebuild."""
