"""Rest-hook Subscriptions, delivered over real loopback HTTP to a receiver of the test's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.cli.sandbox_process import running_sandbox


class Receiver:
    """A loopback HTTP endpoint that records requests and answers the statuses it is told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.statuses: list[int] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                # header names are case-insensitive: keep them lower-cased for the checks
                headers = {name.lower(): value for name, value in self.headers.items()}
                received.requests.append((self.command, self.path, body, headers))
                status = received.statuses.pop(0) if received.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("subscriptions")
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url:
        yield base_url


def _encounter(status: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    }


def _subscribe(http: httpx.Client, endpoint: str, *, payload: bool) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": endpoint,
        "header": ["X-Test: yes"],
    }
    if payload:
        channel["payload"] = "application/fhir+json"
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test",
        "criteria": "Encounter?status=finished",
        "channel": channel,
    }
    response = http.post("Subscription", json=subscription)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _settled(http: httpx.Client, subscription: dict[str, Any], status: str) -> dict[str, Any]:
    """The Subscription once its status is ``status`` (it is written after the delivery)."""
    deadline = time.monotonic() + 2
    while True:
        found: dict[str, Any] = http.get(f"Subscription/{subscription['id']}").json()
        if found["status"] == status or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _unsubscribe(http: httpx.Client, subscription: dict[str, Any]) -> None:
    http.delete(f"Subscription/{subscription['id']}")


def test_matching_writes_are_delivered_within_a_second(sandbox_url: str, receiver: Receiver):
    with httpx.Client(base_url=sandbox_url + "/") as http:
        subscription = _subscribe(http, receiver.url, payload=True)
        try:
            started = time.monotonic()
            finished = http.post("Encounter", json=_encounter("finished")).json()
            receiver.wait_for(1)
            elapsed = time.monotonic() - started
            planned = http.post("Encounter", json=_encounter("planned")).json()
            http.post("Patient", json={"resourceType": "Patient"})
            time.sleep(0.3)
            assert len(receiver.requests) == 1  # nothing for unrelated resources
            http.put(f"Encounter/{planned['id']}", json={**planned, "status": "finished"})
            receiver.wait_for(2)
            stored = _settled(http, subscription, "active")
        finally:
            _unsubscribe(http, subscription)

    assert elapsed < 1.0
    method, path, body, headers = receiver.requests[0]
    assert (method, path) == ("PUT", f"/hook/Encounter/{finished['id']}")
    assert b'"finished"' in body
    assert headers["x-test"] == "yes"
    assert receiver.requests[1][1] == f"/hook/Encounter/{planned['id']}"
    assert stored["status"] == "active"


def test_without_payload_a_bare_post_is_sent(sandbox_url: str, receiver: Receiver):
    with httpx.Client(base_url=sandbox_url + "/") as http:
        subscription = _subscribe(http, receiver.url, payload=False)
        try:
            http.post("Encounter", json=_encounter("finished"))
            receiver.wait_for(1)
        finally:
            _unsubscribe(http, subscription)

    method, path, body, _ = receiver.requests[0]
    assert (method, path, body) == ("POST", "/hook", b"")


def test_failures_are_retried_and_recorded_on_the_subscription(
    sandbox_url: str, receiver: Receiver
):
    with httpx.Client(base_url=sandbox_url + "/") as http:
        subscription = _subscribe(http, receiver.url, payload=True)
        try:
            receiver.statuses = [503, 500]
            http.post("Encounter", json=_encounter("finished"))
            receiver.wait_for(3, timeout=3)
            recovered = _settled(http, subscription, "active")
            receiver.statuses = [500] * 4
            http.post("Encounter", json=_encounter("finished"))
            receiver.wait_for(7, timeout=4)
            failed = _settled(http, subscription, "error")
        finally:
            _unsubscribe(http, subscription)

    assert len(receiver.requests) == 7
    assert recovered["status"] == "active"
    assert failed["status"] == "error"
    assert "HTTP 500" in failed["error"]
