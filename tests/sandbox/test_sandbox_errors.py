"""Every error is an OperationOutcome with the right status and readable words."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox.app import create_app

PATIENT = {"resourceType": "Patient", "name": [{"family": "Rossi"}]}


async def test_unknown_resource_is_404(client, assert_outcome):
    outcome = assert_outcome(await client.get("Patient/does-not-exist"), 404)
    assert outcome["issue"][0]["code"] == "not-found"


async def test_unknown_version_is_404(client, assert_outcome):
    await client.put("Patient/p1", json=PATIENT | {"id": "p1"})
    assert_outcome(await client.get("Patient/p1/_history/2"), 404)
    assert_outcome(await client.get("Patient/p1/_history/one"), 404)


async def test_unknown_type_is_404_on_every_interaction(client, assert_outcome):
    assert_outcome(await client.get("Frobnicator/1"), 404)
    assert_outcome(await client.get("Frobnicator"), 404)
    assert_outcome(await client.post("Frobnicator", json={"resourceType": "Frobnicator"}), 404)
    assert_outcome(await client.put("Frobnicator/1", json={"resourceType": "Frobnicator"}), 404)
    # R4B-only and message types are not stored resources of this R4 server
    assert_outcome(await client.get("SubscriptionTopic"), 404)
    assert_outcome(
        await client.post("OperationOutcome", json={"resourceType": "OperationOutcome"}), 404
    )


async def test_unknown_route_and_method_are_outcomes(client, assert_outcome):
    outcome = assert_outcome(await client.get("Patient/1/extra/path/segments"), 404)
    assert "No FHIR route" in outcome["issue"][0]["details"]["text"]
    assert_outcome(await client.get("http://sandbox.test/not-fhir"), 404)
    outcome = assert_outcome(await client.patch("Patient/1"), 405)
    assert outcome["issue"][0]["code"] == "not-supported"


async def test_malformed_json_is_400(client, assert_outcome):
    response = await client.post(
        "Patient",
        content=b'{"resourceType": "Patient",',
        headers={"Content-Type": "application/fhir+json"},
    )
    outcome = assert_outcome(response, 400)
    assert "not valid JSON" in outcome["issue"][0]["details"]["text"]


async def test_json_that_is_not_a_resource_is_400(client, assert_outcome):
    assert_outcome(await client.post("Patient", json=[PATIENT]), 400)
    assert_outcome(await client.post("Patient", json={"name": "no resourceType"}), 400)


async def test_resource_type_that_differs_from_the_url_is_400(client, assert_outcome):
    outcome = assert_outcome(await client.post("Encounter", json=PATIENT), 400)
    assert outcome["issue"][0]["expression"] == ["Encounter.resourceType"]
    assert_outcome(await client.put("Encounter/e1", json=PATIENT | {"id": "e1"}), 400)


async def test_put_with_a_different_or_missing_id_is_400(client, assert_outcome):
    outcome = assert_outcome(await client.put("Patient/p1", json=PATIENT | {"id": "p2"}), 400)
    assert outcome["issue"][0]["expression"] == ["Patient.id"]
    assert_outcome(await client.put("Patient/p1", json=PATIENT), 400)


async def test_put_with_an_id_fhir_does_not_allow_is_400(client, assert_outcome):
    assert_outcome(await client.put("Patient/bad_id", json=PATIENT | {"id": "bad_id"}), 400)


async def test_invalid_r4_resource_is_422_with_the_element_path(client, assert_outcome, store):
    bad = {
        "resourceType": "Patient",
        "name": [{"family": "Ito", "given": [42]}],
        "birthDate": "1980-13-45",
        "favouriteColour": "blue",
    }

    outcome = assert_outcome(await client.post("Patient", json=bad), 422)

    expressions = {issue["expression"][0] for issue in outcome["issue"]}
    assert {
        "Patient.name[0].given[0]",
        "Patient.birthDate",
        "Patient.favouriteColour",
    } <= expressions
    assert store.resource_count() == 0


async def test_r5_shaped_encounter_is_rejected_as_r4(client, assert_outcome):
    r5_encounter = {
        "resourceType": "Encounter",
        "status": "completed",
        "class": [{"coding": [{"code": "AMB"}]}],
        "actualPeriod": {"start": "2026-01-01"},
    }
    outcome = assert_outcome(await client.post("Encounter", json=r5_encounter), 422)
    assert any(issue["expression"] == ["Encounter.actualPeriod"] for issue in outcome["issue"])


async def test_body_over_the_limit_is_413(tmp_path: Path, assert_outcome):
    app = create_app(tmp_path / "small.sqlite3", max_body_bytes=1_000)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test/fhir") as http:
        big = PATIENT | {"text": {"status": "generated", "div": "<div>" + "x" * 2_000 + "</div>"}}
        assert_outcome(await http.post("Patient", json=big), 413)

        async def chunks():
            for _ in range(3):
                yield b" " * 600  # no Content-Length: the limit holds while streaming

        assert_outcome(
            await http.post(
                "Patient", content=chunks(), headers={"Content-Type": "application/fhir+json"}
            ),
            413,
        )
        assert (await http.post("Patient", json=PATIENT)).status_code == 201
    app.state.store.close()


async def test_non_json_content_type_is_415(client, assert_outcome):
    response = await client.post(
        "Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert_outcome(response, 415)


async def test_stale_if_match_is_412_and_changes_nothing(client, assert_outcome):
    await client.put("Patient/p1", json=PATIENT | {"id": "p1"})
    await client.put("Patient/p1", json=PATIENT | {"id": "p1", "gender": "male"})

    stale = await client.put(
        "Patient/p1", json=PATIENT | {"id": "p1"}, headers={"If-Match": 'W/"1"'}
    )

    assert_outcome(stale, 412)
    assert (await client.get("Patient/p1")).json()["meta"]["versionId"] == "2"
    assert_outcome(
        await client.put("Patient/p1", json=PATIENT | {"id": "p1"}, headers={"If-Match": "two"}),
        400,
    )


async def test_bundle_endpoint_takes_only_transaction_or_batch(client, assert_outcome):
    assert_outcome(
        await client.post("", json={"resourceType": "Bundle", "type": "collection"}), 400
    )
    assert_outcome(await client.post("", json=PATIENT), 400)


async def test_unexpected_failure_is_a_500_outcome_without_details(
    app, monkeypatch, assert_outcome
):
    def broken(*_: object) -> None:
        raise RuntimeError("Grace Okafor, MRN E0000001")

    monkeypatch.setattr(app.state.store, "read", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test/fhir") as http:
        response = await http.get("Patient/p1")

    outcome = assert_outcome(response, 500)
    assert outcome["issue"][0]["code"] == "exception"
    assert "Okafor" not in response.text
