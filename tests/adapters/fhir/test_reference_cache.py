"""The gatherer's cache of fetched references: reuse within a run, age and size limits.

``fhir-coder serve`` keeps one cache for as long as it runs, so entries must age out: a
patient's Coverage read last month must not decide today's claim, and a practitioner who
could not be read last week must be asked for again.
"""

from adapters.fhir.references import Fetch, ReferenceCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


PATIENT = Fetch("Patient/p1", "Patient/p1", "Patient")
COVERAGE = Fetch(
    "Coverage?patient=Patient/p1", "Coverage?patient=Patient/p1", "Bundle", searchset=True
)


def test_a_resource_is_reused_until_it_is_too_old_then_fetched_again():
    clock = Clock()
    cache = ReferenceCache(found_seconds=600, clock=clock)
    cache.put(COVERAGE, {"resourceType": "Bundle", "type": "searchset"})
    clock.now += 599
    assert cache.known(COVERAGE)
    clock.now += 2
    assert not cache.known(COVERAGE)
    assert COVERAGE.key not in cache.found


def test_a_resource_is_kept_under_its_own_key_too_and_both_age_out():
    clock = Clock()
    cache = ReferenceCache(found_seconds=10, clock=clock)
    conditional = Fetch("Patient?identifier=x|1", "Patient?identifier=x|1", "Patient", search=True)
    cache.put(conditional, {"resourceType": "Patient", "id": "p1"})
    assert cache.known(PATIENT)
    clock.now += 11
    assert not cache.known(PATIENT)
    assert not cache.known(conditional)


def test_a_failure_is_remembered_briefly_and_a_success_replaces_it():
    clock = Clock()
    cache = ReferenceCache(failed_seconds=60, clock=clock)
    cache.fail(PATIENT, "HTTP 503")
    assert cache.known(PATIENT)
    clock.now += 61
    assert not cache.known(PATIENT)
    cache.fail(PATIENT, "HTTP 503")
    cache.put(PATIENT, {"resourceType": "Patient", "id": "p1"})
    assert PATIENT.key not in cache.failed
    assert cache.found[PATIENT.key]["id"] == "p1"


def test_the_cache_is_bounded_and_the_oldest_entries_go_first():
    cache = ReferenceCache(max_entries=3)
    fetches = [Fetch(f"Practitioner/{n}", f"Practitioner/{n}", "Practitioner") for n in range(5)]
    for number, fetch in enumerate(fetches):
        cache.put(fetch, {"resourceType": "Practitioner", "id": str(number)})
    assert [cache.known(f) for f in fetches] == [False, False, True, True, True]
    assert len(cache.found) == 3
