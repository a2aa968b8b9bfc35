"""Conditional create, delete and history on the sandbox itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from adapters.cli.sandbox_process import running_sandbox


def _patient() -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "same"}]}


async def test_twenty_concurrent_conditional_creates_leave_one(tmp_path: Path):
    with running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url:
        async with httpx.AsyncClient(base_url=base_url + "/") as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "Patient",
                        json=_patient(),
                        headers={"If-None-Exist": "identifier=urn:x|same"},
                    )
                    for _ in range(20)
                )
            )
            found = (await http.get("Patient", params={"identifier": "urn:x|same"})).json()

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert found["total"] == 1
    assert {r.json()["id"] for r in responses} == {found["entry"][0]["resource"]["id"]}


async def test_a_condition_matching_several_is_412(client):
    for _ in range(2):
        await client.post("Patient", json=_patient())

    response = await client.post(
        "Patient", json=_patient(), headers={"If-None-Exist": "identifier=urn:x|same"}
    )

    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_delete_keeps_history_and_an_update_recreates_with_the_next_version(client):
    await client.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})

    assert (await client.delete("Patient/p1")).status_code == 204
    assert (await client.get("Patient/p1")).status_code == 410
    assert (await client.delete("Patient/p1")).status_code == 204
    recreated = await client.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    history = (await client.get("Patient/p1/_history")).json()
    type_history = (await client.get("Patient/_history")).json()

    assert recreated.status_code == 201
    assert recreated.json()["meta"]["versionId"] == "3"
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "DELETE", "POST"]
    assert type_history["total"] == 3


async def test_history_of_an_unknown_resource_is_404(client):
    assert (await client.get("Patient/nobody/_history")).status_code == 404
