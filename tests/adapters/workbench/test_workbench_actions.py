"""What a coder does to an item, over HTTP (ASGI): each action, its checks, and who may do it."""

import re

from adapters.jobs.work_items import WorkItemDraft
from adapters.workbench.app import create_workbench

from .conftest import client_for, csrf_of, revision_of, sign_in

SOURCE = "Condition/enc-e03-dx1"
HX = {"HX-Request": "true"}


async def _open(client, item_id):
    page = await client.get(f"/items/{item_id}")
    assert page.status_code == 200, page.text
    return csrf_of(page.text), revision_of(page.text)


async def _act(client, item_id, csrf, revision, **form):
    return await client.post(
        f"/items/{item_id}/act", data={"csrf": csrf, "revision": revision, **form}, headers=HX
    )


def _codes(html, kind):
    table = re.search(rf'<table class="lines" id="lines-{kind}">(.*?)</table>', html, re.DOTALL)
    assert table, html
    return re.findall(r'<span class="code">([^<]+)</span>', table.group(1))


async def test_add_edit_reorder_and_remove_lines_each_rescrubbed(workbench_app, held_bench):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, revision = await _open(client, item.id)
        added = await _act(client, item.id, csrf, revision, action="add", code="E039")
        assert added.status_code == 200, added.text
        revision = revision_of(added.text)
        added = await _act(client, item.id, csrf, revision, action="add", code="R5383")
        revision = revision_of(added.text)
        assert _codes(added.text, "diagnoses") == ["E03.9", "R53.83"]
        moved = await _act(
            client, item.id, csrf, revision, action="move", kind="diagnoses", index="1", to="up"
        )
        assert _codes(moved.text, "diagnoses") == ["R53.83", "E03.9"]
        revision = revision_of(moved.text)
        edited = await _act(
            client, item.id, csrf, revision, action="edit", kind="procedures", index="0",
            code="99214", modifiers="25", units="1", pointers="2",
        )  # fmt: skip
        assert edited.status_code == 200, edited.text
        assert "99214" in _codes(edited.text, "procedures")
        assert "points at: E039" in edited.text
        assert "mod 25" in edited.text
        revision = revision_of(edited.text)
        removed = await _act(
            client, item.id, csrf, revision, action="remove", kind="diagnoses", index="0"
        )
        assert _codes(removed.text, "diagnoses") == ["E03.9"]
    actions = [e.action for e in held_bench.ledger.work.events(item.id)]
    assert actions[-5:] == ["add", "add", "move", "edit", "remove"]
    edit = held_bench.ledger.work.events(item.id, action="edit")[0]
    assert edit.detail == {"kind": "procedures", "from": "99213", "code": "99214",
                           "modifiers": ["25"], "units": 1}  # fmt: skip


async def test_a_header_an_unknown_code_and_bad_units_are_refused_with_the_reason(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, revision = await _open(client, item.id)
        header = await _act(client, item.id, csrf, revision, action="add", code="E03")
        assert header.status_code == 422
        assert "E03 is a header, not a billable code: choose one below it (E03.0" in header.text
        unknown = await _act(client, item.id, csrf, revision, action="add", code="E03.99")
        assert "is not a valid code on 2025-11-04" in unknown.text
        units = await _act(
            client, item.id, csrf, revision, action="edit", kind="procedures", index="0",
            units="many",
        )  # fmt: skip
        assert "units are a whole number" in units.text
    assert held_bench.ledger.work.get(item.id).work is None  # nothing was saved


async def test_a_rejected_suggestion_leaves_the_list_and_counts_as_rejected(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, revision = await _open(client, item.id)
        assert "Accept E03.3 for" in (await client.get(f"/items/{item.id}")).text
        rejected = await _act(
            client, item.id, csrf, revision, action="reject", source=SOURCE, code="E033"
        )
        assert rejected.status_code == 200
        assert "Accept E03.3 for" not in rejected.text
        assert "Accept E03.9 for" in rejected.text
        dashboard = await client.get("/dashboard")
    assert "Rejected (rejected or removed)</th><td>1<" in dashboard.text


async def test_code_search_finds_by_words_and_by_code(workbench_app, held_bench):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        words = await client.get("/codes", params={"q": "hypothyroidism", "item": item.id})
        assert 'data-code="E039"' in words.text
        assert 'role="listbox"' in words.text
        code = await client.get("/codes", params={"q": "E03", "item": item.id})
        assert "(header)" in code.text
        assert 'data-code="E038"' in code.text
        pcs = await client.get("/codes", params={"q": "thyroid", "system": "pcs"})
        assert pcs.status_code == 200


async def test_querying_the_provider_writes_a_non_leading_task(workbench_app, held_bench):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, _ = await _open(client, item.id)
        sent = await client.post(
            f"/items/{item.id}/query",
            data={
                "csrf": csrf,
                "question": "Can the hypothyroidism be further specified?",
                "indicators": "Observation/enc-e03-tsh: TSH 8.1 mIU/L\nCondition/enc-e03-dx1",
                "options": "Primary hypothyroidism\nPostinfectious hypothyroidism",
            },
            headers=HX,
        )
        assert sent.status_code == 200, sent.text
        assert "Query sent to the provider" in sent.text
    tasks = [t async for t in held_bench.fhir.search("Task", {"encounter": "Encounter/enc-e03"})]
    query = next(t for t in tasks if t["code"]["coding"][0]["code"] == "cdi-query")
    assert query["owner"] == {"reference": "Practitioner/prac-01"}
    answers = [i["valueString"] for i in query["input"] if i["type"]["text"] == "answer option"]
    assert answers[-2:] == ["Other (please specify)", "Unable to determine"]
    assert query["requester"]["identifier"]["value"] == "ada"


async def test_an_auditor_reads_but_every_change_is_refused(workbench_app, held_bench):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        csrf = await sign_in(client, "aud")
        page = await client.get(f"/items/{item.id}")
        assert page.status_code == 200
        assert "Accept E03.9" not in page.text  # no action is offered
        refused = await _act(
            client, item.id, csrf, str(item.revision), action="accept", source=SOURCE,
            code="E039",
        )  # fmt: skip
        assert refused.status_code == 403
        assert "auditors read" in refused.text
    assert held_bench.ledger.work.get(item.id).locked_by == ""  # reading takes no lock


async def test_a_form_without_the_sessions_csrf_token_or_from_another_site_is_refused(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        _, revision = await _open(client, item.id)
        forged = await client.post(
            f"/items/{item.id}/act",
            data={"csrf": "forged", "revision": revision, "action": "add", "code": "E039"},
        )
        assert forged.status_code == 403
        assert "security token" in forged.text
        other = await client.post(
            f"/items/{item.id}/act",
            data={"revision": revision, "action": "add", "code": "E039"},
            headers={"Origin": "https://evil.example"},
        )
        assert other.status_code == 403
    assert held_bench.ledger.work.get(item.id).work is None


async def test_a_session_ends_when_idle_and_five_wrong_passwords_lock_the_name(held_bench):
    app = create_workbench(held_bench)
    async with client_for(app) as client:
        await sign_in(client, "ada")
        for session in held_bench.sessions._sessions.values():
            session.seen -= held_bench.sessions.idle + 1  # half an hour without a request
        assert (await client.get("/")).status_code == 303  # back to the sign-in page
        for _ in range(5):
            await client.post("/login", data={"user": "bob", "password": "wrong"})
        locked = await client.post("/login", data={"user": "bob", "password": "bob-password-1"})
        assert locked.status_code == 401
        assert "Too many failed sign-ins" in locked.text


async def test_no_patient_data_reaches_the_logs(workbench_app, held_bench, caplog):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, revision = await _open(client, item.id)
        await _act(client, item.id, csrf, revision, action="accept", source=SOURCE, code="E039")
    logged = caplog.text
    for private in ("pat-0003", "enc-e03", "Hypothyroidism", "levothyroxine", "ada-password"):
        assert private not in logged


async def test_a_line_shows_the_guideline_rules_that_made_it(workbench_app, held_bench):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    combined = {
        "system": "http://hl7.org/fhir/sid/icd-10-cm",
        "code": "E1122",
        "display": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
        "source": {"reference": "Condition/enc-e03-dx1"},
        "source_coding": None,
        "method": "crosswalk",
        "confidence": 1.0,
        "release": "ICD-10-CM FY2026",
        "changes": [
            {"rule": "WITH-E11-N18", "citation": "I.A.15 'with'", "replaced": ["E11.9", "N18.9"]}
        ],
    }
    held_bench.ledger.work.record(
        WorkItemDraft(
            source=item.source,
            encounter_id=item.encounter_id,
            version=item.version,
            kind=item.kind,
            reasons=item.reasons,
            payload={**item.payload, "diagnoses": [combined]},
        )
    )
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        page = await client.get(f"/items/{item.id}")
    assert "guideline: WITH-E11-N18 [I.A.15 &#39;with&#39;] replaced E11.9, N18.9" in page.text


async def test_a_denial_shows_the_payers_codes_with_or_without_the_encounter(
    workbench_app, held_bench
):
    detail = {
        "claim": "fc-1",
        "status": "denied",
        "queues": ["coding"],
        "lines": [{"line": 1, "group": "CO", "carc": "11", "rarc": ["N657"], "queue": "coding",
                   "sent": {"code": "99213", "modifiers": []}}],
    }  # fmt: skip
    with_encounter = held_bench.ledger.work.record_denial(
        "sb", "enc-e03", claim_id="fc-1", reasons=["CARC:11", "RARC:N657"], detail=detail
    )
    bare = held_bench.ledger.work.record_denial(
        "sb", "enc-elsewhere", claim_id="fc-2", reasons=["CARC:16"], detail={"claim": "fc-2"}
    )
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        listed = await client.get("/", params={"reason": "denial"})
        assert "enc-elsewhere" in listed.text
        assert "Denied by payer" in listed.text
        page = await client.get(f"/items/{with_encounter.id}")
        assert "Denied by the payer" in page.text
        assert "CO-11" in page.text
        assert "N657" in page.text
        assert "Accept E03.9" in page.text  # and the encounter can be worked
        alone = await client.get(f"/items/{bare.id}")
        assert alone.status_code == 200
        assert "came without the encounter as coded" in alone.text


async def test_without_htmx_an_action_redirects_and_says_once_what_it_did(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        await sign_in(client, "ada")
        csrf, revision = await _open(client, item.id)
        done = await client.post(
            f"/items/{item.id}/act",
            data={"csrf": csrf, "revision": revision, "action": "accept", "source": SOURCE,
                  "code": "E039"},
        )  # fmt: skip
        assert done.status_code == 303
        assert "Accepted E039" in (await client.get(f"/items/{item.id}")).text
        assert "Accepted E039" not in (await client.get(f"/items/{item.id}")).text


async def test_an_oversized_or_multipart_form_is_refused_before_it_is_read(
    workbench_app, held_bench
):
    item = held_bench.ledger.work.find("sb", "enc-e03")
    async with client_for(workbench_app) as client:
        csrf = await sign_in(client, "ada")
        huge = await client.post(f"/items/{item.id}/act", data={"csrf": csrf, "code": "x" * 70_000})
        assert huge.status_code == 413
        multipart = await client.post(
            f"/items/{item.id}/act", data={"csrf": csrf}, files={"f": ("a.txt", b"a")}
        )
        assert multipart.status_code == 415
