"""Incremental re-scans: what the scan cache reuses, what it reads again, and that a damaged cache is never trusted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment.scan.fpcache import ScanCache, table_state
from lakeshrink.containment.lake import discover
from lakeshrink.containment.scan import scan_lake


def _lake(root: Path) -> Path:
    root.mkdir()
    base = pa.table({"x": list(range(30)), "s": [f"v{i % 7}" for i in range(30)], "f": [i / 4 for i in range(30)]})
    pq.write_table(base, root / "base.parquet")
    pq.write_table(base.slice(0, 10), root / "head.parquet")
    pq.write_table(base.select(["x", "s"]).slice(5, 20), root / "proj.parquet")
    pq.write_table(base.select(["s"]), root / "only_s.parquet")
    pq.write_table(pa.table({"x": [1, 99]}), root / "miss.parquet")
    pq.write_to_dataset(base, root / "hive", partition_cols=["s"])
    return root


def _data_read(result) -> int:
    return sum(s.data_bytes for s in result.stages)


def test_a_rescan_reuses_everything_and_a_change_reads_only_that_table(tmp_path):
    root = _lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    assert _data_read(first) > 0 and first.edges
    again = scan_lake(root, cache=cache)
    assert again.edges == first.edges and again.reduction == first.reduction
    assert _data_read(again) == 0 and sum(s.footer_bytes for s in again.stages) == 0
    # head.parquet changes: it gains a row the base lacks
    pq.write_table(pa.table({"x": [0, 1, 1000], "s": ["v0", "v1", "v0"], "f": [0.0, 0.25, 0.5]}), root / "head.parquet")
    changed = scan_lake(root, cache=cache)
    assert changed.edges == scan_lake(root).edges  # the same as a scan without a cache
    assert ("head.parquet", "base.parquet") not in {(e.child, e.parent) for e in changed.edges}
    read = {s.name: s for s in changed.stages}
    head_bytes = os.path.getsize(root / "head.parquet")
    # the changed table is read, and miss.parquet, whose pairs never reached stage 3 before (pruned by min-max)
    assert 0 < read["sketch"].data_bytes <= head_bytes + os.path.getsize(root / "miss.parquet")
    assert read["schema"].footer_bytes <= head_bytes


def test_types_modes_keep_their_own_edges(tmp_path):
    root = tmp_path / "lake"
    root.mkdir()
    pq.write_table(pa.table({"x": pa.array([1, 2, 3], pa.int64())}), root / "wide.parquet")
    pq.write_table(pa.table({"x": pa.array([1, 2], pa.int32())}), root / "narrow.parquet")
    cache = tmp_path / "cache"
    assert not scan_lake(root, cache=cache).edges
    assert [(e.child, e.parent) for e in scan_lake(root, cache=cache, types="compatible").edges] == [("narrow.parquet", "wide.parquet")]
    assert not scan_lake(root, cache=cache).edges


@pytest.mark.parametrize("damage", ["fingerprints", "footers", "edges", "truncate-all"])
def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path, damage):
    root = _lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    if damage == "fingerprints":
        for path in (cache / "fp").glob("*.parquet"):
            data = bytearray(path.read_bytes())
            data[40:60] = b"\x00" * 20  # inside the data pages: the page checksums catch it
            path.write_bytes(bytes(data))
    elif damage == "footers":
        doc = json.loads((cache / "footers.json").read_text())
        state, text = next(iter(doc["footers"].items()))
        entry = json.loads(text)
        entry["rows"] += 1  # a plausible edit; the seal catches it
        doc["footers"][state] = json.dumps(entry)
        (cache / "footers.json").write_text(json.dumps(doc))
    elif damage == "edges":
        path = cache / "edges-exact.parquet"
        edges = pq.read_table(path)
        reverse = edges.slice(0, 1).to_pylist()[0]
        reverse["child_state"], reverse["parent_state"] = reverse["parent_state"], reverse["child_state"]
        pq.write_table(pa.concat_tables([edges, pa.Table.from_pylist([reverse], edges.schema)]), path)
        # the reverse of an edge, in a well-formed file: its digest is not the one the sealed index names
    else:
        for path in cache.rglob("*"):
            if path.is_file():
                path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    if damage == "fingerprints":
        # fingerprints are only read again when a pair needs them: make every pair new
        (cache / "edges-exact.json").unlink()
    again = scan_lake(root, cache=cache)
    assert again.edges == first.edges
    assert scan_lake(root, cache=cache).edges == first.edges  # and the rebuilt cache is good


def test_damaged_fingerprint_pages_are_rebuilt_from_the_table(tmp_path):
    root = _lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    for path in (cache / "fp").glob("*.parquet"):
        data = bytearray(path.read_bytes())
        data[40:60] = b"\x00" * 20
        path.write_bytes(bytes(data))
    (cache / "edges-exact.json").unlink()

    def damaged() -> int:
        bad = 0
        for path in (cache / "fp").glob("*.parquet"):
            try:
                pq.read_table(path, page_checksum_verification=True)
            except Exception:  # noqa: BLE001
                bad += 1
        return bad

    before = damaged()
    assert before > 0
    again = scan_lake(root, cache=cache)
    assert again.edges == first.edges and not again.skipped
    assert damaged() < before  # the files stage 4 needed were rebuilt from their tables


def test_table_state_follows_the_files(tmp_path):
    root = _lake(tmp_path / "lake")
    before = {t.id: table_state(t) for t in discover(root).tables}
    assert all(before.values()) and len(set(before.values())) == len(before)
    pq.write_table(pa.table({"x": [5]}), root / "miss.parquet")
    os.utime(root / "miss.parquet", ns=(1, 1))
    after = {t.id: table_state(t) for t in discover(root).tables}
    assert {t for t in before if before[t] != after[t]} == {"miss.parquet"}


def test_a_cache_of_another_version_is_not_used(tmp_path):
    root = _lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    scan_lake(root, cache=cache)
    doc = json.loads((cache / "edges-exact.json").read_text())
    doc["version"] = 999
    (cache / "edges-exact.json").write_text(json.dumps(doc))
    assert ScanCache(cache).load_edges("exact") == (set(), [])
    assert ScanCache(cache).load_footers()  # the others are still good


def test_unchanged_format_tables_are_not_opened_again(tmp_path, monkeypatch):
    """Discovery remembers the Delta and Iceberg tables it opened by the listing of their log folder: a re-scan
    opens only the one that got a new commit, sees its new version, and the end-of-scan check needs no reopening."""
    import sys

    deltalake = pytest.importorskip("deltalake")
    sys.path.insert(0, str(Path(__file__).parent))
    from format_tables import iceberg_catalog

    from lakeshrink.tables import delta, iceberg

    root = tmp_path / "lake"
    root.mkdir()
    base = pa.table({"x": list(range(30)), "s": [f"v{i % 7}" for i in range(30)]})
    pq.write_table(base, root / "base.parquet")
    for name in ("d1", "d2"):
        deltalake.write_deltalake(str(root / name), base.slice(0, 10))
    catalog = iceberg_catalog(tmp_path, root / "ice")
    ice = catalog.create_table("db.t", schema=base.schema)
    ice.append(base.slice(5, 10))
    opened: list[str] = []
    real_delta, real_iceberg = delta.open_delta, iceberg.open_iceberg
    monkeypatch.setattr(delta, "open_delta", lambda fs, path, table_id, *a, **k: opened.append(table_id) or real_delta(fs, path, table_id, *a, **k))
    monkeypatch.setattr(iceberg, "open_iceberg", lambda fs, path, table_id, **k: opened.append(table_id) or real_iceberg(fs, path, table_id, **k))
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    assert sorted(opened) == ["d1", "d2", "ice/db/t"]
    assert {(e.child, e.parent) for e in first.edges} >= {("d1", "base.parquet"), ("ice/db/t", "base.parquet")}
    opened.clear()
    assert scan_lake(root, cache=cache).edges == first.edges
    assert opened == []  # nothing opened, and the change check at the end did not open them either
    deltalake.write_deltalake(str(root / "d2"), pa.table({"x": [1000], "s": ["new"]}), mode="append")
    changed = scan_lake(root, cache=cache)
    assert opened == ["d2"]
    assert ("d2", "base.parquet") not in {(e.child, e.parent) for e in changed.edges}
    assert changed.edges == scan_lake(root).edges
    assert next(t for t in changed.table_details if t.table == "d2").rows == 11


def test_a_commit_during_the_scan_is_seen_by_the_log_listing(tmp_path, monkeypatch):
    from lakeshrink.containment.scan import run as scan_mod

    deltalake = pytest.importorskip("deltalake")
    root = tmp_path / "lake"
    root.mkdir()
    base = pa.table({"x": list(range(30))})
    pq.write_table(base, root / "base.parquet")
    deltalake.write_deltalake(str(root / "d"), base.slice(0, 10))
    real = scan_mod._verify

    def verify_then_commit(run, plan):
        outcome = real(run, plan)
        deltalake.write_deltalake(str(root / "d"), base.slice(10, 2), mode="append")
        return outcome

    monkeypatch.setattr(scan_mod, "_verify", verify_then_commit)
    result = scan_lake(root, cache=tmp_path / "cache")
    assert not result.edges
    assert [s.table for s in result.skipped] == ["d"] and "changed during the scan" in result.skipped[0].reason


def test_the_edge_cache_holds_the_scans_edges_and_is_rewritten_only_when_they_change(tmp_path):
    root = _lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    first = scan_lake(root, cache=cache)
    state = {t.id: table_state(t) for t in discover(root).tables}
    states, edges = ScanCache(cache).load_edges("exact")
    assert states == set(state.values())
    want = sorted((state[e.child], state[e.parent], e.columns, e.child_rows, e.child_distinct_rows, e.multiset_contained)
                  for e in first.edges)
    assert sorted(edges) == want and want
    index = cache / "edges-exact.json"
    os.utime(index, ns=(1, 1))
    assert scan_lake(root, cache=cache).edges == first.edges
    assert index.stat().st_mtime_ns == 1  # nothing changed: not written again
