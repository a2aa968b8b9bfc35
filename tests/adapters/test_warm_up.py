"""The warm-up a long-running process does before its first encounter."""

import gc

from adapters import warm_up as warm_up_module
from adapters.coding_setup import default_coding
from adapters.warm_up import settle_heap, warm_up


def test_the_warm_up_stay_goes_through_every_step_and_gets_a_claim():
    processed = warm_up(default_coding())
    assert processed.claim is not None
    lines = processed.coded.diagnoses
    # the ICD-10-CM code as coded and the SNOMED CT concept through the crosswalk
    assert [line.code for line in lines][:2] == ["J189", "E119"]
    assert {line.method.value for line in lines} >= {"as-coded", "crosswalk"}
    assert [p.code for p in processed.coded.procedures] == ["5A1955Z"]
    assert processed.claim["type"]["coding"][0]["code"] == "institutional"


def test_settling_the_heap_freezes_what_is_loaded_once_per_process(monkeypatch):
    monkeypatch.setattr(warm_up_module, "_settled", False)
    gc.unfreeze()
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        garbage = [[] for _ in range(1000)]
        settle_heap()  # a second pool in the same process freezes nothing more
        # (a frozen object may still die by its reference count, from another thread too:
        # the count can fall, it must not grow by the thousand lists made since)
        assert gc.get_freeze_count() <= frozen
        del garbage
    finally:
        gc.unfreeze()
