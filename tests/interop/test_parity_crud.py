"""Instance interactions, the same on both servers: create, read, update, delete, history."""

from __future__ import annotations

from typing import Any

from tests.interop.conftest import FHIR_JSON, Server


def _patient(tag: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:test:{tag}", "value": "1"}],
        "name": [{"family": tag, "given": ["Ada"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
        **extra,
    }


def _create(server: Server, resource: dict[str, Any]) -> dict[str, Any]:
    response = server.http.post(
        resource["resourceType"], json=resource, headers={"Content-Type": FHIR_JSON}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_answers_201_with_location_etag_and_the_stored_resource(server: Server, tag: str):
    response = server.http.post("Patient", json=_patient(tag), headers={"Content-Type": FHIR_JSON})

    assert response.status_code == 201
    body = response.json()
    version = body["meta"]["versionId"]
    assert response.headers["ETag"] == f'W/"{version}"'
    assert response.headers["Location"].endswith(f"Patient/{body['id']}/_history/{version}")
    assert "Last-Modified" in response.headers
    assert body["name"][0]["family"] == tag


def test_read_and_vread_give_the_stored_version(server: Server, tag: str):
    created = _create(server, _patient(tag))
    version = created["meta"]["versionId"]

    read = server.http.get(f"Patient/{created['id']}")
    vread = server.http.get(f"Patient/{created['id']}/_history/{version}")

    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["ETag"] == f'W/"{version}"'
    assert vread.status_code == 200
    assert vread.json() == created


def test_read_of_an_unknown_id_is_404_with_an_operation_outcome(server: Server, tag: str):
    response = server.http.get(f"Patient/{tag}")

    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_update_makes_a_new_version_and_keeps_the_old_one(server: Server, tag: str):
    created = _create(server, _patient(tag))
    changed = {**created, "gender": "male"}

    response = server.http.put(f"Patient/{created['id']}", json=changed)

    assert response.status_code == 200
    updated = response.json()
    assert updated["gender"] == "male"
    assert updated["meta"]["versionId"] != created["meta"]["versionId"]
    old = server.http.get(f"Patient/{created['id']}/_history/{created['meta']['versionId']}")
    assert old.json()["gender"] == "female"


def test_update_with_a_stale_if_match_is_412(server: Server, tag: str):
    created = _create(server, _patient(tag))
    stale = f'W/"{created["meta"]["versionId"]}"'
    first = server.http.put(
        f"Patient/{created['id']}", json={**created, "gender": "male"}, headers={"If-Match": stale}
    )
    assert first.status_code == 200

    second = server.http.put(
        f"Patient/{created['id']}", json={**created, "gender": "other"}, headers={"If-Match": stale}
    )

    assert second.status_code == 412
    assert second.json()["resourceType"] == "OperationOutcome"
    assert server.http.get(f"Patient/{created['id']}").json()["gender"] == "male"


def test_update_of_a_new_id_creates_it(server: Server, tag: str):
    response = server.http.put(f"Patient/{tag}", json=_patient(tag, id=tag))

    # Deliberate difference: FHIR says 201 Created; Medplum answers 200.
    assert response.status_code == (201 if server.is_sandbox else 200)
    assert response.json()["id"] == tag
    assert server.http.get(f"Patient/{tag}").status_code == 200


def test_update_whose_body_id_differs_from_the_url_is_400(server: Server, tag: str):
    response = server.http.put(f"Patient/{tag}", json=_patient(tag, id=f"{tag}-other"))

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_delete_then_read_is_gone(server: Server, tag: str):
    created = _create(server, _patient(tag))

    deleted = server.http.delete(f"Patient/{created['id']}")
    read = server.http.get(f"Patient/{created['id']}")

    assert deleted.status_code in {200, 204}
    # Deliberate difference: the sandbox says 410 Gone (FHIR's preferred answer), Medplum 404.
    assert read.status_code == (410 if server.is_sandbox else 404)
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|1"}).json()
    assert found.get("entry", []) == []


def test_instance_history_lists_versions_newest_first(server: Server, tag: str):
    created = _create(server, _patient(tag))
    server.http.put(f"Patient/{created['id']}", json={**created, "gender": "male"})

    history = server.http.get(f"Patient/{created['id']}/_history")

    assert history.status_code == 200
    bundle = history.json()
    assert bundle["type"] == "history"
    genders = [entry["resource"]["gender"] for entry in bundle["entry"]]
    assert genders == ["male", "female"]


def test_invalid_resource_is_refused_with_an_operation_outcome(server: Server, tag: str):
    response = server.http.post(
        "Patient", json={"resourceType": "Patient", "gender": 12, "name": [{"family": tag}]}
    )

    # Both refuse it; the sandbox says 422 (valid JSON, invalid FHIR), Medplum 400.
    assert response.status_code == (422 if server.is_sandbox else 400)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"


def test_body_of_the_wrong_type_is_refused(server: Server, tag: str):
    response = server.http.post("Patient", json={"resourceType": "Encounter", "status": "planned"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_malformed_json_is_400(server: Server):
    response = server.http.post(
        "Patient", content=b"{not json", headers={"Content-Type": FHIR_JSON}
    )

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_conditional_create_returns_the_existing_match(server: Server, tag: str):
    first = _create(server, _patient(tag))
    condition = {"If-None-Exist": f"identifier=urn:test:{tag}|1"}

    second = server.http.post("Patient", json=_patient(tag), headers=condition)

    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|1"}).json()
    assert len(found["entry"]) == 1


def test_conditional_update_updates_the_match_or_creates(server: Server, tag: str):
    query = f"Patient?identifier=urn:test:{tag}|1"
    created = server.http.put(query, json=_patient(tag))
    updated = server.http.put(query, json=_patient(tag, gender="male"))

    assert created.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["gender"] == "male"
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|1"}).json()
    assert len(found["entry"]) == 1
