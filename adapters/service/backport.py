"""Reading Subscriptions Backport IG notifications: the status, the events, the focus.

A notification is a ``history`` Bundle: first a ``Parameters`` subscription status (type,
``events-since-subscription-start``, ``notification-event`` parts with ``event-number``
and ``focus``), then, per the Subscription's payload, the focus resources
(``full-resource``), their URLs only (``id-only``) or nothing (``empty``). Everything here
is pure: the service decides what to do with what is read. Ids and versions that are not
FHIR ids (``[A-Za-z0-9-.]{1,64}``) are dropped, as CDS Hooks' ``encounterId`` is refused:
they would go into URL paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.fhir.references import subject_patient_id, valid_id

__all__ = ["Focus", "Notification", "read_notification"]


@dataclass(frozen=True, slots=True)
class Focus:
    """An Encounter a notification is about, with its version when the payload carries one."""

    encounter_id: str
    version: str = ""
    patient: str = ""  # the subject's id, when the payload carries the whole Encounter


@dataclass(frozen=True, slots=True)
class Notification:
    """What a backport notification says."""

    subscription: str  # the Subscription's id
    kind: str  # handshake, heartbeat, event-notification, query-status, query-event
    events_since_start: int | None
    event_numbers: tuple[int, ...]
    focus: tuple[Focus, ...]


def _value(parameter: dict[str, Any]) -> Any:  # noqa: ANN401 - a JSON value
    for key, value in parameter.items():
        if key.startswith("value"):
            return value
    return None


def _number(value: object) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else None


def _encounter_of(reference: str) -> Focus | None:
    """``Encounter/1``, ``http://x/fhir/Encounter/1/_history/2`` as a Focus."""
    parts = reference.rstrip("/").split("/")
    if "Encounter" not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index("Encounter")
    rest = parts[at + 1 :]
    if not rest or not valid_id(rest[0]):
        return None
    version = rest[2] if len(rest) >= 3 and rest[1] == "_history" else ""
    return Focus(rest[0], valid_id(version))


def _status(parameters: list[dict[str, Any]]) -> tuple[str, str, int | None, list[int], list[str]]:
    """Subscription id, type, event count, event numbers and focus references of a status."""
    subscription = kind = ""
    since: int | None = None
    numbers: list[int] = []
    references: list[str] = []
    for parameter in parameters:
        name = parameter.get("name")
        if name == "subscription":
            subscription = str((_value(parameter) or {}).get("reference", "")).split("/")[-1]
        elif name == "type":
            kind = str(_value(parameter) or "")
        elif name == "events-since-subscription-start":
            since = _number(_value(parameter))
        elif name == "notification-event":
            for part in parameter.get("part") or []:
                if part.get("name") == "event-number" and (n := _number(_value(part))):
                    numbers.append(n)
                elif part.get("name") == "focus":
                    references.append(str((_value(part) or {}).get("reference", "")))
    return subscription, kind, since, numbers, references


def _payload_focus(entries: list[dict[str, Any]], focus: dict[str, Focus]) -> None:
    """Add the Encounters the payload entries carry (whole, or as URLs) to ``focus``."""
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "Encounter":
            encounter_id = valid_id(str(resource.get("id") or ""))
            if encounter_id:  # an id that is not a FHIR id names nothing to code
                version = valid_id(str((resource.get("meta") or {}).get("versionId") or ""))
                focus[encounter_id] = Focus(encounter_id, version, subject_patient_id(resource))
            continue
        where = str(entry.get("fullUrl") or (entry.get("request") or {}).get("url") or "")
        if (found := _encounter_of(where)) and found.encounter_id not in focus:
            focus[found.encounter_id] = found


def read_notification(bundle: dict[str, Any]) -> Notification | None:
    """The notification in ``bundle``, or None when it is not a backport notification."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "history":
        return None
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    status = entries[0].get("resource") if entries else None
    if not isinstance(status, dict) or status.get("resourceType") != "Parameters":
        return None
    parameters = [p for p in status.get("parameter") or [] if isinstance(p, dict)]
    subscription, kind, since, numbers, references = _status(parameters)
    focus = {f.encounter_id: f for ref in references if (f := _encounter_of(ref))}
    _payload_focus(entries[1:], focus)
    return Notification(subscription, kind, since, tuple(numbers), tuple(focus.values()))
