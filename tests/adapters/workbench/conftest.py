"""A workbench over a real ledger, a real sandbox (in process) and real accounts.

``held_bench``: the seeded sandbox with ``enc-e03`` (a header code sent by the EHR) put on
it, processed by the workers into a held work item; the workbench over that ledger, reading
and writing the same sandbox, with three accounts (coders ``ada`` and ``bob``, auditor
``aud``; each password is ``<name>-password-1``).
"""

from __future__ import annotations

import re

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger, WorkerSettings
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.workbench import Workbench, create_workbench
from adapters.workbench.accounts import Accounts, Role, add_user
from adapters.writeback.claim_writer import ClaimWriter
from adapters.writeback.destinations import FhirDestination
from tests.adapters.held_cases import put_header_encounter

BASE = "http://sandbox.test/fhir"
USERS = {"ada": Role.CODER, "bob": Role.CODER, "aud": Role.AUDITOR}


def password(user: str) -> str:
    return f"{user}-password-1"


@pytest.fixture(scope="session")
def accounts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "users.toml"
    for user, role in USERS.items():
        add_user(path, user, password(user), name=f"{user.title()} Coder", role=role)
    return path


@pytest.fixture
async def held_bench(seeded_app, coding, icd10cm, accounts_file, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        version = await put_header_encounter(fhir)
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-e03", version)
            settings = WorkerSettings(concurrency=1, retry_base_seconds=0.01, max_attempts=3)
            await WorkerPool(ledger, Pipeline(fhir, coding), "sb", settings).drain()
            writer = ClaimWriter(FhirDestination(fhir))
            yield Workbench(
                ledger=ledger,
                accounts=Accounts.from_file(accounts_file),
                coding=coding,
                registry=icd10cm,
                fhir=fhir,
                writer=writer,
                audit_every=3600,
            )


@pytest.fixture
def workbench_app(held_bench):
    return create_workbench(held_bench)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", follow_redirects=False
    )


async def sign_in(client: httpx.AsyncClient, user: str) -> str:
    """Sign ``user`` in; the page's CSRF token."""
    answer = await client.post(
        "/login", data={"user": user, "password": password(user), "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/")
    assert page.status_code == 200
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def revision_of(html: str) -> str:
    found = re.search(r'name="revision" value="(\d+)"', html)
    assert found, "no revision on the page"
    return found.group(1)
