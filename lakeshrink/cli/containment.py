"""``lakeshrink containment``: redundant-table containment and the deletion planner.

The group's commands live in two modules, imported when a command runs: :mod:`.containment_scan` (the R2D2
pipeline: ``scan``) and :mod:`.containment_plan` (the planner: ``plan``, ``mark``, ``verify``, ``rebuild``).
"""

from __future__ import annotations

import click

from lakeshrink.cli.lazy import LazyGroup

_PLAN = "lakeshrink.cli.containment_plan"
COMMANDS = {
    "scan": ("lakeshrink.cli.containment_scan:scan", "Find tables of LAKE contained in other tables."),
    "plan": (f"{_PLAN}:plan_command", "Plan which contained tables to mark, with a recipe to rebuild each."),
    "mark": (f"{_PLAN}:mark_command", "Mark the plan's tables (a dry run without --execute); never deletes."),
    "verify": (f"{_PLAN}:verify_command", "Check that marked tables can still be rebuilt from their parents."),
    "rebuild": (f"{_PLAN}:rebuild_command", "Rebuild a marked table as one Parquet file, verified."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def containment() -> None:
    """Redundant tables: scan a lake for contained tables; plan, mark, verify and rebuild."""
