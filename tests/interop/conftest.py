"""Two FHIR servers, one set of tests: the sandbox (a real process on loopback) and Medplum.

Each test gets a :class:`Server` for one of them. Tests isolate themselves by a tag of their
own (a unique identifier system or family name) rather than by emptying the servers, so the
two processes start once per session and are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from adapters.cli.sandbox_process import running_sandbox

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Server:
    """A FHIR server under test: its name, base URL and an HTTP client bound to it."""

    name: str
    base_url: str
    http: httpx.Client

    @property
    def is_sandbox(self) -> bool:
        return self.name == "sandbox"


@pytest.fixture(scope="session")
def sandbox_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty sandbox process serving real HTTP on 127.0.0.1 for the session."""
    folder: Path = tmp_path_factory.mktemp("interop-sandbox")
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url:
        yield base_url


@pytest.fixture(params=["sandbox", "medplum"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Each FHIR server in turn."""
    name: str = request.param
    fixture = "sandbox_base_url" if name == "sandbox" else "medplum_base_url"
    base_url: str = request.getfixturevalue(fixture)
    with httpx.Client(base_url=base_url + "/", headers={"Accept": FHIR_JSON}, timeout=30) as client:
        yield Server(name, base_url, client)


@pytest.fixture
def tag() -> str:
    """A value no other test uses: put it in identifiers and names to find only this test's data."""
    return f"t{uuid4().hex[:16]}"
