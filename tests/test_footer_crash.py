"""Issue 9, case 6: a footer that crashes pyarrow natively (exit 134) no longer aborts the scan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_corrupt_footer_is_skipped_not_fatal(demo_data, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(demo_data / "lake", lake)
    planes = lake / "planes.parquet"
    data = bytearray(planes.read_bytes())
    data[33_799] ^= 0x4E  # a definition-level histogram of the wrong size: pyarrow throws through C++ and aborts
    planes.write_bytes(bytes(data))
    out = tmp_path / "scan"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "lakeshrink", "--output", "json", "containment", "scan", str(lake),
                           "-o", str(out)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "containment.json").read_text())
    skipped = {s["table"]: s["reason"] for s in doc["skipped"]}
    assert "crashed" in skipped.get("planes.parquet", ""), skipped
    assert doc["tables"] and "terminate called" not in proc.stderr
