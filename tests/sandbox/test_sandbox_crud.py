"""Create, read, vread and update over HTTP: status codes, headers, versions."""

from __future__ import annotations

import httpx
import pytest

from sandbox import operations

BASE = "http://sandbox.test/fhir"
FHIR_JSON = "application/fhir+json"

DIABETIC_PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:fhir-coder:sandbox:mrn", "value": "E0000001"}],
    "name": [{"family": "Okafor", "given": ["Grace"]}],
    "gender": "female",
    "birthDate": "1961-04-02",
}


async def test_create_returns_201_with_location_etag_and_server_meta(client: httpx.AsyncClient):
    body = DIABETIC_PATIENT | {"id": "client-chosen", "meta": {"versionId": "99"}}
    response = await client.post("Patient", json=body)

    assert response.status_code == 201
    assert response.headers["content-type"] == FHIR_JSON
    created = response.json()
    assert created["id"] != "client-chosen"  # create ignores a client id
    assert created["meta"]["versionId"] == "1"
    assert created["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"{BASE}/Patient/{created['id']}/_history/1"
    assert response.headers["last-modified"].endswith("GMT")
    assert created["name"] == DIABETIC_PATIENT["name"]


async def test_read_returns_the_stored_resource_with_etag(client: httpx.AsyncClient):
    created = (await client.post("Patient", json=DIABETIC_PATIENT)).json()

    response = await client.get(f"Patient/{created['id']}")

    assert response.status_code == 200
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["etag"] == 'W/"1"'
    assert "last-modified" in response.headers
    assert response.json() == created


async def test_update_increments_version_and_keeps_history(client: httpx.AsyncClient):
    created = (await client.post("Patient", json=DIABETIC_PATIENT)).json()
    changed = created | {"gender": "unknown"}

    first = await client.put(f"Patient/{created['id']}", json=changed)
    second = await client.put(f"Patient/{created['id']}", json=changed | {"active": True})

    assert first.status_code == 200
    assert first.json()["meta"]["versionId"] == "2"
    assert first.headers["etag"] == 'W/"2"'
    assert second.json()["meta"]["versionId"] == "3"
    assert second.json()["meta"]["lastUpdated"] >= first.json()["meta"]["lastUpdated"]
    version_one = await client.get(f"Patient/{created['id']}/_history/1")
    assert version_one.status_code == 200
    assert version_one.json()["gender"] == "female"
    assert version_one.headers["etag"] == 'W/"1"'
    assert (await client.get(f"Patient/{created['id']}")).json()["active"] is True


async def test_update_as_create_keeps_the_client_id(client: httpx.AsyncClient):
    body = DIABETIC_PATIENT | {"id": "pat-chosen-by-client"}

    response = await client.put("Patient/pat-chosen-by-client", json=body)

    assert response.status_code == 201
    assert response.headers["location"] == f"{BASE}/Patient/pat-chosen-by-client/_history/1"
    assert response.headers["etag"] == 'W/"1"'
    assert response.json()["id"] == "pat-chosen-by-client"
    again = await client.put("Patient/pat-chosen-by-client", json=body)
    assert again.status_code == 200
    assert again.json()["meta"]["versionId"] == "2"


async def test_update_with_current_if_match_succeeds(client: httpx.AsyncClient):
    body = DIABETIC_PATIENT | {"id": "p1"}
    await client.put("Patient/p1", json=body)

    response = await client.put("Patient/p1", json=body, headers={"If-Match": 'W/"1"'})

    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"2"'


async def test_plain_json_and_fhir_json_bodies_are_both_accepted(client: httpx.AsyncClient):
    for content_type in ("application/json", FHIR_JSON, f"{FHIR_JSON}; charset=utf-8"):
        response = await client.post(
            "Patient",
            content=httpx.Response(200, json=DIABETIC_PATIENT).content,
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 201, content_type


async def test_any_r4_type_can_be_created_and_read(client: httpx.AsyncClient):
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
    }

    created = await client.post("Observation", json=observation)
    read = await client.get(f"Observation/{created.json()['id']}")

    assert created.status_code == 201
    assert read.json()["code"] == observation["code"]


async def test_claim_provenance_and_task_are_written_and_searchable(client: httpx.AsyncClient):
    claim = {
        "resourceType": "Claim",
        "id": "claim-1",
        "status": "draft",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": "Patient/p1"},
        "created": "2026-01-05",
        "provider": {"reference": "Organization/org-hospital"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "item": [
            {
                "sequence": 1,
                "productOrService": {
                    "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]
                },
                "encounter": [{"reference": "Encounter/e1"}],
            }
        ],
    }
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": "Claim/claim-1"}, {"reference": "Patient/p1"}],
        "recorded": "2026-01-05T10:00:00Z",
        "agent": [{"who": {"display": "fhir-coder"}}],
    }
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
    }

    assert (await client.put("Claim/claim-1", json=claim)).status_code == 201
    assert (await client.post("Provenance", json=provenance)).status_code == 201
    assert (await client.post("Task", json=task)).status_code == 201

    by_encounter = (await client.get("Claim", params={"encounter": "Encounter/e1"})).json()
    assert by_encounter["total"] == 1
    assert (await client.get("Provenance", params={"patient": "p1"})).json()["total"] == 1
    tasks = (
        await client.get("Task", params={"subject": "Patient/p1", "status": "requested"})
    ).json()
    assert tasks["total"] == 1


async def test_writing_back_what_was_read_is_not_validated_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    created = (await client.post("Patient", json={"resourceType": "Patient"})).json()
    read = (await client.get(f"Patient/{created['id']}")).json()
    validated: list[object] = []
    real = operations.resource_issues

    def counting(resource: dict[str, object], **kwargs: str) -> list[object]:
        validated.append(resource)
        return list(real(resource, **kwargs))  # type: ignore[arg-type]

    monkeypatch.setattr(operations, "resource_issues", counting)
    unchanged = await client.put(f"Patient/{created['id']}", json=read)
    changed = await client.put(f"Patient/{created['id']}", json={**read, "birthDate": "x"})

    assert unchanged.status_code == 200
    assert unchanged.json()["meta"]["versionId"] == "2"  # still a new version
    assert changed.status_code == 422  # a changed body is validated as always
    assert len(validated) == 1
