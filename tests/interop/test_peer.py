"""The Medplum peer's launcher and its helpers: what other tests rely on."""

from __future__ import annotations

import httpx

from sandbox.seed import build_seed_bundle
from tests.peer_server import (
    MAX_CONDITIONAL_ENTRIES,
    MAX_PUT_ENTRIES,
    chunk_entries,
    load_transaction_chunks,
)


def _put(n: int) -> dict:
    return {"request": {"method": "PUT", "url": f"Patient/p{n}"}, "resource": {}}


def _conditional(n: int) -> dict:
    return {"request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier=x|{n}"}}


def test_chunks_respect_medplums_limits_and_keep_the_order():
    entries = [_put(n) for n in range(120)] + [_conditional(n) for n in range(10)]

    chunks = chunk_entries(entries)

    assert [e for chunk in chunks for e in chunk] == entries
    for chunk in chunks:
        assert sum(e["request"]["method"] == "PUT" for e in chunk) <= MAX_PUT_ENTRIES
        if any("ifNoneExist" in e["request"] for e in chunk):
            assert len(chunk) <= MAX_CONDITIONAL_ENTRIES


def test_the_sandbox_seed_loads_into_the_peer_and_reset_empties_it(medplum_clean: str):
    seed = build_seed_bundle()

    load_transaction_chunks(medplum_clean, seed)

    with httpx.Client(base_url=medplum_clean + "/") as http:
        encounters = http.get("Encounter", params={"_summary": "count"}).json()
        expected = sum(e["resource"]["resourceType"] == "Encounter" for e in seed["entry"])
        assert encounters["total"] == expected
        finished = http.get(
            "Encounter", params={"patient": "Patient/pat-0001", "status": "finished"}
        ).json()
        assert finished["total"] >= 1
        assert all(
            e["resource"]["subject"]["reference"] == "Patient/pat-0001" for e in finished["entry"]
        )
        assert http.post("$reset").status_code == 200
        assert http.get("Encounter", params={"_summary": "count"}).json()["total"] == 0


def test_metadata_is_a_capability_statement(medplum_base_url: str):
    response = httpx.get(f"{medplum_base_url}/metadata")

    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Encounter", "Claim"} <= types


def test_metadata_declares_the_includes_the_launcher_serves(medplum_base_url: str):
    statement = httpx.get(f"{medplum_base_url}/metadata").json()
    encounter = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Encounter")

    assert "Encounter:patient" in encounter["searchInclude"]
    assert {"Condition:encounter", "Procedure:encounter"} <= set(encounter["searchRevInclude"])
