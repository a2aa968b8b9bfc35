"""Transaction and batch Bundles: placeholders, all-or-nothing, per-entry answers."""

from __future__ import annotations

from typing import Any

BASE = "http://sandbox.test/fhir"
PATIENT_UUID = "urn:uuid:8d3c2f4e-1b7a-4f7e-9a51-3f2a6f0c9b10"
ENCOUNTER_UUID = "urn:uuid:1f0d7a52-7d1c-4c4f-8d0b-4b3e6f0a2c11"


def encounter(subject: str, status: str = "finished") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": subject},
    }


def new_visit_transaction() -> dict[str, Any]:
    """A new patient, their encounter and a diagnosis, linked by urn:uuid placeholders."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": ENCOUNTER_UUID,
                "resource": encounter(PATIENT_UUID)
                | {
                    "diagnosis": [
                        {
                            "condition": {
                                "reference": "urn:uuid:5a8e9f7b-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
                            },
                            "rank": 1,
                        }
                    ]
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "fullUrl": PATIENT_UUID,
                "resource": {"resourceType": "Patient", "name": [{"family": "Haddad"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:5a8e9f7b-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                "resource": {
                    "resourceType": "Condition",
                    "id": "cond-1",
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]
                    },
                    "subject": {"reference": PATIENT_UUID},
                    "encounter": {"reference": ENCOUNTER_UUID},
                },
                "request": {"method": "PUT", "url": "Condition/cond-1"},
            },
        ],
    }


async def test_transaction_rewrites_placeholders_everywhere(client):
    response = await client.post("", json=new_visit_transaction())

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    result = response.json()
    assert result["type"] == "transaction-response"
    encounter_entry, patient_entry, condition_entry = result["entry"]
    patient_id = patient_entry["resource"]["id"]
    encounter_id = encounter_entry["resource"]["id"]
    assert patient_entry["response"]["status"] == "201 Created"
    assert patient_entry["response"]["location"] == f"{BASE}/Patient/{patient_id}/_history/1"
    assert patient_entry["response"]["etag"] == 'W/"1"'
    assert condition_entry["response"]["location"] == f"{BASE}/Condition/cond-1/_history/1"

    stored_encounter = (await client.get(f"Encounter/{encounter_id}")).json()
    assert stored_encounter["subject"]["reference"] == f"Patient/{patient_id}"
    assert stored_encounter["diagnosis"][0]["condition"]["reference"] == "Condition/cond-1"
    stored_condition = (await client.get("Condition/cond-1")).json()
    assert stored_condition["subject"]["reference"] == f"Patient/{patient_id}"
    assert stored_condition["encounter"]["reference"] == f"Encounter/{encounter_id}"
    by_encounter = (
        await client.get("Condition", params={"encounter": f"Encounter/{encounter_id}"})
    ).json()
    assert by_encounter["total"] == 1


async def test_transaction_with_one_invalid_entry_writes_nothing(client, store, assert_outcome):
    await client.put("Patient/existing", json={"resourceType": "Patient", "id": "existing"})
    bundle = new_visit_transaction()
    bundle["entry"].append(
        {
            "resource": {"resourceType": "Patient", "id": "existing", "birthDate": "not-a-date"},
            "request": {"method": "PUT", "url": "Patient/existing"},
        }
    )
    before = store.resource_count()

    outcome = assert_outcome(await client.post("", json=bundle), 422)

    assert outcome["issue"][0]["expression"] == ["Bundle.entry[3].resource.birthDate"]
    assert store.resource_count() == before
    assert (await client.get("Patient/existing")).json()["meta"]["versionId"] == "1"
    assert (await client.get("Condition/cond-1")).status_code == 404


async def test_transaction_failing_while_writing_rolls_back(client, store, assert_outcome):
    await client.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": encounter("Patient/p1"),
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "p1", "active": True},
                "request": {"method": "PUT", "url": "Patient/p1", "ifMatch": 'W/"7"'},
            },
        ],
    }

    assert_outcome(await client.post("", json=bundle), 412)

    assert (await client.get("Encounter")).json()["total"] == 0
    assert store.resource_count() == 1


async def test_transaction_get_entries_read_and_search_after_the_writes(client):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": "Encounter?patient=Patient/p1"}},
            {"request": {"method": "GET", "url": "Patient/p1"}},
            {
                "resource": {"resourceType": "Patient", "id": "p1"},
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "resource": encounter("Patient/p1"),
                "request": {"method": "POST", "url": f"{BASE}/Encounter"},
            },
        ],
    }

    result = (await client.post("", json=bundle)).json()

    searched, read, put, posted = result["entry"]
    assert searched["resource"]["total"] == 1
    assert read["resource"]["id"] == "p1"
    assert read["response"]["status"] == "200 OK"
    assert put["response"]["status"] == "201 Created"
    assert posted["response"]["status"] == "201 Created"


async def test_transaction_refuses_what_it_cannot_do_faithfully(client, store, assert_outcome):
    cases = [
        {"request": {"method": "DELETE", "url": "Patient?identifier=x|1"}},
        {"request": {"method": "PATCH", "url": "Patient/p1"}},
        {
            "resource": {"resourceType": "Patient"},
            "request": {"method": "PUT", "url": "Patient?identifier=x|1"},
        },
        {
            "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "http://elsewhere.test/fhir/Patient"},
        },
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST"}},
        {
            "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "Frobnicator"},
        },
        {
            "resource": encounter("urn:uuid:0e1d7b5e-0000-4000-8000-000000000000"),
            "request": {"method": "POST", "url": "Encounter"},
        },
        {
            "resource": {"resourceType": "Encounter"},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {"resourceType": "Patient", "id": "p2"},
            "request": {"method": "PUT", "url": "Patient/p1"},
        },
        {"request": {"method": "POST", "url": "Patient"}},
        "not an entry",
    ]
    for case in cases:
        response = await client.post(
            "", json={"resourceType": "Bundle", "type": "transaction", "entry": [case]}
        )
        assert response.status_code in {400, 404}, (case, response.text)
        assert_outcome(response, response.status_code)
    assert store.resource_count() == 0


async def test_transaction_writing_one_resource_twice_is_400(client, assert_outcome):
    entry = {
        "resource": {"resourceType": "Patient", "id": "p1"},
        "request": {"method": "PUT", "url": "Patient/p1"},
    }
    assert_outcome(
        await client.post(
            "", json={"resourceType": "Bundle", "type": "transaction", "entry": [entry, entry]}
        ),
        400,
    )


async def test_batch_answers_each_entry_on_its_own(client):
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "p1"},
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "resource": {"resourceType": "Patient", "gender": 3},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient/missing"}},
            {"request": {"method": "GET", "url": "Patient/p1"}},
        ],
    }

    response = await client.post("", json=bundle)

    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [entry["response"]["status"] for entry in result["entry"]]
    assert statuses == ["201 Created", "422 Unprocessable Entity", "404 Not Found", "200 OK"]
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert result["entry"][1]["response"]["outcome"]["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.gender"
    ]
    assert (await client.get("Patient/p1")).status_code == 200


async def test_an_empty_transaction_is_an_empty_response(client):
    result = (await client.post("", json={"resourceType": "Bundle", "type": "transaction"})).json()
    assert result["type"] == "transaction-response"
    assert "entry" not in result
