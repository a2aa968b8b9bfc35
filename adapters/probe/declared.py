"""Checks of what the CapabilityStatement declares, against the plugin's needs.

Declared is not working: these checks say what the server promises, and the tried
checks (:mod:`adapters.probe.trials`) say what it does. A read or search left out of the
statement is therefore only ``limited`` here (the plugin tries anyway); a Claim write left
out is a failure, since the plugin then refuses to write to this server and needs another
destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.fhir.capabilities import ServerCapabilities
from adapters.probe.model import Check, Status
from adapters.probe.needs import CLAIM_FIX, READS, REQUIRED_READS, SEARCHES, WRITES

__all__ = ["declared_checks", "subscription_forms"]

_BACKPORT = "subscriptions-backport"


def _check(id_: str, title: str, status: Status, detail: str, consequence: str = "") -> Check:
    return Check(
        id_,
        title,
        status,
        detail,
        consequence if status is not Status.PASS else "",
        required=False,
        declared=True,
    )


def _version(caps: ServerCapabilities) -> Check:
    ok = caps.fhir_version.startswith("4.0")
    return Check(
        "declared.fhir-version",
        "FHIR R4",
        Status.PASS if ok else Status.FAIL,
        f"fhirVersion {caps.fhir_version or '(none)'}",
        "" if ok else "the plugin speaks FHIR R4 (4.0.1): point it at the server's R4 endpoint",
        required=True,
        declared=True,
    )


def _reads(caps: ServerCapabilities) -> list[Check]:
    checks = []
    for name in READS:
        ok = caps.supports(name, "read")
        checks.append(
            _check(
                f"declared.read.{name}",
                f"read {name}",
                Status.PASS if ok else Status.LIMITED,
                "declared" if ok else "not declared",
                "tried below; the plugin reads it anyway"
                if name in REQUIRED_READS
                else f"{name} references are resolved by search where reads fail",
            )
        )
    return checks


def _searches(caps: ServerCapabilities) -> list[Check]:
    checks = []
    for need in SEARCHES:
        typed = caps.supports(need.resource_type, "search-type")
        ok = typed and caps.searchable(need.resource_type, need.param)
        detail = "declared" if ok else ("parameter not declared" if typed else "no search-type")
        checks.append(
            _check(
                f"declared.search.{need.resource_type}.{need.param}",
                f"search {need.resource_type}?{need.param}=",
                Status.PASS if ok else Status.LIMITED,
                detail,
                f"tried below; without it {need.without}",
            )
        )
    return checks


def _writes(caps: ServerCapabilities) -> list[Check]:
    checks = []
    for name, required, without in WRITES:
        verbs = sorted(v for v in ("create", "update") if caps.supports(name, v))
        ok = bool(verbs)
        failing = Status.FAIL if required else Status.LIMITED
        checks.append(
            Check(
                f"declared.write.{name}",
                f"create/update {name}",
                Status.PASS if ok else failing,
                f"declared: {', '.join(verbs)}" if ok else "neither create nor update declared",
                "" if ok else (CLAIM_FIX if required else without),
                required=required,
                declared=True,
            )
        )
    return checks


def subscription_forms(statement: Mapping[str, Any], caps: ServerCapabilities) -> list[str]:
    """The forms of Subscription the statement declares: R4 criteria, topic-based backport."""
    forms = []
    if caps.supports("Subscription", "create"):
        forms.append("R4 Subscription (criteria, rest-hook)")
    declared = " ".join(
        str(value)
        for key in ("instantiates", "implementationGuide")
        for value in (statement.get(key) or [])
    )
    if _BACKPORT in declared or "SubscriptionTopic" in caps.interactions:
        forms.append("topic-based (R4 Backport IG)")
    return forms


def _subscriptions(statement: Mapping[str, Any], caps: ServerCapabilities) -> Check:
    forms = subscription_forms(statement, caps)
    return _check(
        "declared.subscriptions",
        "Subscriptions",
        Status.PASS if forms else Status.LIMITED,
        f"{', '.join(forms)}; delivery not tried (it needs an endpoint the server can reach)"
        if forms
        else "no Subscription support declared",
        "no push trigger: poll Encounter?_lastUpdated= or call the plugin from CDS Hooks",
    )


def _bundles(caps: ServerCapabilities) -> list[Check]:
    return [
        _check(
            "declared.batch",
            "batch Bundles",
            Status.PASS if caps.batch else Status.LIMITED,
            "declared" if caps.batch else "not declared",
            "each gathering round is sent as concurrent requests (more round trips)",
        ),
        _check(
            "declared.transaction",
            "transaction Bundles",
            Status.PASS if caps.transaction else Status.LIMITED,
            "declared" if caps.transaction else "not declared",
            "a Claim and its Provenance are written as separate requests",
        ),
    ]


def _includes(caps: ServerCapabilities) -> Check:
    wanted = {
        "_include=Encounter:patient": caps.can_include("Encounter", "Encounter:patient"),
        "_revinclude=Condition:encounter": caps.can_revinclude("Encounter", "Condition:encounter"),
        "_revinclude=Procedure:encounter": caps.can_revinclude("Encounter", "Procedure:encounter"),
    }
    missing = [name for name, ok in wanted.items() if not ok]
    return _check(
        "declared.include",
        "_include/_revinclude on Encounter",
        Status.PASS if not missing else Status.LIMITED,
        "declared" if not missing else f"not declared: {', '.join(missing)}",
        "Conditions and Procedures are found by explicit searches instead",
    )


def declared_checks(statement: Mapping[str, Any], caps: ServerCapabilities) -> list[Check]:
    """Every declared check, in report order."""
    return [
        _version(caps),
        *_reads(caps),
        *_searches(caps),
        *_writes(caps),
        _subscriptions(statement, caps),
        *_bundles(caps),
        _includes(caps),
    ]
