"""The practitioners and organisation of an encounter, with what their references lead to.

``Encounter.participant`` and ``Encounter.serviceProvider`` are planned like any other
reference (:mod:`adapters.fhir.references`); once the round has fetched them, each becomes a
:class:`fhir_coder.model.Provider` with a literal reference, a display and the NPI that
claims need. A reference that leads nowhere is kept as sent, with an issue saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.fhir.references import Fetch, Unresolvable, plan_reference, resource_key
from fhir_coder.model import Provider
from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["Party", "Resolve", "party_plans", "providers", "read_issue"]

_NPI = "http://hl7.org/fhir/sid/us-npi"

Party = tuple[str, dict[str, Any], dict[str, Any] | Fetch | Unresolvable]
"""A role (attender, performer, service-provider), the Reference as sent, and its plan."""

Resolve = Callable[[dict[str, Any] | Fetch | Unresolvable], dict[str, Any] | str]
"""The resource a planned reference led to, or why it led nowhere.

A server's gathering answers from its session cache (:func:`adapters.fhir.rounds.resolved`),
an NDJSON export from its index: both build providers and diagnoses the same way.
"""


def read_issue(message: str, source: str, expression: str = "", *, rule: str) -> Issue:
    """A warning about one resource gathering could not read or follow, naming it."""
    return Issue(
        Severity.WARNING,
        IssueCode.NOT_FOUND if rule == "READ-UNRESOLVED-REFERENCE" else IssueCode.PROCESSING,
        message,
        rule=rule,
        expression=(expression,) if expression else (),
        source=source,
    )


def party_plans(
    encounter: dict[str, Any], base: str
) -> list[tuple[str, dict[str, Any], dict[str, Any] | Fetch | Unresolvable]]:
    """Practitioners taking part and the service provider: role, Reference, plan."""
    parties: list[tuple[str, dict[str, Any], dict[str, Any] | Fetch | Unresolvable]] = []
    for participant in encounter.get("participant") or []:
        if not isinstance(participant, dict) or not isinstance(participant.get("individual"), dict):
            continue
        individual = participant["individual"]
        plan = plan_reference(individual, base, container=encounter, expected_type=None)
        kind = (
            plan.resource_type
            if isinstance(plan, Fetch)
            else (plan.get("resourceType") if isinstance(plan, dict) else individual.get("type"))
        )
        ref = str(individual.get("reference") or "")
        unknown = kind is None and isinstance(plan, Unresolvable)  # reported, not skipped
        practitioner = kind in ("Practitioner", "PractitionerRole") or "Practitioner" in ref
        if not (unknown or practitioner):
            continue
        roles = {
            coding.get("code")
            for concept in participant.get("type") or []
            if isinstance(concept, dict)
            for coding in concept.get("coding") or []
            if isinstance(coding, dict)
        }
        parties.append(("attender" if "ATND" in roles else "performer", individual, plan))
    service = encounter.get("serviceProvider")
    if isinstance(service, dict):
        plan = plan_reference(service, base, container=encounter, expected_type="Organization")
        parties.append(("service-provider", service, plan))
    return parties


def _npi(resource: dict[str, Any]) -> str:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == _NPI:
            return str(identifier.get("value") or "")
    return ""


def _name(resource: dict[str, Any]) -> str:
    if isinstance(resource.get("name"), str):
        return str(resource["name"])
    for name in resource.get("name") or []:
        if isinstance(name, dict):
            if name.get("text"):
                return str(name["text"])
            given = " ".join(str(g) for g in name.get("given") or [])
            return " ".join(p for p in (given, str(name.get("family") or "")) if p)
    return ""


def providers(
    encounter: dict[str, Any],
    parties: list[tuple[str, dict[str, Any], dict[str, Any] | Fetch | Unresolvable]],
    resolve: Resolve,
    issues: list[Issue],
) -> tuple[Provider, ...]:
    """Providers with the literal reference, display and NPI of what each reference led to."""
    source = resource_key(encounter)
    out: list[Provider] = []
    for role, value, plan in parties:
        ref = str(value.get("reference") or "")
        display = str(value.get("display") or "")
        found = resolve(plan)
        if isinstance(found, str):
            issues.append(
                read_issue(
                    f"the {role} reference {ref or '(identifier only)'} "
                    f"cannot be followed: {found}",
                    source,
                    rule="READ-UNRESOLVED-REFERENCE",
                )
            )
            if ref:
                out.append(Provider(reference=ref, role=role, display=display))
            continue
        contained = isinstance(plan, dict)
        out.append(
            Provider(
                reference=ref if contained else resource_key(found),
                role=role,
                display=display or _name(found),
                npi=_npi(found),
            )
        )
    return tuple(out)
