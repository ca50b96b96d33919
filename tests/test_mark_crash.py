"""Issue 9, case 7 (marks): a kill between the Delta property commit and the manifest write is rolled back."""

from __future__ import annotations

import pytest
from test_planner_plan import delta_child_plan

from lakeshrink.containment.planner import marks
from lakeshrink.containment.planner.mark_intent import INTENT


def test_mark_killed_before_its_manifest_is_rolled_back_by_verify(tmp_path, monkeypatch):
    deltalake, lake, _, _ = delta_child_plan(tmp_path)

    def killed(*_a, **_k):
        raise KeyboardInterrupt  # the process dies after the Delta commit, before the manifest

    monkeypatch.setattr(marks, "_write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        marks.mark(tmp_path / "plan", execute=True)
    monkeypatch.undo()
    config = deltalake.DeltaTable(str(lake / "child_delta")).metadata().configuration
    assert config["lakeshrink.marked"] == "true" and not (lake / marks.MANIFEST).exists()
    marks.verify(tmp_path / "plan")  # the next run repairs it
    assert deltalake.DeltaTable(str(lake / "child_delta")).metadata().configuration["lakeshrink.marked"] == "false"
    assert not (lake / INTENT).exists()
