"""The chaos soak, small: faults, two serves on one ledger, SIGKILLs, a biller; every promise kept.

``benchmarks/chaos.py`` holds the soak and runs it at full size (1,000 updates, five
kills: ``docs/benchmarks.md``); here a bounded run (a few dozen updates, two kills) proves
the same promises on every test run: no Claim lost, doubled or saying anything but what
its encounter's latest version codes to, no biller's edit overwritten (each recode after
it reported as a conflict), no NDJSON line torn or appended twice.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from chaos import SoakConfig, soak

SMALL = SoakConfig(patients=10, encounters=8, updates=20, kills=2, latency_ms=1.0, timeout=120)


@pytest.mark.parametrize("ndjson", [False, True], ids=["fhir", "ndjson"])
def test_a_small_chaos_soak_keeps_every_promise(tmp_path, ndjson):
    result = soak(SoakConfig(**{**SMALL.__dict__, "ndjson": ndjson}), tmp_path)
    facts = f"seed {result.seed}: {result}"
    assert result.kills == 2, facts
    assert result.updates >= 20, facts
    assert result.claims >= result.encounters - 2, facts  # held encounters owe no Claim
    assert result.lost == [], facts
    assert result.mismatched == [], facts
    assert result.duplicates == [], facts
    assert result.overwritten == [], facts
    assert result.conflicts_unreported == [], facts
    assert (result.torn_lines, result.duplicate_lines) == (0, 0), facts
    if not ndjson:
        assert result.biller_edits >= 1, facts
        assert result.conflicts_reported >= result.biller_edits, facts
