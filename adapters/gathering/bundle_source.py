"""Encounters read straight from a FHIR Bundle: a Synthea export, a CDS Hooks prefetch, a test.

References inside a Bundle point at ``fullUrl`` values (``urn:uuid:...``) or at
``Type/id``; both are resolved here without a server. The encounters come out exactly as
the server gatherer would build them (through
:func:`adapters.gathering.assembly.assemble_encounter`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from adapters.fhir.reading import condition_key, read_providers, reference_of
from adapters.fhir.references import resource_key
from adapters.gathering.assembly import assemble_encounter, read_conditions
from fhir_coder.model import Encounter
from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["BundleIndex", "encounters_in_bundle"]


class BundleIndex:
    """The resources of one Bundle, findable by ``fullUrl`` and by ``Type/id``."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.by_key: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_key, by_type = self.by_key, self.by_type
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or "resourceType" not in resource:
                continue
            kind = resource["resourceType"]
            by_type[kind].append(resource)
            full_url = entry.get("fullUrl")
            if full_url:
                by_key[str(full_url)] = resource
            resource_id = resource.get("id")
            if resource_id:
                by_key[f"{kind}/{resource_id}"] = resource

    def resolve(self, reference: str) -> dict[str, Any] | None:
        """The resource ``reference`` points at, or None when the Bundle lacks it."""
        return self.by_key.get(reference) or self.by_key.get(reference.rsplit("/_history", 1)[0])

    def key_of(self, reference: str) -> str:
        """``Type/id`` of the resource ``reference`` points at, or "" when the Bundle lacks it."""
        found = self.resolve(reference)
        return resource_key(found) if found is not None else ""


def _linked(index: BundleIndex, kind: str, field: str) -> Mapping[int, list[dict[str, Any]]]:
    """Resources of ``kind`` grouped by the resource their ``field`` reference points at.

    Ask it with ``.get(id(target), ())``: a kind the Bundle lacks gives one shared empty map.
    """
    resources = index.by_type.get(kind)
    if not resources:
        return _NONE_LINKED
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for resource in resources:
        target = index.resolve(reference_of(resource.get(field)))
        if target is not None:
            grouped[id(target)].append(resource)
    return grouped


_NONE_LINKED: Mapping[int, list[dict[str, Any]]] = MappingProxyType({})
"""What :func:`_linked` gives for a kind of resource the Bundle has none of."""

_LINKS = (
    ("Condition", "encounter"),
    ("Procedure", "encounter"),
    ("Immunization", "encounter"),
    ("MedicationAdministration", "context"),
    ("Observation", "encounter"),
    ("Coverage", "beneficiary"),
)
"""The kinds of resource an encounter is assembled from, and the reference that links each
to its encounter (or, for a Coverage, its patient)."""


def _reasons_resolved(index: BundleIndex, procedures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``procedures`` with each ``reasonReference`` to a ``fullUrl`` written as ``Type/id``.

    Synthea and other Bundles point at ``urn:uuid:`` fullUrls; the diagnosis coded from a
    Condition is known by ``Condition/id``, so a reason must be too for the claim line to
    point at it. Only procedures that need it are copied; the Bundle itself is not changed.
    """
    out = procedures
    for position, procedure in enumerate(procedures):
        reasons = procedure.get("reasonReference")
        if not isinstance(reasons, list) or all(condition_key(reference_of(r)) for r in reasons):
            continue
        if out is procedures:
            out = list(procedures)
        out[position] = procedure | {
            "reasonReference": [
                {"reference": key} if (key := index.key_of(reference_of(r))) else r for r in reasons
            ]
        }
    return out


def _with_listed(
    index: BundleIndex, encounter: dict[str, Any], conditions: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """``conditions`` plus those ``Encounter.diagnosis`` names, and the listing of each."""
    found = list(conditions)
    listings: dict[int, dict[str, Any]] = {}
    for entry in encounter.get("diagnosis") or []:
        condition = index.resolve(reference_of((entry or {}).get("condition")))
        if condition is None:
            continue
        listings[id(condition)] = entry
        for c in found:
            if c is condition:
                break
        else:
            found.append(condition)
    return found, listings


def encounters_in_bundle(
    bundle: dict[str, Any], *, source_id: str, status: str | None = "finished"
) -> list[Encounter]:
    """The encounters of ``bundle`` (only those with ``status``, unless None), assembled."""
    index = BundleIndex(bundle)
    # only the kinds the Bundle has are grouped (most lack three of the six)
    linked = {kind: _linked(index, kind, field) for kind, field in _LINKS if kind in index.by_type}
    conditions = linked.get("Condition", _NONE_LINKED)
    procedures = linked.get("Procedure", _NONE_LINKED)
    immunizations = linked.get("Immunization", _NONE_LINKED)
    medications = linked.get("MedicationAdministration", _NONE_LINKED)
    observations = linked.get("Observation", _NONE_LINKED)
    coverages = linked.get("Coverage", _NONE_LINKED)
    encounters: list[Encounter] = []
    for resource in index.by_type["Encounter"]:
        if status is not None and resource.get("status") != status:
            continue
        patient = index.resolve(reference_of(resource.get("subject")))
        issues: list[Issue] = []
        if patient is None:
            issues.append(
                Issue(
                    Severity.ERROR,
                    IssueCode.NOT_FOUND,
                    f"Encounter/{resource.get('id')}: its subject is not in the Bundle",
                    rule="READ-UNRESOLVED-REFERENCE",
                    expression=("Encounter.subject",),
                    source=f"Encounter/{resource.get('id')}",
                )
            )
            patient = {"resourceType": "Patient", "id": "unknown"}
        found, listings = _with_listed(index, resource, conditions.get(id(resource), ()))
        encounters.append(
            assemble_encounter(
                resource,
                patient=patient,
                diagnoses=read_conditions(found, listings, issues),
                procedures=_reasons_resolved(index, procedures.get(id(resource), [])),
                coverages=coverages.get(id(patient), ()),
                providers=read_providers(resource),
                source_id=source_id,
                issues=issues,
                immunizations=immunizations.get(id(resource), ()),
                medications=medications.get(id(resource), ()),
                observations=observations.get(id(resource), ()),
            )
        )
    return encounters
