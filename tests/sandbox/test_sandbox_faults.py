"""Fault injection: latency, 429/503 with Retry-After and dropped connections, on demand."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from adapters.cli.sandbox_process import running_sandbox
from fhir_coder.errors import ConfigurationError
from sandbox.app import create_app
from sandbox.faults import ENV_VAR, FaultConfig, faults_from_env

BASE = "http://sandbox.test/fhir/"


async def _client(tmp_path: Path, config: FaultConfig) -> tuple[httpx.AsyncClient, object]:
    app = create_app(tmp_path / "sandbox.sqlite3", faults=config)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE), app


async def test_named_paths_fail_with_429_and_retry_after_and_metadata_never_does(tmp_path):
    http, app = await _client(
        tmp_path, FaultConfig(kinds=("429",), paths=("/Encounter",), retry_after_seconds=7)
    )
    async with http:
        faulted = await http.get("Encounter")
        fine = await http.get("Patient")
        metadata = await http.get("metadata")
    app.state.store.close()

    assert faulted.status_code == 429
    assert faulted.headers["Retry-After"] == "7"
    assert faulted.json()["issue"][0]["code"] == "throttled"
    assert fine.status_code == 200
    assert metadata.status_code == 200


async def test_a_rate_fails_about_that_share_repeatably(tmp_path):
    config = FaultConfig(rate=0.3, kinds=("503",), seed=11)
    statuses = []
    for _ in range(2):
        http, app = await _client(tmp_path, config)
        async with http:
            statuses.append([(await http.get("Patient")).status_code for _ in range(100)])
        app.state.store.close()

    assert statuses[0] == statuses[1]
    assert set(statuses[0]) == {200, 503}
    assert 15 <= statuses[0].count(503) <= 45


def test_drop_and_latency_over_real_loopback(tmp_path):
    extra = ("--no-seed", "--fault", "drop", "--fault-path", "/Claim", "--fault-latency-ms", "50")
    with (
        running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=extra) as base_url,
        httpx.Client(base_url=base_url + "/") as http,
    ):
        started = time.perf_counter()
        fine = http.get("Patient")
        elapsed = time.perf_counter() - started
        with pytest.raises(httpx.TransportError):
            http.get("Claim")
        after = http.get("Patient")

    assert fine.status_code == 200
    assert elapsed >= 0.05
    assert after.status_code == 200


def test_settings_come_from_the_environment_and_are_checked(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '{"rate": 0.5, "kinds": ["429", "drop"], "seed": 3}')
    config = faults_from_env()
    assert config == FaultConfig(rate=0.5, kinds=("429", "drop"), seed=3)

    monkeypatch.setenv(ENV_VAR, '{"rate": 2}')
    with pytest.raises(ConfigurationError):
        faults_from_env()
    monkeypatch.setenv(ENV_VAR, '{"kinds": ["teapot"]}')
    with pytest.raises(ConfigurationError):
        faults_from_env()
    monkeypatch.delenv(ENV_VAR)
    assert faults_from_env() is None
