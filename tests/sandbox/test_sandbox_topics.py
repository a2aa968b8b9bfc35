"""The Backport IG's encounter-complete topic: notification Bundles, $status and $events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.cli.sandbox_process import running_sandbox
from sandbox.topics import FILTER_URL, PAYLOAD_URL
from tests.sandbox.test_sandbox_subscriptions import Receiver

TOPIC = "http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def _encounter(status: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": patient},
    }


def _parameters(bundle: dict[str, Any]) -> dict[str, Any]:
    status = bundle["entry"][0]["resource"]
    assert status["resourceType"] == "Parameters"
    return {p["name"]: p for p in status["parameter"]}


def test_encounter_complete_notifies_with_status_and_counts(tmp_path, receiver: Receiver):
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "code finished encounters",
        "criteria": TOPIC,
        "_criteria": {
            "extension": [{"url": FILTER_URL, "valueString": "Encounter?patient=Patient/p1"}]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": receiver.url,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_URL, "valueCode": "full-resource"}]},
        },
    }
    with (
        running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url,
        httpx.Client(base_url=base_url + "/") as http,
    ):
        for patient in ("p1", "p2"):
            http.put(f"Patient/{patient}", json={"resourceType": "Patient", "id": patient})
        sub = http.post("Subscription", json=subscription).json()
        planned = http.post("Encounter", json=_encounter("planned", "Patient/p1")).json()
        http.post("Encounter", json=_encounter("finished", "Patient/p2"))  # filtered out
        time.sleep(0.2)
        assert receiver.requests == []
        http.put(f"Encounter/{planned['id']}", json={**planned, "status": "finished"})
        receiver.wait_for(1)
        again = http.get(f"Encounter/{planned['id']}").json()
        http.put(f"Encounter/{planned['id']}", json={**again, "period": {"start": "2026-01-01"}})
        second = http.post("Encounter", json=_encounter("finished", "Patient/p1")).json()
        receiver.wait_for(2)
        status = http.get(f"Subscription/{sub['id']}/$status").json()
        events = http.get(
            f"Subscription/{sub['id']}/$events", params={"eventsSinceNumber": "2"}
        ).json()

    assert len(receiver.requests) == 2  # still finished is not finishing again
    method, path, body, headers = receiver.requests[0]
    assert (method, path) == ("POST", "/hook")
    assert headers["content-type"] == "application/fhir+json"
    notification = json.loads(body)
    assert notification["type"] == "history"
    params = _parameters(notification)
    assert params["type"]["valueCode"] == "event-notification"
    assert params["topic"]["valueCanonical"] == TOPIC
    assert params["events-since-subscription-start"]["valueString"] == "1"
    focus = params["notification-event"]["part"][2]["valueReference"]["reference"]
    assert focus == f"Encounter/{planned['id']}"
    assert notification["entry"][1]["resource"]["id"] == planned["id"]
    assert _parameters(status)["events-since-subscription-start"]["valueString"] == "2"
    assert _parameters(status)["type"]["valueCode"] == "query-status"
    assert _parameters(events)["type"]["valueCode"] == "query-event"
    assert [e["resource"]["id"] for e in events["entry"][1:]] == [second["id"]]
