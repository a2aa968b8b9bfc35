"""Bulk Data ``$export`` on the sandbox: kick-off, polling, manifest, files, filters, deletion."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from sandbox.seed import build_seed_bundle, seed_store

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def seeded(app):
    seed_store(app.state.store, patients=12)
    return app


async def kick_off(client, path="/$export", **params):
    answer = await client.get(path, params=params, headers=ASYNC)
    assert answer.status_code == 202, answer.text
    return answer.headers["Content-Location"]


async def finished(client, status_url):
    for _ in range(200):
        answer = await client.get(status_url)
        if answer.status_code != 202:
            return answer
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["X-Progress"]
        await asyncio.sleep(0.01)
    raise AssertionError("the export never finished")


async def lines_of(client, url):
    answer = await client.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+ndjson")
    return [orjson.loads(line) for line in answer.content.splitlines()]


def seeded_counts(patients=12):
    counts: dict[str, int] = {}
    for entry in build_seed_bundle(patients=patients)["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


async def test_a_system_export_holds_every_resource_once(seeded, client):
    status_url = await kick_off(client, _type="Encounter,Condition,Patient")
    first = await client.get(status_url)
    assert first.status_code in (200, 202)
    done = await finished(client, status_url)
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["requiresAccessToken"] is False
    assert manifest["request"].endswith("$export?_type=Encounter%2CCondition%2CPatient")
    assert manifest["error"] == []
    expected = seeded_counts()
    by_type = {item["type"]: item for item in manifest["output"]}
    assert set(by_type) == {"Encounter", "Condition", "Patient"}
    for kind, item in by_type.items():
        resources = await lines_of(client, item["url"])
        assert len(resources) == item["count"] == expected[kind]
        assert {r["resourceType"] for r in resources} == {kind}
        assert len({r["id"] for r in resources}) == len(resources)


async def test_since_type_filter_and_repeated_type(seeded, client):
    everything = (await finished(client, await kick_off(client, _type="Encounter"))).json()
    cutoff = everything["transactionTime"]
    encounter = (await client.get("/Encounter/enc-0001-1")).json()
    assert (
        await client.put("/Encounter/enc-0001-1", json=encounter | {"status": "cancelled"})
    ).status_code == 200
    later = (
        await finished(client, await kick_off(client, _type="Encounter", _since=cutoff))
    ).json()
    (only,) = later["output"]
    assert [r["id"] for r in await lines_of(client, only["url"])] == ["enc-0001-1"]
    answer = await client.get(
        "/$export",
        params=[("_type", "Encounter"), ("_type", "Patient"),
                ("_typeFilter", "Encounter?status=finished"),
                ("_typeFilter", "Encounter?class=IMP")],
        headers=ASYNC,
    )  # fmt: skip
    manifest = (await finished(client, answer.headers["Content-Location"])).json()
    by_type = {item["type"]: item for item in manifest["output"]}
    encounters = await lines_of(client, by_type["Encounter"]["url"])
    assert encounters
    assert all(e["status"] == "finished" or e["class"]["code"] == "IMP" for e in encounters)
    assert any(e["status"] != "finished" for e in encounters)  # the second filter, OR-ed
    assert by_type["Patient"]["count"] == 12


async def test_patient_and_group_exports_hold_their_patients_and_whom_they_name(seeded, client):
    group = {
        "resourceType": "Group", "id": "cohort", "type": "person", "actual": True,
        "member": [{"entity": {"reference": "Patient/pat-0002"}},
                   {"entity": {"reference": "Patient/nobody"}}],
    }  # fmt: skip
    assert (await client.put("/Group/cohort", json=group)).status_code == 201
    status_url = await kick_off(
        client, "/Group/cohort/$export", _type="Patient,Encounter,Coverage,Practitioner"
    )
    manifest = (await finished(client, status_url)).json()
    by_type = {item["type"]: await lines_of(client, item["url"]) for item in manifest["output"]}
    assert [p["id"] for p in by_type["Patient"]] == ["pat-0002"]
    assert {e["subject"]["reference"] for e in by_type["Encounter"]} == {"Patient/pat-0002"}
    assert by_type["Practitioner"]  # named by the encounters, in no compartment
    named = {p["individual"]["reference"] for e in by_type["Encounter"] for p in e["participant"]}
    assert {f"Practitioner/{p['id']}" for p in by_type["Practitioner"]} == named
    (error_file,) = manifest["error"]
    (outcome,) = await lines_of(client, error_file["url"])
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Patient/nobody" in orjson.dumps(outcome["issue"][0]).decode()
    everyone = (
        await finished(client, await kick_off(client, "/Patient/$export", _type="Patient"))
    ).json()
    assert everyone["output"][0]["count"] == 12


async def test_kick_off_errors_are_operation_outcomes(seeded, client):
    no_prefer = await client.get("/$export")
    assert no_prefer.status_code == 400
    assert no_prefer.json()["resourceType"] == "OperationOutcome"
    for params in ({"_type": "Nonsense"}, {"_since": "yesterday"}, {"_outputFormat": "text/csv"},
                   {"_typeFilter": "Encounter?bogus=1"},
                   {"_type": "Patient", "_typeFilter": "Encounter?status=x"},
                   {"patient": "Patient/1"}):  # fmt: skip
        answer = await client.get("/$export", params=params, headers=ASYNC)
        assert answer.status_code == 400, params
        assert answer.json()["issue"][0]["severity"] == "error"
    lenient = await client.get(
        "/$export", params={"includeAssociatedData": "x", "_type": "Patient"},
        headers={"Prefer": "respond-async, handling=lenient"},
    )  # fmt: skip
    assert lenient.status_code == 202
    missing = await client.get("/Group/none/$export", headers=ASYNC)
    assert missing.status_code == 404


async def test_a_deleted_job_is_gone_with_its_files(seeded, client, app):
    status_url = await kick_off(client, _type="Patient")
    manifest = (await finished(client, status_url)).json()
    url = manifest["output"][0]["url"]
    assert (await client.delete(status_url)).status_code == 202
    assert (await client.get(status_url)).status_code == 404
    assert (await client.get(url)).status_code == 404
    assert not any(app.state.exports.folder.iterdir())
    assert (await client.delete(status_url)).status_code == 404


async def test_files_are_served_in_ranges_for_resuming(seeded, client):
    manifest = (await finished(client, await kick_off(client, _type="Condition"))).json()
    url = manifest["output"][0]["url"]
    whole = (await client.get(url)).content
    tail = await client.get(url, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.content == whole[100:]


async def test_a_post_kick_off_takes_parameters(seeded, client):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Patient"},
        {"name": "_outputFormat", "valueString": "application/fhir+ndjson"}]}  # fmt: skip
    answer = await client.post("/$export", json=body, headers=ASYNC)
    assert answer.status_code == 202
    manifest = (await finished(client, answer.headers["Content-Location"])).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient"]


async def test_behind_authentication_every_step_needs_a_token_that_may_read_the_types(tmp_path):
    import httpx  # noqa: PLC0415

    from sandbox.app import create_app  # noqa: PLC0415
    from sandbox.auth import AuthConfig  # noqa: PLC0415

    auth = AuthConfig(bearer_tokens={"all": "system/*.rs", "pats": "system/Patient.rs"})
    app = create_app(tmp_path / "s.sqlite3", auth=auth)
    seed_store(app.state.store, patients=3)
    transport = httpx.ASGITransport(app=app)
    base = "http://sandbox.test/fhir"
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base) as anonymous:
            assert (await anonymous.get("/$export", headers=ASYNC)).status_code == 401
        pats = {**ASYNC, "Authorization": "Bearer pats"}
        async with httpx.AsyncClient(transport=transport, base_url=base, headers=pats) as client:
            refused = await client.get("/$export", params={"_type": "Encounter"})
            assert refused.status_code == 403
            manifest = (await finished(client, await kick_off(client))).json()
            assert manifest["requiresAccessToken"] is True
            assert [o["type"] for o in manifest["output"]] == ["Patient"]  # what it may read
            url = manifest["output"][0]["url"]
            assert len(await lines_of(client, url)) == 3
        async with httpx.AsyncClient(transport=transport, base_url=base) as anonymous:
            assert (await anonymous.get(url)).status_code == 401
    finally:
        app.state.store.close()
