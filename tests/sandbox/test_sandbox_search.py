"""Search by each supported parameter, over the seeded data, and its edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.criteria import (
    IdCriterion,
    ReferenceCriterion,
    ReferenceMatch,
    TokenCriterion,
    TokenMatch,
)
from sandbox.search import DEFAULT_COUNT, MAX_COUNT, parse_search
from sandbox.seed import MRN_SYSTEM
from sandbox.store import Store

BASE = "http://sandbox.test/fhir"


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def of_type(seed_bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in seed_bundle["entry"]
        if e["resource"]["resourceType"] == resource_type
    ]


async def search(http: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    bundle: dict[str, Any] = response.json()
    assert bundle["type"] == "searchset"
    return bundle


async def test_searchset_shape(seeded_client):
    bundle = await search(seeded_client, "Patient", _count="3")

    assert bundle["total"] == 12
    assert len(bundle["entry"]) == 3
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"{BASE}/Patient/{entry['resource']['id']}"
        assert entry["search"] == {"mode": "match"}
    assert bundle["link"][0] == {"relation": "self", "url": f"{BASE}/Patient?_count=3"}


async def test_empty_searchset_has_total_zero_and_no_entries(seeded_client):
    bundle = await search(seeded_client, "Encounter", status="cancelled")
    assert bundle["total"] == 0
    assert "entry" not in bundle


async def test_search_by_id(seeded_client):
    bundle = await search(seeded_client, "Patient", _id="pat-0002,pat-0005,nope")
    assert sorted(ids(bundle)) == ["pat-0002", "pat-0005"]


async def test_encounter_by_status(seeded_client, seed_bundle):
    expected = {e["id"] for e in of_type(seed_bundle, "Encounter") if e["status"] == "finished"}
    bundle = await search(seeded_client, "Encounter", status="finished", _count="500")
    assert set(ids(bundle)) == expected
    assert bundle["total"] == len(expected)
    either = await search(seeded_client, "Encounter", status="planned,in-progress")
    assert either["total"] == len(of_type(seed_bundle, "Encounter")) - len(expected)


@pytest.mark.parametrize(
    "value",
    ["Patient/pat-0003", "pat-0003", f"{BASE}/Patient/pat-0003"],
    ids=["type-and-id", "bare-id", "absolute-url"],
)
async def test_patient_and_subject_accept_every_reference_form(seeded_client, seed_bundle, value):
    expected = {
        e["id"]
        for e in of_type(seed_bundle, "Encounter")
        if e["subject"]["reference"] == "Patient/pat-0003"
    }
    assert expected
    assert set(ids(await search(seeded_client, "Encounter", patient=value))) == expected
    assert set(ids(await search(seeded_client, "Encounter", subject=value))) == expected


async def test_reference_to_another_server_or_type_matches_nothing(seeded_client):
    assert (
        await search(
            seeded_client, "Encounter", patient="http://elsewhere.test/fhir/Patient/pat-0003"
        )
    )["total"] == 0
    assert (await search(seeded_client, "Encounter", subject="Group/pat-0003"))["total"] == 0
    assert (await search(seeded_client, "Encounter", **{"subject:Patient": "pat-0003"}))[
        "total"
    ] > 0


async def test_conditions_and_procedures_by_encounter(seeded_client, seed_bundle):
    for resource_type in ("Condition", "Procedure"):
        resources = of_type(seed_bundle, resource_type)
        encounter = resources[0]["encounter"]["reference"]
        expected = {r["id"] for r in resources if r["encounter"]["reference"] == encounter}
        bundle = await search(seeded_client, resource_type, encounter=encounter)
        assert set(ids(bundle)) == expected


async def test_condition_by_patient(seeded_client, seed_bundle):
    expected = {
        c["id"]
        for c in of_type(seed_bundle, "Condition")
        if c["subject"]["reference"] == "Patient/pat-0001"
    }
    assert set(ids(await search(seeded_client, "Condition", patient="pat-0001"))) == expected


async def test_coverage_by_patient(seeded_client):
    bundle = await search(seeded_client, "Coverage", patient="Patient/pat-0004")
    assert ids(bundle) == ["cov-0004"]
    assert bundle["entry"][0]["resource"]["subscriberId"]


async def test_identifier_with_and_without_system(seeded_client, seed_bundle):
    patient = of_type(seed_bundle, "Patient")[5]
    mrn = patient["identifier"][0]["value"]
    assert ids(await search(seeded_client, "Patient", identifier=f"{MRN_SYSTEM}|{mrn}")) == [
        patient["id"]
    ]
    assert ids(await search(seeded_client, "Patient", identifier=mrn)) == [patient["id"]]
    assert ids(await search(seeded_client, "Patient", identifier=f"urn:other|{mrn}")) == []
    assert (
        ids(await search(seeded_client, "Patient", identifier=f"|{mrn}")) == []
    )  # it has a system
    assert (await search(seeded_client, "Patient", identifier=f"{MRN_SYSTEM}|"))["total"] == 12


async def test_practitioner_by_npi(seeded_client, seed_bundle):
    practitioner = of_type(seed_bundle, "Practitioner")[0]
    npi = practitioner["identifier"][0]["value"]
    bundle = await search(
        seeded_client, "Practitioner", identifier=f"http://hl7.org/fhir/sid/us-npi|{npi}"
    )
    assert ids(bundle) == [practitioner["id"]]


async def test_repeated_parameters_are_and(seeded_client, seed_bundle):
    encounters = of_type(seed_bundle, "Encounter")
    target = next(e for e in encounters if e["status"] == "finished")
    expected = {
        e["id"]
        for e in encounters
        if e["status"] == "finished" and e["subject"] == target["subject"]
    }
    response = await seeded_client.get(
        "Encounter", params=[("status", "finished"), ("patient", target["subject"]["reference"])]
    )
    assert set(ids(response.json())) == expected


@pytest.mark.parametrize(
    "value",
    [
        "' OR '1'='1",
        "pat-0001'; DROP TABLE resources; --",
        '"); DELETE FROM resources; --',
        "%",
        "_",
        "\\",
        "a|b|c",
        ",,,",
    ],
)
async def test_sql_metacharacters_are_plain_values(seeded_client, value):
    for params in ({"_id": value}, {"patient": value}, {"identifier": value}, {"status": value}):
        bundle = await search(seeded_client, "Encounter", **params)
        assert bundle["total"] == 0, params
    assert (await search(seeded_client, "Patient"))["total"] == 12


async def test_unknown_parameters_are_ignored_and_reported(seeded_client):
    bundle = await search(
        seeded_client, "Encounter", status="finished", _elements="id", colour="blue"
    )

    outcomes = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    issue = outcomes[0]["resource"]["issue"][0]
    assert issue["severity"] == "warning"
    assert set(issue["expression"]) == {"_elements", "colour"}
    assert bundle["link"][0]["url"] == f"{BASE}/Encounter?status=finished"  # only what was used


async def test_unknown_parameters_under_strict_handling_are_400(seeded_client, assert_outcome):
    response = await seeded_client.get(
        "Encounter", params={"colour": "blue"}, headers={"Prefer": "handling=strict"}
    )
    outcome = assert_outcome(response, 400)
    assert outcome["issue"][0]["expression"] == ["colour"]
    lenient = await seeded_client.get(
        "Encounter", params={"colour": "blue"}, headers={"Prefer": "handling=lenient"}
    )
    assert lenient.status_code == 200


async def test_unsupported_modifier_is_400(seeded_client, assert_outcome):
    assert_outcome(await seeded_client.get("Encounter", params={"status:not": "finished"}), 400)
    assert_outcome(await seeded_client.get("Encounter", params={"patient:Group": "x"}), 400)


async def test_count_is_capped_and_validated(seeded_client, assert_outcome):
    bundle = await search(seeded_client, "Condition", _count="100000")
    assert len(ids(bundle)) == bundle["total"]
    assert parse_search("Condition", [("_count", "100000")], fhir_base=BASE).count == MAX_COUNT
    assert parse_search("Condition", [], fhir_base=BASE).count == DEFAULT_COUNT == 50
    counted = await search(seeded_client, "Condition", _count="0")
    assert counted["total"] > 0
    assert "entry" not in counted
    assert_outcome(await seeded_client.get("Condition", params={"_count": "-1"}), 400)
    assert_outcome(await seeded_client.get("Condition", params={"_count": "ten"}), 400)


async def test_a_cursor_the_server_did_not_issue_is_400(seeded_client, assert_outcome):
    assert_outcome(await seeded_client.get("Patient", params={"_cursor": "not-a-cursor!"}), 400)


def _plan(store: Store, resource_type: str, criterion: Any) -> str:
    return " | ".join(store.explain_search(resource_type, [criterion]))


def test_the_hot_searches_are_index_lookups(seeded_db: Path):
    with Store(seeded_db) as store:
        plans = {
            "Encounter?status": _plan(
                store, "Encounter", TokenCriterion("status", (TokenMatch(None, "finished"),))
            ),
            "Condition?encounter": _plan(
                store,
                "Condition",
                ReferenceCriterion("encounter", (ReferenceMatch("Encounter", "enc-0001-1"),)),
            ),
            "Procedure?encounter": _plan(
                store,
                "Procedure",
                ReferenceCriterion("encounter", (ReferenceMatch("Encounter", "enc-0001-1"),)),
            ),
            "Coverage?patient": _plan(
                store,
                "Coverage",
                ReferenceCriterion("patient", (ReferenceMatch(None, "pat-0001"),)),
            ),
            "Patient?_id": _plan(store, "Patient", IdCriterion(("pat-0001",))),
        }
    for name, plan in plans.items():
        assert "SCAN r" not in plan, (name, plan)
        assert "SCAN resources" not in plan, (name, plan)
        # r by an index on (type, id), or by seq (rowid) from an index table's lookup
        assert "SEARCH r USING INDEX" in plan or "SEARCH r USING INTEGER PRIMARY KEY" in plan, (
            name,
            plan,
        )
    for name in (
        "Encounter?status",
        "Condition?encounter",
        "Procedure?encounter",
        "Coverage?patient",
    ):
        assert "_lookup" in plans[name], (name, plans[name])
