"""Transaction and batch Bundles, the same on both servers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.interop.conftest import FHIR_JSON, Server


def _post_bundle(server: Server, bundle: dict[str, Any]) -> Any:
    return server.http.post("", json=bundle, headers={"Content-Type": FHIR_JSON})


def _patient(tag: str, value: str = "1") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:test:{tag}", "value": value}],
        "name": [{"family": tag}],
    }


def _encounter(tag: str, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "identifier": [{"system": f"urn:test:{tag}", "value": "enc"}],
        "subject": {"reference": subject},
    }


def _type_and_id(location: str) -> str:
    return "/".join(location.split("/_history/", maxsplit=1)[0].split("/")[-2:])


def test_transaction_rewrites_urn_uuid_references(server: Server, tag: str):
    patient_url = f"urn:uuid:{uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid4()}",
                "resource": _encounter(tag, patient_url),
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "fullUrl": patient_url,
                "resource": _patient(tag),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }

    response = _post_bundle(server, bundle)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert all(status.startswith("201") for status in statuses)
    encounter_ref = _type_and_id(answer["entry"][0]["response"]["location"])
    patient_ref = _type_and_id(answer["entry"][1]["response"]["location"])
    encounter = server.http.get(encounter_ref).json()
    assert encounter["subject"]["reference"] == patient_ref


def test_transaction_with_an_invalid_entry_writes_nothing(server: Server, tag: str):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _patient(tag, "ok"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**_patient(tag, "bad"), "gender": 12},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }

    response = _post_bundle(server, bundle)

    assert response.status_code in {400, 422}
    assert response.json()["resourceType"] == "OperationOutcome"
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|"}).json()
    assert found.get("entry", []) == []


def test_transaction_conditional_create_reuses_the_match(server: Server, tag: str):
    existing = server.http.post("Patient", json=_patient(tag)).json()
    patient_url = f"urn:uuid:{uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": _patient(tag),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier=urn:test:{tag}|1",
                },
            },
            {
                "fullUrl": f"urn:uuid:{uuid4()}",
                "resource": _encounter(tag, patient_url),
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    }

    response = _post_bundle(server, bundle)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["entry"][0]["response"]["status"].startswith("200")
    encounter_ref = _type_and_id(answer["entry"][1]["response"]["location"])
    encounter = server.http.get(encounter_ref).json()
    assert encounter["subject"]["reference"] == f"Patient/{existing['id']}"
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|1"}).json()
    assert len(found["entry"]) == 1


def test_transaction_resolves_a_conditional_reference(server: Server, tag: str):
    existing = server.http.post("Patient", json=_patient(tag)).json()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid4()}",
                "resource": _encounter(tag, f"Patient?identifier=urn:test:{tag}|1"),
                "request": {"method": "POST", "url": "Encounter"},
            }
        ],
    }

    response = _post_bundle(server, bundle)

    assert response.status_code == 200, response.text
    encounter_ref = _type_and_id(response.json()["entry"][0]["response"]["location"])
    encounter = server.http.get(encounter_ref).json()
    assert encounter["subject"]["reference"] == f"Patient/{existing['id']}"


def test_batch_reports_each_entry_on_its_own(server: Server, tag: str):
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient(tag), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": f"Patient/{tag}-missing"}},
        ],
    }

    response = _post_bundle(server, bundle)

    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == "batch-response"
    assert answer["entry"][0]["response"]["status"].startswith("201")
    assert answer["entry"][1]["response"]["status"].startswith("404")
    found = server.http.get("Patient", params={"identifier": f"urn:test:{tag}|1"}).json()
    assert len(found["entry"]) == 1


def test_a_bundle_that_is_not_a_transaction_or_batch_is_refused(server: Server):
    response = _post_bundle(server, {"resourceType": "Bundle", "type": "collection"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
