"""The in-memory matcher (Subscription criteria) answers exactly as the store's SQL search."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from sandbox.matching import matches
from sandbox.search import parse_search
from sandbox.store import Store

QUERIES = [
    # token: value, system|value, system|, |value (no system), several values, no match
    "Encounter?status=finished",
    "Encounter?status=finished,in-progress",
    "Encounter?status=planned",
    "Encounter?class=AMB",
    "Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP",
    "Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|",
    "Encounter?class=|AMB",
    "Encounter?type=http://snomed.info/sct|185349003&status=finished",
    # reference: typed, bare id, absolute-free; date: every prefix, every precision
    "Encounter?patient=Patient/pat-0001",
    "Encounter?subject=pat-0002",
    "Encounter?subject=Patient/pat-0003,Patient/pat-0004",
    "Encounter?date=2025",
    "Encounter?date=ge2025-06-01",
    "Encounter?date=lt2024-03",
    "Encounter?date=gt2025-12-17T20:59:00Z",
    "Encounter?date=le2024-01-01",
    "Encounter?date=ne2025",
    "Encounter?date=sa2025-01-01",
    "Encounter?date=eb2025-01-01",
    "Encounter?date=ap2025-06-15",
    "Encounter?date=2026",
    "Encounter?date=lt2026-06",
    "Encounter?date=le2026-06-01T10:00:00Z",
    "Encounter?date=eb2026-06-01",
    "Encounter?date=sa2026-06-01",
    "Encounter?date=ap2026-06",
    "Encounter?date=ge2026-01-01&date=lt2026-07-01",
    "Encounter?_lastUpdated=gt2000-01-01",
    "Encounter?_lastUpdated=lt2000-01-01",
    "Encounter?_id=enc-0001-1,enc-0002-1",
    # string: folded prefix, :exact, :contains
    "Patient?name=ngu",
    "Patient?family=Nguyen",
    "Patient?name:exact=Nguyen",
    "Patient?name:exact=nguyen",
    "Patient?given:contains=oa",
    "Patient?birthdate=ge2000&gender=male",
    "Condition?code=http://hl7.org/fhir/sid/icd-10-cm|G40.909&category=encounter-diagnosis",
    "Condition?encounter=Encounter/enc-0001-1",
    "Procedure?date=2025-12",
]


@pytest.fixture(scope="module")
def seeded(seeded_db: Path) -> Store:
    store = Store(seeded_db)
    yield store
    store.close()


@pytest.mark.parametrize("query", QUERIES)
def test_memory_matching_agrees_with_the_sql_search(seeded: Store, query: str):
    resource_type, _, text = query.partition("?")
    parsed = parse_search(resource_type, parse_qsl(text), fhir_base="", strict=True)
    found = seeded.search(resource_type, parsed.criteria, count=500)
    by_sql = {stored.resource_id for stored in found.resources}
    everything = seeded.search(resource_type, (), count=500).resources
    by_memory = {s.resource_id for s in everything if matches(s, parsed.criteria)}
    assert by_memory == by_sql
