"""``lakeshrink containment``: redundant-table containment and the deletion planner.

The group collects its commands from two modules: :mod:`.containment_scan` (the R2D2 pipeline: ``scan``) and
:mod:`.containment_plan` (the planner: ``plan``, ``mark``, ``verify``, ``rebuild``). Each lists its commands in
``COMMANDS``.
"""

from __future__ import annotations

import click

from lakeshrink.cli import containment_plan, containment_scan


@click.group()
def containment() -> None:
    """Redundant tables: scan a lake for contained tables; plan, mark, verify and rebuild."""


for _command in (*containment_scan.COMMANDS, *containment_plan.COMMANDS):
    containment.add_command(_command)
