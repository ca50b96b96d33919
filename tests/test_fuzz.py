"""Issue 9: the fuzz target in the suite (a few thousand cases; ``python -m benchmarks.fuzz`` runs 10^5+).

Mutated archives (raw bytes with stale checksums, index JSON and chunk payloads with recomputed checksums, and
column metadata re-packed inside valid sections) must be read back exactly or refused with a
``LakeshrinkError``: no silent wrong output, no other exception, no hang.
"""

from __future__ import annotations

import random

import pytest

from benchmarks.fuzz import TARGETS


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_target_has_no_silent_wrong_output_traceback_or_hang(tmp_path, target):
    cases = {"archive": 1500, "documents": 600}.get(target, 500)
    tally = TARGETS[target](cases, random.Random(f"suite-{target}"), tmp_path)
    assert sum(tally.counts.values()) == cases
    assert tally.counts["wrong"] == tally.counts["traceback"] == tally.counts["hang"] == 0, tally.examples
    assert tally.counts["refused"] > 0  # the mutations do reach the checks
