"""The Bulk Data client against the real sandbox in process: export, resume, Retry-After, errors."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
import respx

from adapters.bulk import BulkExport, ExportSpec, encounters_from_ndjson
from adapters.bulk.export_client import STATE_FILE, read_state
from adapters.fhir.client import FhirClient
from fhir_coder.errors import FhirResponseError, NotFhirError
from sandbox.app import create_app
from sandbox.seed import seed_store
from tests.adapters.conftest import ASGI_BASE

TYPES = ("Patient", "Encounter", "Condition", "Procedure", "Coverage", "Practitioner",
         "Organization")  # fmt: skip


@pytest.fixture
def export_app(tmp_path):
    app = create_app(tmp_path / "sandbox.sqlite3", export_retry_after=7)
    seed_store(app.state.store, patients=20)
    yield app
    app.state.store.close()


@pytest.fixture
async def fhir(export_app):
    async with FhirClient(ASGI_BASE, transport=httpx.ASGITransport(app=export_app)) as client:
        yield client


class Clock:
    def __init__(self):
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        assert len(self.waits) < 1000, "polling forever"
        await asyncio.sleep(0)  # the sandbox's export runs on this loop: let it


def test_the_kick_off_joins_types_and_filters_with_commas_and_quotes_each_filter():
    spec = ExportSpec(
        types=("Encounter", "Condition"),
        since="2026-01-01T00:00:00Z",
        type_filters=("Encounter?status=finished&class=AMB,IMP",),
    )
    assert spec.kickoff_url() == (
        "$export?_type=Encounter,Condition&_since=2026-01-01T00%3A00%3A00Z"
        "&_typeFilter=Encounter%3Fstatus%3Dfinished%26class%3DAMB%2CIMP"
    )
    assert ExportSpec(level="group", group_id="g 1").kickoff_url() == "Group/g%201/$export"


async def test_an_export_is_fetched_waiting_as_the_server_asks_and_then_deleted(
    fhir, export_app, tmp_path
):
    clock = Clock()
    events = []
    result = await BulkExport(
        fhir, tmp_path / "out", ExportSpec(types=TYPES), progress=events.append, sleep=clock.sleep
    ).run()
    assert set(clock.waits) <= {7}  # Retry-After, as the sandbox said
    assert result.downloaded_now == len(result.files) == len(TYPES)
    # the kick-off, one poll per wait and the last, the files, the delete: nothing else
    assert result.requests == 1 + len(clock.waits) + 1 + len(TYPES) + 1
    assert result.by_type["Patient"] == 20
    assert not export_app.state.exports.jobs  # deleted on the server once fetched
    assert {e.phase for e in events} >= {"kick-off", "downloading", "done"}
    items = list(encounters_from_ndjson([result.folder], source_id="sb"))
    assert items
    assert all(item.error is None for item in items)
    assert read_state(result.folder)["deleted"] is True


async def test_a_restarted_export_polls_the_same_job_and_skips_finished_files(
    fhir, export_app, tmp_path
):
    folder = tmp_path / "out"

    class StopError(Exception):
        pass

    def stop_after_two_files(event):
        if event.phase == "downloading" and event.files_done >= 2:
            raise StopError

    with pytest.raises(StopError):
        await BulkExport(fhir, folder, ExportSpec(types=TYPES), progress=stop_after_two_files,
                         sleep=Clock().sleep, downloads=2).run()  # fmt: skip
    (job_id,) = export_app.state.exports.jobs
    state = read_state(folder)
    done = [f["name"] for f in state["files"] if f["done"]]
    assert 2 <= len(done) < len(TYPES)
    before = {name: (folder / name).stat().st_mtime_ns for name in done}
    # a file not finished was half-fetched when the process died
    third = next(f for f in state["files"] if not f["done"])
    async with fhir.stream("GET", third["url"]) as response:
        whole = await response.aread()
    (folder / f"{third['name']}.part").write_bytes(whole[: len(whole) // 2])

    result = await BulkExport(fhir, folder, ExportSpec(types=TYPES), sleep=Clock().sleep).run()
    assert result.resumed
    assert result.already_had == len(done)
    assert result.downloaded_now == len(TYPES) - len(done)
    assert {name: (folder / name).stat().st_mtime_ns for name in done} == before
    assert (folder / third["name"]).read_bytes() == whole  # resumed by Range, not doubled
    assert job_id not in export_app.state.exports.jobs  # the same job, now deleted
    again = await BulkExport(fhir, folder, ExportSpec(types=TYPES), sleep=Clock().sleep).run()
    assert again.downloaded_now == 0
    assert again.requests == 0


async def test_files_are_downloaded_several_at_a_time_and_no_more(export_app, tmp_path):
    """Four downloads in flight together (never five), each file whole and in the state."""
    in_flight: list[str] = []
    most = 0
    four_together = asyncio.Event()

    async def counting(scope, receive, send):
        nonlocal most
        if scope["type"] != "http" or "/$export-files/" not in scope["path"]:
            await export_app(scope, receive, send)
            return
        in_flight.append(scope["path"])
        most = max(most, len(in_flight))
        if len(in_flight) == 4:
            four_together.set()
        try:
            # each download waits until four are asked for at once: one at a time, the
            # first would wait out the timeout below and the test fail
            await asyncio.wait_for(four_together.wait(), timeout=10)
            await export_app(scope, receive, send)
        finally:
            in_flight.remove(scope["path"])

    transport = httpx.ASGITransport(app=counting)
    async with FhirClient(ASGI_BASE, transport=transport) as client:
        result = await BulkExport(
            client, tmp_path / "out", ExportSpec(types=TYPES), sleep=Clock().sleep, downloads=4
        ).run()
    assert most == 4
    assert result.downloaded_now == len(TYPES)
    assert all(f["done"] and f["size"] > 0 for f in read_state(result.folder)["files"])
    assert result.by_type["Patient"] == 20
    with pytest.raises(ValueError, match="1 to 16"):
        BulkExport(client, tmp_path / "x", ExportSpec(), downloads=0)


async def test_a_different_request_starts_a_new_export(fhir, tmp_path):
    folder = tmp_path / "out"
    await BulkExport(fhir, folder, ExportSpec(types=("Patient",)), sleep=Clock().sleep).run()
    result = await BulkExport(
        fhir, folder, ExportSpec(types=("Encounter",)), sleep=Clock().sleep
    ).run()
    assert not result.resumed
    assert [p.name for p in sorted(folder.glob("*.ndjson"))] == ["Encounter.001.ndjson"]


async def test_a_refused_kick_off_raises_with_the_servers_words(fhir, tmp_path):
    with pytest.raises(FhirResponseError) as caught:
        await BulkExport(fhir, tmp_path / "o", ExportSpec(types=("Nonsense",))).run()
    assert caught.value.status_code == 400
    assert "Nonsense" in str(caught.value)
    assert not (tmp_path / "o" / STATE_FILE).exists()


@respx.mock
async def test_a_token_is_never_sent_to_another_origin(tmp_path):
    base = "https://ehr.example/fhir"
    respx.get(f"{base}/$export").respond(202, headers={"Content-Location": f"{base}/status/1"})
    manifest = {
        "transactionTime": "2026-01-01T00:00:00Z", "requiresAccessToken": True,
        "output": [{"type": "Patient", "url": "https://files.elsewhere.example/p.ndjson"}],
    }  # fmt: skip
    respx.get(f"{base}/status/1").respond(200, content=orjson.dumps(manifest))
    async with FhirClient(base, transport=httpx.AsyncHTTPTransport()) as client:
        with pytest.raises(NotFhirError, match="another origin"):
            await BulkExport(client, tmp_path / "o", ExportSpec(), sleep=Clock().sleep).run()


@respx.mock
async def test_an_expired_export_is_asked_for_again_and_a_failed_one_says_why(tmp_path):
    base = "https://ehr.example/fhir"
    kick = respx.get(f"{base}/$export").respond(
        202, headers={"Content-Location": f"{base}/status/2"}
    )
    respx.get(f"{base}/status/1").respond(404)
    manifest = {"transactionTime": "2026-01-01T00:00:00Z", "requiresAccessToken": False,
                "output": [], "error": []}  # fmt: skip
    respx.get(f"{base}/status/2").respond(200, content=orjson.dumps(manifest))
    respx.delete(f"{base}/status/2").respond(202)
    folder = tmp_path / "o"
    folder.mkdir()
    (folder / STATE_FILE).write_bytes(orjson.dumps({
        "spec": {"level": "system", "group_id": "", "types": [], "since": None,
                 "type_filters": []},
        "base_url": base, "status_url": f"{base}/status/1", "manifest": None, "files": [],
    }))  # fmt: skip
    async with FhirClient(base, transport=httpx.AsyncHTTPTransport()) as client:
        result = await BulkExport(client, folder, ExportSpec(), sleep=Clock().sleep).run()
        assert kick.call_count == 1  # the state's job polled first, gone, then asked again
        assert result.transaction_time == "2026-01-01T00:00:00Z"
        issue = {"severity": "error", "code": "exception", "diagnostics": "disk full"}
        failed = {"resourceType": "OperationOutcome", "issue": [issue]}
        respx.get(f"{base}/$export").respond(202, headers={"Content-Location": f"{base}/status/3"})
        respx.get(f"{base}/status/3").respond(500, content=orjson.dumps(failed))
        with pytest.raises(FhirResponseError, match="disk full"):
            await BulkExport(client, tmp_path / "p", ExportSpec(), sleep=Clock().sleep).run()


async def test_an_export_behind_smart_backend_services(tmp_path):
    """Kick-off, polls and files with a SMART token, fetched by the export client's flow."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    from adapters.fhir.auth import SmartBackendAuth, load_signing_key, public_jwks  # noqa: PLC0415
    from sandbox.auth import AuthConfig  # noqa: PLC0415
    from tests.adapters.keys import write_pem  # noqa: PLC0415

    key = load_signing_key(
        write_pem(tmp_path / "k.pem", rsa.generate_private_key(public_exponent=65537,
                                                               key_size=2048)),
        kid="k1",
    )  # fmt: skip
    scope = "system/Patient.rs system/Encounter.rs"
    config = {"clients": [{"client_id": "coder", "jwks": public_jwks(key), "scope": scope}]}
    app = create_app(tmp_path / "s.sqlite3", auth=AuthConfig.from_json(config),
                     public_url=ASGI_BASE)  # fmt: skip
    seed_store(app.state.store, patients=4)
    auth = SmartBackendAuth(client_id="coder", key=key, scope=scope, fhir_base_url=ASGI_BASE)
    try:
        async with FhirClient(ASGI_BASE, transport=httpx.ASGITransport(app=app), auth=auth) as fhir:
            result = await BulkExport(
                fhir, tmp_path / "out", ExportSpec(types=("Patient", "Encounter")),
                sleep=Clock().sleep,
            ).run()  # fmt: skip
            refused = BulkExport(fhir, tmp_path / "no", ExportSpec(types=("Claim",)))
            with pytest.raises(FhirResponseError) as caught:
                await refused.run()
    finally:
        app.state.store.close()
    assert result.by_type == {"Encounter": 13, "Patient": 4}
    assert read_state(result.folder)["manifest"]["requiresAccessToken"] is True
    assert auth.tokens_issued == 1
    assert caught.value.status_code == 403
