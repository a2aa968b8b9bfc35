"""The workbench's pages and actions over HTTP (ASGI): sign-in, worklist, an encounter, release."""

import re

from fastapi import FastAPI

from adapters.jobs import WorkerSettings
from adapters.jobs.work_items import ItemState
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.workbench.mounting import mount_workbench
from tests.adapters.held_cases import put_header_encounter

from .conftest import client_for, csrf_of, revision_of, sign_in


async def test_signing_in_is_needed_and_a_wrong_password_is_refused(workbench_app):
    async with client_for(workbench_app) as client:
        answer = await client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
        wrong = await client.post("/login", data={"user": "ada", "password": "nope"})
        assert wrong.status_code == 401
        assert "user name or password is wrong" in wrong.text
        right = await client.post("/login", data={"user": "ada", "password": "ada-password-1"})
        assert right.status_code == 303
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie.replace("Strict", "strict")


async def test_the_worklist_shows_the_held_encounter_with_its_reasons_and_filters(
    workbench_app, held_bench
):
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        page = await client.get("/", params={"reason": "header-code"})
        assert page.status_code == 200
        assert "enc-e03" in page.text
        assert "Header code sent" in page.text
        assert "Server-Timing" in page.headers
        none = await client.get("/", params={"class": "IMP"})
        assert "No items match these filters" in none.text
        found = await client.get("/", params={"q": "Patient/pat-0003"})
        assert "enc-e03" in found.text


async def test_a_coder_accepts_the_suggestion_and_releases_the_claim_once_with_a_provenance(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        page = await client.get(f"/items/{item.id}")
        assert page.status_code == 200, page.text
        assert "E03.9" in page.text
        assert "<mark>" in page.text  # the matched words are marked
        assert "TSH</strong> 8.1 mIU/L (high)" in page.text  # the result, read live
        assert "start levothyroxine 50 mcg daily" in page.text  # the note, decoded
        csrf, revision = csrf_of(page.text), revision_of(page.text)
        accepted = await client.post(
            f"/items/{item.id}/act",
            data={
                "csrf": csrf,
                "revision": revision,
                "action": "accept",
                "source": "Condition/enc-e03-dx1",
                "code": "E039",
            },
            headers={"HX-Request": "true"},
        )
        assert accepted.status_code == 200, accepted.text
        assert "Accepted E039" in accepted.text
        assert "ICD10CM-NOT-BILLABLE" not in accepted.text
        # the visit's E/M level is the last thing to confirm
        revision = revision_of(accepted.text)
        line = re.search(
            r'value="confirm"><input type="hidden" name="kind" value="procedures">'
            r'<input type="hidden" name="index" value="(\d+)"',
            accepted.text,
        )
        assert line, accepted.text
        confirmed = await client.post(
            f"/items/{item.id}/act",
            data={
                "csrf": csrf,
                "revision": revision,
                "action": "confirm",
                "kind": "procedures",
                "index": line.group(1),
            },
            headers={"HX-Request": "true"},
        )
        assert confirmed.status_code == 200, confirmed.text
        assert "✖ blocks" not in confirmed.text
        assert 'aria-keyshortcuts="s">Release' in confirmed.text  # not aria-disabled
        released = await client.post(
            f"/items/{item.id}/release",
            data={"csrf": csrf, "revision": revision_of(confirmed.text)},
            headers={"HX-Request": "true"},
        )
        assert released.status_code == 204, released.text
    done = held_bench.ledger.work.get(item.id)
    assert done.state is ItemState.RELEASED
    assert done.closed_by == "ada"
    fhir = held_bench.fhir
    claims = [c async for c in fhir.search("Claim", {"encounter": "Encounter/enc-e03"})]
    assert len(claims) == 1
    claim = claims[0]
    assert claim["status"] == "active"
    codes = [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]]
    assert codes == ["E03.9"]
    provenance = [p async for p in fhir.search("Provenance", {"target": f"Claim/{claim['id']}"})]
    assert len(provenance) == 1
    authors = [a for a in provenance[0]["agent"] if a["type"]["coding"][0]["code"] == "author"]
    assert authors[0]["who"]["identifier"]["value"] == "ada"
    audits = [a async for a in fhir.search("AuditEvent", {})]
    actions = sorted(a["subtype"][0]["code"] for a in audits)
    assert actions == ["accept", "confirm", "opened", "released"]


async def test_mounted_in_another_app_the_links_follow_the_mount_point(held_bench, accounts_file):
    outer = FastAPI()
    pipeline = Pipeline(held_bench.fhir, held_bench.coding, writer=held_bench.writer)
    mount_workbench(outer, held_bench.ledger, pipeline, held_bench.fhir, accounts_file)
    async with client_for(outer) as client:
        assert (await client.get("/workbench/")).headers["location"].startswith("/workbench/login")
        login = await client.get("/workbench/login")
        assert 'action="/workbench/login"' in login.text
        assert 'src="/workbench/static/htmx-2.0.11.min.js"' in login.text
        assert (await client.get("/workbench/static/htmx-2.0.11.min.js")).status_code == 200
        signed = await client.post(
            "/workbench/login", data={"user": "ada", "password": "ada-password-1"}
        )
        assert signed.headers["location"] == "/workbench/"
        assert "Path=/workbench" in signed.headers["set-cookie"]
        assert "enc-e03" in (await client.get("/workbench/")).text


async def test_confirming_a_written_claims_line_releases_it_with_the_coder_named(
    workbench_app, held_bench
):
    """A Claim the engine wrote with a line to confirm: the coder confirms, the Claim says so."""
    version = await put_header_encounter(held_bench.fhir, "enc-billable", code="E03.9")
    held_bench.ledger.enqueue("sb", "enc-billable", version)
    pipeline = Pipeline(held_bench.fhir, held_bench.coding, writer=held_bench.writer)
    settings = WorkerSettings(concurrency=1, retry_base_seconds=0.01, max_attempts=3)
    await WorkerPool(held_bench.ledger, pipeline, "sb", settings).drain()
    item = held_bench.ledger.work.find("sb", "enc-billable")
    assert item.kind.value == "review"
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        page = await client.get(f"/items/{item.id}")
        csrf, revision = csrf_of(page.text), revision_of(page.text)
        confirmed = await client.post(
            f"/items/{item.id}/act",
            data={"csrf": csrf, "revision": revision, "action": "confirm",
                  "kind": "procedures", "index": "0"},
            headers={"HX-Request": "true"},
        )  # fmt: skip
        released = await client.post(
            f"/items/{item.id}/release",
            data={"csrf": csrf, "revision": revision_of(confirmed.text)},
            headers={"HX-Request": "true"},
        )
        assert released.status_code == 204, released.text
    claims = [
        c async for c in held_bench.fhir.search("Claim", {"encounter": "Encounter/enc-billable"})
    ]
    assert len(claims) == 1
    found = [p async for p in held_bench.fhir.search("Provenance", {})]
    mine = [p for p in found if {"reference": f"Claim/{claims[0]['id']}"} in p["target"]]
    people = [
        (a["type"]["coding"][0]["code"], a["who"]["identifier"]["value"])
        for p in mine
        for a in p["agent"]
        if a["who"].get("identifier", {}).get("value") != "fhir-coder"
    ]
    # the Claim said the same after the confirmation: written once, the coder its verifier
    assert people == [("verifier", "ada")]
    assert claims[0]["meta"]["versionId"] == "1"
