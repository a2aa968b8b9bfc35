"""Fixtures for the sandbox tests: a real SQLite file per test, an httpx client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.app import create_app
from sandbox.seed import build_seed_bundle, seed_store
from sandbox.store import Store

BASE_URL = "http://sandbox.test/fhir"
FHIR_JSON = "application/fhir+json"


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """An empty sandbox over a fresh SQLite file."""
    application = create_app(tmp_path / "sandbox.sqlite3")
    yield application
    application.state.store.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as http:
        yield http


@pytest.fixture
def store(app: FastAPI) -> Store:
    """The store behind ``app``, to look at the database directly."""
    found: Store = app.state.store
    return found


@pytest.fixture(scope="session")
def seed_bundle() -> dict[str, Any]:
    """The default synthetic data (seed 7, 12 patients); do not change it in a test."""
    return build_seed_bundle()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the default synthetic data, shared by a module's read-only tests."""
    path = tmp_path_factory.mktemp("seeded") / "sandbox.sqlite3"
    with Store(path) as seeded:
        seed_store(seeded)
    return path


@pytest.fixture
async def seeded_client(seeded_db: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a sandbox over the module's seeded file (do not write through it)."""
    application = create_app(seeded_db)
    async with _client(application) as http:
        yield http
    application.state.store.close()


def _assert_outcome(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check that ``response`` is an OperationOutcome error with ``status`` and words."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == FHIR_JSON
    outcome: dict[str, Any] = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"], outcome
    for issue in outcome["issue"]:
        assert issue["severity"] in {"fatal", "error"}
        assert issue["code"]
        assert issue["details"]["text"]
    return outcome


@pytest.fixture
def assert_outcome() -> Callable[[httpx.Response, int], dict[str, Any]]:
    """``assert_outcome(response, 404)`` checks an error answer and returns its outcome."""
    return _assert_outcome
