"""The Subscription ``fhir-coder subscribe`` creates, in the form the server supports.

Plain R4 servers take a rest-hook with ``criteria: Encounter?status=finished`` (which
fires on every write of a finished encounter: the ledger makes that idempotent). Where
the CapabilityStatement declares the Subscriptions Backport IG (the backport Subscription
profile, or the ``encounter-complete`` topic among its subscription topics), the topic is
better: it fires once, on the transition to finished, and numbers its events so gaps show.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["ENCOUNTER_COMPLETE", "Form", "build_subscription", "supported_form"]

Form = Literal["rest-hook", "backport"]

_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
ENCOUNTER_COMPLETE = "http://hl7.org/fhir/us/core/SubscriptionTopic/encounter-complete"
_TOPIC_EXTENSION = _BACKPORT + "capabilitystatement-subscriptiontopic-canonical"
_PROFILE = _BACKPORT + "backport-subscription"


def _topics(element: dict[str, Any]) -> list[str]:
    return [
        str(extension.get("valueCanonical", ""))
        for extension in element.get("extension") or []
        if isinstance(extension, dict) and extension.get("url") == _TOPIC_EXTENSION
    ]


def supported_form(capability: dict[str, Any]) -> Form:
    """``backport`` when the CapabilityStatement declares it, else ``rest-hook``."""
    for rest in capability.get("rest") or []:
        if any(t.endswith("/encounter-complete") for t in _topics(rest)):
            return "backport"
        for resource in rest.get("resource") or []:
            if resource.get("type") != "Subscription":
                continue
            profiles = [*resource.get("supportedProfile", []), resource.get("profile", "")]
            if _PROFILE in profiles or any(
                t.endswith("/encounter-complete") for t in _topics(resource)
            ):
                return "backport"
    return "rest-hook"


def build_subscription(
    form: Form,
    endpoint: str,
    *,
    header: str | None = None,
    payload: Literal["full-resource", "id-only", "empty"] = "full-resource",
    reason: str = "fhir-coder: code encounters when they close",
) -> dict[str, Any]:
    """The Subscription to create; ``header`` ("Name: value") goes on every notification."""
    channel: dict[str, Any] = {"type": "rest-hook", "endpoint": endpoint.rstrip("/")}
    if header:
        channel["header"] = [header]
    if form == "rest-hook":
        if payload != "empty":
            channel["payload"] = "application/fhir+json"
        return {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": reason,
            "criteria": "Encounter?status=finished",
            "channel": channel,
        }
    channel["payload"] = "application/fhir+json"
    channel["_payload"] = {
        "extension": [{"url": _BACKPORT + "backport-payload-content", "valueCode": payload}]
    }
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [_PROFILE]},
        "status": "requested",
        "reason": reason,
        "criteria": ENCOUNTER_COMPLETE,
        "channel": channel,
    }
