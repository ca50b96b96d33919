"""``lakeshrink containment plan|mark|verify|rebuild``: the deletion planner."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
