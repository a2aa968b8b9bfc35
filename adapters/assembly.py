"""Putting an encounter together from the resources that describe it, wherever they came from.

The server gatherer (:mod:`adapters.gather`) and the Bundle reader
(:mod:`adapters.bundle_source`) find the resources in different ways; this is the one place
that reads them into the core's :class:`fhir_coder.model.Encounter`. A resource a reader
cannot make sense of is reported with its id and left out: one bad resource never stops
the encounter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters.parties import read_issue
from adapters.reading import (
    encounter_class,
    parse_fhir_datetime,
    read_codings,
    read_condition,
    read_coverage,
    read_patient,
    read_procedure,
)
from adapters.references import resource_key
from fhir_coder.model import Diagnosis, Encounter, Provider
from fhir_coder.outcome import Issue

__all__ = ["BAD_SHAPE", "INACTIVE_COVERAGE", "assemble_encounter", "read_conditions", "read_each"]

INACTIVE_COVERAGE = frozenset({"cancelled", "entered-in-error", "draft"})
"""Coverage statuses that cannot pay for an encounter."""

BAD_SHAPE = (TypeError, ValueError, AttributeError, KeyError)
"""What odd JSON makes a reader raise: caught per resource, reported, never fatal."""

T = TypeVar("T")


def read_each(
    resources: Sequence[dict[str, Any]],
    reader: Callable[[dict[str, Any]], T],
    issues: list[Issue],
) -> tuple[T, ...]:
    """Each resource read; one that makes the reader fail is reported by id and skipped."""
    out: list[T] = []
    for resource in resources:
        try:
            out.append(reader(resource))
        except BAD_SHAPE as exc:
            issues.append(
                read_issue(
                    f"{resource_key(resource)} could not be read ({type(exc).__name__}); left out",
                    resource_key(resource),
                    rule="READ-UNREADABLE",
                )
            )
    return tuple(out)


def read_conditions(
    conditions: Sequence[dict[str, Any]],
    listings: Mapping[int, dict[str, Any]],
    issues: list[Issue],
) -> tuple[Diagnosis, ...]:
    """Conditions read, each joined with its ``Encounter.diagnosis`` entry (keyed by ``id()``)."""
    return read_each(
        conditions,
        lambda c: read_condition(c, listings.get(id(c)), issues=issues),
        issues,
    )


def assemble_encounter(
    resource: dict[str, Any],
    *,
    patient: dict[str, Any],
    diagnoses: tuple[Diagnosis, ...],
    procedures: Sequence[dict[str, Any]],
    coverages: Sequence[dict[str, Any]],
    providers: tuple[Provider, ...],
    source_id: str,
    issues: list[Issue],
) -> Encounter:
    """The core's Encounter from its FHIR resources (inactive Coverage left out)."""
    encounter_id = str(resource.get("id"))
    reference = f"Encounter/{encounter_id}"
    period = resource.get("period") or {}
    version = (resource.get("meta") or {}).get("versionId")
    active = [c for c in coverages if c.get("status") not in INACTIVE_COVERAGE]
    disposition = read_codings((resource.get("hospitalization") or {}).get("dischargeDisposition"))
    return Encounter(
        id=encounter_id,
        reference=reference,
        status=str(resource.get("status") or ""),
        encounter_class=encounter_class(resource.get("class")),
        patient=read_patient(patient),
        source_id=source_id,
        version_id=str(version) if version is not None else None,
        types=tuple(
            coding
            for concept in resource.get("type") or []
            for coding in read_codings(
                concept, issues=issues, source=reference, expression="Encounter.type"
            )
        ),
        period_start=parse_fhir_datetime(period.get("start")),
        period_end=parse_fhir_datetime(period.get("end")),
        diagnoses=diagnoses,
        procedures=read_each(procedures, lambda p: read_procedure(p, issues=issues), issues),
        coverages=read_each(active, read_coverage, issues),
        providers=providers,
        read_issues=tuple(issues),
        discharge_disposition=disposition[0].code if disposition else "",
    )
