"""Real parts for the adapter tests: the sandbox over a SQLite file, in process and on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from adapters.cli.sandbox_process import running_sandbox
from adapters.coding_setup import CodingSetup, default_coding
from adapters.fhir.client import FhirClient
from codesets import CodeSetRegistry, default_registry
from sandbox.app import create_app
from sandbox.seed import seed_store

ASGI_BASE = "http://sandbox.test/fhir"


@pytest.fixture(autouse=True)
def claims_ledger_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's commands keep their Claim ledger in its own folder, not the working one."""
    path = tmp_path / "claims-ledger" / "claims.sqlite3"
    monkeypatch.setenv("FHIR_CODER_CLAIMS_DB", str(path))
    return path


@pytest.fixture(scope="session")
def icd10cm() -> CodeSetRegistry:
    """The real ICD-10-CM registry, compiled once into the test run's cache."""
    return default_registry()


@pytest.fixture(scope="session")
def coding() -> CodingSetup:
    """The production coding set-up: real code sets, crosswalks and visit table."""
    return default_coding()


@pytest.fixture
def seeded_app(tmp_path: Path) -> Iterator[FastAPI]:
    """The sandbox over a fresh SQLite file holding the default synthetic data."""
    app = create_app(tmp_path / "sandbox.sqlite3")
    seed_store(app.state.store)
    yield app
    app.state.store.close()


@pytest.fixture
async def asgi_fhir(seeded_app: FastAPI) -> AsyncIterator[FhirClient]:
    """A FHIR client talking to the seeded sandbox through ``httpx.ASGITransport``."""
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(ASGI_BASE, transport=transport) as client:
        yield client


@pytest.fixture(scope="module")
def loopback_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a seeded sandbox process serving real HTTP on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("loopback-sandbox")
    with running_sandbox(folder / "sandbox.sqlite3") as base_url:
        yield base_url


CRASH_PATIENTS = 210
"""Patients for the crash-safety tests: over 500 finished encounters with a codable diagnosis."""


def search_all_sync(base: str, query: str) -> list[dict]:
    """Every resource a search on a loopback server returns, following its next links."""
    found: list[dict] = []
    url: str | None = f"{base}/{query}"
    while url:
        bundle = httpx.get(url, timeout=30).json()
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        url = next(
            (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None
        )
    return found
