"""The Subscriptions Backport IG's ``encounter-complete`` topic, on R4 Subscriptions.

A Subscription whose ``criteria`` is a topic canonical ending in ``/encounter-complete`` is
told each time an Encounter becomes ``finished`` (created finished, or updated to finished
from another status), optionally narrowed by the ``backport-filter-criteria`` extension
(``Encounter?patient=Patient/1``). Each notification is a ``history`` Bundle whose first
entry is a ``Parameters`` subscription status (type ``event-notification``, the subscription,
topic, status, ``events-since-subscription-start`` and one ``notification-event``), followed
by the Encounter when ``backport-payload-content`` is ``full-resource`` (its id alone for
``id-only``; nothing for ``empty``). ``$status`` and ``$events`` answer from the same event
log, which lives in memory: a restart starts the counts again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from sandbox.clock import now_instant
from sandbox.store import Store, StoredResource

__all__ = [
    "FILTER_URL",
    "PAYLOAD_URL",
    "TopicEvent",
    "TopicLog",
    "completes_encounter",
    "filter_criteria",
    "is_encounter_complete",
    "notification_bundle",
    "payload_content",
]

_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER_URL = _BACKPORT + "backport-filter-criteria"
PAYLOAD_URL = _BACKPORT + "backport-payload-content"
_STATUS_PROFILE = _BACKPORT + "backport-subscription-status-r4"


@dataclass(frozen=True, slots=True)
class TopicEvent:
    """One numbered event of one Subscription."""

    number: int
    timestamp: str
    focus: str  # Type/id


class TopicLog:
    """The numbered events of each topic Subscription, in memory."""

    def __init__(self) -> None:
        self._events: dict[str, list[TopicEvent]] = {}
        self._lock = threading.Lock()

    def record(self, subscription_id: str, focus: str) -> TopicEvent:
        """Number and keep a new event."""
        with self._lock:
            events = self._events.setdefault(subscription_id, [])
            event = TopicEvent(len(events) + 1, now_instant(), focus)
            events.append(event)
            return event

    def count(self, subscription_id: str) -> int:
        """How many events the Subscription has had."""
        with self._lock:
            return len(self._events.get(subscription_id, []))

    def between(self, subscription_id: str, since: int, until: int) -> list[TopicEvent]:
        """Events numbered ``since`` to ``until``, both included."""
        with self._lock:
            events = self._events.get(subscription_id, [])
            return [event for event in events if since <= event.number <= until]


def is_encounter_complete(subscription: dict[str, Any]) -> bool:
    """Whether the Subscription names the encounter-complete topic."""
    return str(subscription.get("criteria", "")).rstrip("/").endswith("/encounter-complete")


def _extension(element: dict[str, Any], url: str) -> Any:  # noqa: ANN401 - a JSON value
    for extension in element.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            for key, value in extension.items():
                if key.startswith("value"):
                    return value
    return None


def filter_criteria(subscription: dict[str, Any]) -> str | None:
    """The ``backport-filter-criteria`` search (``Encounter?...``), if any."""
    value = _extension(subscription.get("_criteria") or {}, FILTER_URL)
    if value is None:
        value = _extension(subscription, FILTER_URL)
    return str(value) if value else None


def payload_content(subscription: dict[str, Any]) -> str:
    """``full-resource``, ``id-only`` or ``empty`` (the default when unsaid)."""
    channel = subscription.get("channel") or {}
    value = _extension(channel.get("_payload") or {}, PAYLOAD_URL)
    return str(value) if value in {"full-resource", "id-only", "empty"} else "empty"


def completes_encounter(store: Store, stored: StoredResource) -> bool:
    """Whether this write made an Encounter ``finished`` (it was not before)."""
    if stored.resource_type != "Encounter" or stored.resource.get("status") != "finished":
        return False
    if stored.version_id == 1:
        return True
    before = store.read_version("Encounter", stored.resource_id, stored.version_id - 1)
    return before is None or not before.json or before.resource.get("status") != "finished"


def _status_parameters(
    subscription: dict[str, Any], kind: str, total: int, events: list[TopicEvent]
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "subscription",
            "valueReference": {"reference": f"Subscription/{subscription['id']}"},
        },
        {"name": "topic", "valueCanonical": str(subscription.get("criteria", ""))},
        {"name": "status", "valueCode": str(subscription.get("status", "active"))},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(total)},
    ]
    parameters.extend(
        {
            "name": "notification-event",
            "part": [
                {"name": "event-number", "valueString": str(event.number)},
                {"name": "timestamp", "valueInstant": event.timestamp},
                {"name": "focus", "valueReference": {"reference": event.focus}},
            ],
        }
        for event in events
    )
    return {
        "resourceType": "Parameters",
        "id": str(uuid4()),
        "meta": {"profile": [_STATUS_PROFILE]},
        "parameter": parameters,
    }


def notification_bundle(
    subscription: dict[str, Any],
    *,
    kind: str,
    total: int,
    events: list[TopicEvent],
    focus: dict[str, dict[str, Any]] | None = None,
    fhir_base: str = "",
) -> dict[str, Any]:
    """A backport notification (or ``$status``/``$events`` answer) as a ``history`` Bundle.

    ``focus`` maps ``Type/id`` to the resources to include after the status, per the
    Subscription's payload content.
    """
    status = _status_parameters(subscription, kind, total, events)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"Subscription/{subscription['id']}/$status"},
            "response": {"status": "200"},
        }
    ]
    content = payload_content(subscription)
    prefix = f"{fhir_base}/" if fhir_base else ""
    for reference, resource in (focus or {}).items():
        if content == "empty":
            break
        entry: dict[str, Any] = {
            "fullUrl": f"{prefix}{reference}",
            "request": {"method": "PUT", "url": reference},
            "response": {"status": "200"},
        }
        if content == "full-resource":
            entry["resource"] = resource
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": str(uuid4()),
        "meta": {"lastUpdated": now_instant()},
        "type": "history",
        "timestamp": now_instant(),
        "entry": entries,
    }
