"""Rebuild recipes: row checksums, every selector kind, multiplicities, pinned state, sealed files, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.containment import rowhash
from lakeshrink.containment.planner import recipes
from lakeshrink.containment.planner.recipes import ParentChanged, build_recipe, read_recipe, rebuild, write_rebuild, write_recipe
from lakeshrink.containment.rowhash import row_hashes, table_checksum
from lakeshrink.containment.planner.table_paths import UnsafeTablePath, check_table_id, table_path
from lakeshrink.errors import CorruptArchive, TableError, VerificationFailed


def _rows(table: pa.Table) -> list[tuple]:
    return sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)


@pytest.fixture
def lake(tmp_path, rng):
    root = tmp_path / "lake"
    root.mkdir()
    n = 400
    parent = pa.table({
        "id": np.arange(n, dtype=np.int64),
        "cat": pa.array(np.array(["a", "b", "c", "d"])[np.arange(n) % 4]),
        "value": rng.normal(size=n),
        "note": pa.array([None if i % 7 == 0 else f"n{i % 13}" for i in range(n)]),
    })
    pq.write_table(parent, root / "parent.parquet")
    return root, parent


def _write(root, name, table):
    pq.write_table(table, root / name)
    return name


# ------------------------------------------------------------------ row checksums


def test_checksum_ignores_order_but_counts_duplicates_and_nulls():
    t = pa.table({"a": [1, 2, 2, None], "s": ["x", "", None, "y"]})
    assert table_checksum(t) == table_checksum(t.take([3, 1, 0, 2]))
    assert table_checksum(t) != table_checksum(t.take([0, 1, 2, 2]))
    assert table_checksum(pa.table({"s": [None]})) != table_checksum(pa.table({"s": [""]}))
    assert table_checksum(pa.table({"a": [1]})) != table_checksum(pa.table({"b": [1]}))  # column names count
    assert table_checksum(t).startswith("v1:4:")


def test_value_hashes_are_canonical():
    assert (row_hashes(pa.table({"f": [0.0, float("nan")]})) == row_hashes(pa.table({"f": [-0.0, -float("nan")]}))).all()
    assert (row_hashes(pa.table({"i": pa.array([1, 2], pa.int32())})) == row_hashes(pa.table({"i": pa.array([1, 2], pa.int64())}))).all()
    chunked = pa.chunked_array([["ab", "c"], ["ab", None]])
    assert (rowhash.value_hashes(chunked) == rowhash.value_hashes(pa.array(["ab", "c", "ab", None]))).all()
    assert len(set(rowhash.value_hashes(pa.array(["ab", "ba", "a", "b", ""])).tolist())) == 5


def test_string_hash_does_not_depend_on_chunking(monkeypatch, rng):
    words = pa.array(["".join(rng.choice(list("abcdef"), size=rng.integers(0, 40))) for _ in range(500)])
    whole = rowhash.value_hashes(words)
    monkeypatch.setattr(rowhash, "_CHUNK_BYTES", 64)
    assert (rowhash.value_hashes(words) == whole).all()


def test_match_rows_with_multiplicities():
    parent = np.array([5, 6, 7, 6], dtype=np.uint64)
    positions, mult, full = recipes.match_rows(np.array([6, 6, 6, 5], dtype=np.uint64), parent)
    assert positions.tolist() == [0, 1, 3] and full
    assert mult.tolist() == [1, 2, 1]
    positions, mult, full = recipes.match_rows(np.array([6], dtype=np.uint64), parent)
    assert positions.tolist() == [1] and mult is None and not full
    with pytest.raises(TableError, match="do not occur in the parent"):
        recipes.match_rows(np.array([9], dtype=np.uint64), parent)


# ------------------------------------------------------------------ selectors


def _check(root, child_name, child, kind):
    recipe = build_recipe(str(root), child_name, "parent.parquet")
    assert recipe.selector.kind == kind, recipe.selector
    out = rebuild(recipe, str(root))
    assert out.schema == child.schema
    assert _rows(out) == _rows(child)
    assert recipe.row_checksum == table_checksum(child)
    return recipe


def test_range_selector(lake, rng):
    root, parent = lake
    child = parent.slice(100, 50).select(["note", "id", "value"])
    child = child.take(rng.permutation(child.num_rows))
    recipe = _check(root, _write(root, "c.parquet", child), child, "range")
    assert (recipe.selector.column, recipe.selector.low, recipe.selector.high) == ("id", 100, 149)


def test_in_list_selector(lake):
    root, parent = lake
    mask = np.isin(np.asarray(parent["cat"]), ["a", "c"])
    child = parent.filter(pa.array(mask)).select(["id", "value"])
    recipe = _check(root, _write(root, "c.parquet", child), child, "in")
    assert recipe.selector.column == "cat" and recipe.selector.values == ("a", "c")


def test_bitmap_selector_and_both_encodings(lake, rng, monkeypatch):
    root, parent = lake
    pick = np.sort(rng.choice(parent.num_rows, 37, replace=False))
    child = parent.take(pa.array(pick)).select(["cat", "note"])
    name = _write(root, "c.parquet", child)
    recipe = _check(root, name, child, "bitmap")
    assert recipe.selector.encoding == "roaring" and recipe.selector.selected <= 37
    monkeypatch.setattr(recipes, "_roaring", None)
    recipe = _check(root, name, child, "bitmap")
    assert recipe.selector.encoding == "zstd-bits"


def test_all_rows_selector_and_multiplicities(lake):
    root, parent = lake
    child = parent.select(["value", "id"])
    _check(root, _write(root, "proj.parquet", child), child, "all")
    dup = pa.concat_tables([parent.slice(0, 10), parent.slice(3, 2), parent.slice(3, 1)])
    recipe = _check(root, _write(root, "dup.parquet", dup), dup, "range")
    assert recipe.multiplicities is not None and recipe.child_rows == 13


def test_not_contained_is_an_error_naming_both_tables(lake):
    root, parent = lake
    child = parent.slice(0, 5).set_column(0, "id", pa.array([0, 1, 2, 3, 999]))
    _write(root, "c.parquet", child)
    with pytest.raises(TableError, match=r"'c.parquet' cannot be rebuilt from 'parent.parquet'.*not contained"):
        build_recipe(str(root), "c.parquet", "parent.parquet")


# ------------------------------------------------------------------ files and state


def test_recipe_file_round_trip_and_tampering(lake, tmp_path):
    root, parent = lake
    recipe = build_recipe(str(root), _write(root, "c.parquet", parent.slice(10, 20)), "parent.parquet")
    path = tmp_path / "r.json"
    doc = write_recipe(recipe, path)
    assert doc["format"] == "lakeshrink-recipe" and doc["version"] == 1
    assert read_recipe(path) == recipe
    raw = json.loads(path.read_text())
    raw["selector"]["high"] = 99
    path.write_text(json.dumps(raw))
    with pytest.raises(CorruptArchive, match="checksum mismatch"):
        read_recipe(path)
    write_recipe(recipe, path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CorruptArchive, match="not valid JSON"):
        read_recipe(path)
    raw = json.loads(json.dumps(doc))
    raw["version"] = 7
    path.write_text(json.dumps(raw))
    with pytest.raises(CorruptArchive, match="version 7 is not supported"):
        read_recipe(path)


def test_parent_changed_or_vanished_is_refused(lake, tmp_path):
    root, parent = lake
    recipe = build_recipe(str(root), _write(root, "c.parquet", parent.slice(0, 30)), "parent.parquet")
    pq.write_table(parent.slice(1), root / "parent.parquet")
    with pytest.raises(ParentChanged, match="changed size"):
        rebuild(recipe, str(root))
    out = tmp_path / "out.parquet"
    with pytest.raises(ParentChanged):
        write_rebuild(recipe, str(root), out)
    assert not out.exists()
    os.remove(root / "parent.parquet")
    with pytest.raises(ParentChanged, match="no longer exists"):
        rebuild(recipe, str(root))


def test_write_rebuild_verifies_and_a_wrong_checksum_writes_nothing(lake, tmp_path):
    root, parent = lake
    child = parent.slice(5, 40)
    recipe = build_recipe(str(root), _write(root, "c.parquet", child), "parent.parquet")
    out = tmp_path / "out.parquet"
    assert write_rebuild(recipe, str(root), out) == table_checksum(child)
    assert _rows(pq.read_table(out)) == _rows(child)
    from dataclasses import replace

    bad = replace(recipe, row_checksum="v1:40:" + "0" * 32)
    out2 = tmp_path / "out2.parquet"
    with pytest.raises(VerificationFailed, match="row checksum"):
        write_rebuild(bad, str(root), out2)
    assert not out2.exists()


def test_content_change_with_same_size_is_caught_by_sha256(lake):
    root, parent = lake
    recipe = build_recipe(str(root), _write(root, "c.parquet", parent.slice(0, 30)), "parent.parquet")
    data = bytearray((root / "parent.parquet").read_bytes())
    data[-12] ^= 0xFF  # inside the footer metadata: same size, different content
    (root / "parent.parquet").write_bytes(bytes(data))
    lake_, ref = recipes.open_table(str(root), "parent.parquet")
    assert "SHA-256" in recipes.state_change(lake_, ref, recipe.parent_state)


def test_unsafe_table_paths(tmp_path):
    for bad in ("../x.parquet", "a/../../b", "/etc/passwd", "s3://bucket/t", "", "a//b"):
        with pytest.raises(UnsafeTablePath):
            check_table_id(bad)
    root = tmp_path / "lake"
    root.mkdir()
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"a": [1]}), outside)
    (root / "link.parquet").symlink_to(outside)
    with pytest.raises(UnsafeTablePath, match="symlink"):
        table_path(str(root), "link.parquet", local=True)
    with pytest.raises(UnsafeTablePath):
        build_recipe(str(root), "link.parquet", "../outside.parquet")


def test_delta_parent_is_pinned_by_version(tmp_path):
    deltalake = pytest.importorskip("deltalake")
    root = tmp_path / "lake"
    parent = pa.table({"k": list(range(50)), "v": [f"x{i}" for i in range(50)]})
    deltalake.write_deltalake(str(root / "dparent"), parent)
    pq.write_table(parent.slice(10, 5), root / "child.parquet")
    recipe = build_recipe(str(root), "child.parquet", "dparent")
    assert recipe.parent_state.format == "delta" and recipe.parent_state.delta_version == 0
    deltalake.DeltaTable(str(root / "dparent")).alter.set_table_properties({"x.y": "1"}, raise_if_not_exists=False)
    assert _rows(rebuild(recipe, str(root))) == _rows(parent.slice(10, 5))  # metadata-only commit: data unchanged
    deltalake.write_deltalake(str(root / "dparent"), parent.slice(0, 1), mode="append")
    # the parent moved on: the recipe reads its pinned version (time travel), and a check says it moved on
    assert _rows(rebuild(recipe, str(root))) == _rows(parent.slice(10, 5))
    from lakeshrink.containment.planner.recipes import open_table, state_change

    lake, ref = open_table(str(root), "dparent")
    assert "Delta version is 2, pinned 0" in state_change(lake, ref, recipe.parent_state)


def test_compatible_types_are_cast_back_to_the_child_schema(lake):
    root, parent = lake
    child = parent.slice(0, 25).select(["id", "note"]).cast(pa.schema([("id", pa.int32()), ("note", pa.large_string())]))
    recipe = _check(root, _write(root, "narrow.parquet", child), child, "range")
    assert recipe.schema() == child.schema


def test_sealed_documents_survive_pretty_printing_but_not_edits(tmp_path):
    from lakeshrink.sealed import read_sealed, seal, unseal, write_sealed

    doc = write_sealed(tmp_path / "d.json", "lakeshrink-test", 1, {"b": [1, 2.5, "é"], "a": None})
    assert doc["format"] == "lakeshrink-test" and doc["version"] == 1 and len(doc["sha256"]) == 64
    assert read_sealed(tmp_path / "d.json", "lakeshrink-test") == doc
    (tmp_path / "d.json").write_text(json.dumps(doc, indent=7, sort_keys=True))  # formatting does not matter
    assert read_sealed(tmp_path / "d.json", "lakeshrink-test") == doc
    with pytest.raises(CorruptArchive, match="not a lakeshrink-other document"):
        read_sealed(tmp_path / "d.json", "lakeshrink-other")
    with pytest.raises(CorruptArchive, match="checksum mismatch"):
        unseal({**doc, "a": 0}, "lakeshrink-test", (1,))
    assert seal("k", 1, {"x": 1}) == seal("k", 1, {"x": 1, "sha256": "stale"})


def test_build_recipes_reads_the_parent_once_and_isolates_bad_children(lake, monkeypatch):
    root, parent = lake
    good = _write(root, "good.parquet", parent.slice(0, 10))
    bad = _write(root, "bad.parquet", parent.slice(0, 5).set_column(0, "id", pa.array([0, 1, 2, 3, 999])))
    reads = []
    real = recipes.read_parent
    monkeypatch.setattr(recipes, "read_parent", lambda *a, **k: reads.append(1) or real(*a, **k))
    out = recipes.build_recipes(str(root), "parent.parquet", [good, bad, "gone.parquet"])
    assert len(reads) == 1
    assert isinstance(out[0], recipes.Recipe) and out[0].child == good
    assert isinstance(out[1], TableError) and "not contained" in str(out[1])
    assert isinstance(out[2], ParentChanged)
