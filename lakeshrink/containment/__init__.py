"""Redundant-table containment (R2D2, Shah et al., SIGMOD'24) and the deletion planner.

:mod:`.lake` discovers the tables of a lake and reads them as Arrow.
"""
