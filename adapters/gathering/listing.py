"""The Conditions an Encounter lists in ``Encounter.diagnosis``, joined with those found for it.

A server's gathering finds an encounter's Conditions by ``Condition?encounter=``, an NDJSON
export by its index of ``Condition.encounter``; both then add what ``Encounter.diagnosis``
names and the search missed, and read each Condition with its listing (use, rank). One
place does that for both, so the two paths build the same diagnoses.
"""

from __future__ import annotations

from typing import Any

from adapters.fhir.references import Fetch, Unresolvable, plan_reference, resource_key
from adapters.gathering.assembly import read_conditions
from adapters.gathering.parties import Resolve, read_issue
from fhir_coder.model import Diagnosis
from fhir_coder.outcome import Issue

__all__ = ["Listed", "listed_diagnoses", "listed_plans"]

Listed = dict[str, tuple[dict[str, Any], dict[str, Any] | Fetch]]
"""``Encounter.diagnosis`` entries by condition key, with how to reach each condition."""


def listed_plans(encounter: dict[str, Any], base: str, issues: list[Issue]) -> Listed:
    """``Encounter.diagnosis`` entries by condition key, with how to reach each condition."""
    source = resource_key(encounter)
    listed: Listed = {}
    for entry in encounter.get("diagnosis") or []:
        if not isinstance(entry, dict):
            continue
        plan = plan_reference(
            entry.get("condition"), base, container=encounter, expected_type="Condition"
        )
        if isinstance(plan, Unresolvable) or (
            isinstance(plan, Fetch) and plan.resource_type != "Condition"
        ):
            ref = (
                (entry.get("condition") or {}).get("reference")
                if isinstance(entry.get("condition"), dict)
                else None
            )
            why = plan.reason if isinstance(plan, Unresolvable) else "not a Condition"
            issues.append(
                read_issue(
                    f"Encounter.diagnosis reference {ref or '(none)'!r} cannot be followed: {why}",
                    source,
                    "Encounter.diagnosis.condition",
                    rule="READ-UNRESOLVED-REFERENCE",
                )
            )
            continue
        key = plan.key if isinstance(plan, Fetch) else f"#{plan.get('id')}"
        listed[key] = (entry, plan)
    return listed


def listed_diagnoses(
    encounter: dict[str, Any],
    resolve: Resolve,
    searched: list[dict[str, Any]],
    listed: Listed,
    issues: list[Issue],
) -> tuple[Diagnosis, ...]:
    """Conditions found for the encounter or listed on it, each with its listing."""
    by_key: dict[str, dict[str, Any]] = {resource_key(c): c for c in searched}
    listing_of: dict[str, dict[str, Any]] = {}
    for key, (entry, plan) in listed.items():
        found = by_key.get(key) or resolve(plan)
        if isinstance(found, str):
            issues.append(
                read_issue(
                    f"Encounter.diagnosis {key} cannot be read: {found}",
                    resource_key(encounter),
                    "Encounter.diagnosis.condition",
                    rule="READ-UNRESOLVED-REFERENCE",
                )
            )
            continue
        own = key if isinstance(plan, dict) else resource_key(found)
        by_key.setdefault(own, found)
        listing_of[own] = entry
    listing_by_object = {id(by_key[key]): entry for key, entry in listing_of.items()}
    return read_conditions(list(by_key.values()), listing_by_object, issues)
