"""References that name nothing: refused under handling=strict, reported otherwise."""

from __future__ import annotations

STRICT = {"Prefer": "handling=strict"}


def _encounter(subject: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": subject},
    }


async def test_strict_create_refuses_a_dangling_reference_and_lenient_stores_it(client):
    strict = await client.post("Encounter", json=_encounter("Patient/ghost"), headers=STRICT)
    lenient = await client.post("Encounter", json=_encounter("Patient/ghost"))
    await client.put("Patient/real", json={"resourceType": "Patient", "id": "real"})
    resolved = await client.post("Encounter", json=_encounter("Patient/real"), headers=STRICT)
    elsewhere = await client.post(
        "Encounter", json=_encounter("https://other.example/fhir/Patient/x"), headers=STRICT
    )

    assert strict.status_code == 422
    issue = strict.json()["issue"][0]
    assert issue["code"] == "not-found"
    assert issue["expression"] == ["Encounter.subject"]
    assert lenient.status_code == 201
    assert resolved.status_code == 201
    assert elsewhere.status_code == 201


async def test_transactions_check_after_all_their_writes(client):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": _encounter("Patient/p9"),
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "p9"},
                "request": {"method": "PUT", "url": "Patient/p9"},
            },
            {
                "resource": _encounter("Patient/ghost"),
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    }

    strict = await client.post("", json=bundle, headers=STRICT)
    nothing = await client.get("Patient/p9")
    lenient = await client.post("", json=bundle)

    assert strict.status_code == 422
    assert "entry[2]" in strict.json()["issue"][0]["expression"][0]
    assert nothing.status_code == 404
    assert lenient.status_code == 200
    entries = lenient.json()["entry"]
    assert "outcome" not in entries[0]["response"]
    warning = entries[2]["response"]["outcome"]["issue"][0]
    assert warning["severity"] == "warning"
    assert "Patient/ghost" in warning["details"]["text"]
