"""Issue 9, case 7 (marks): a kill between the Delta property commit and the manifest write is rolled back."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment import marks
from lakeshrink.containment.mark_intent import INTENT
from lakeshrink.containment.plan import PlanOptions, make_plan
from lakeshrink.containment.scan import scan_lake


def test_mark_killed_before_its_manifest_is_rolled_back_by_verify(tmp_path, monkeypatch):
    deltalake = pytest.importorskip("deltalake")
    lake = tmp_path / "lake"
    lake.mkdir()
    parent = pa.table({"k": list(range(200)), "v": [f"x{i % 17}" for i in range(200)]})
    pq.write_table(parent, lake / "parent.parquet")
    deltalake.write_deltalake(str(lake / "child_delta"), parent.slice(50, 60))
    scan_lake(lake).save(tmp_path / "scan")
    access = tmp_path / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\nchild_delta,0,\n")
    make_plan(tmp_path / "scan", tmp_path / "plan", access=access, options=PlanOptions(gx=False))

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
