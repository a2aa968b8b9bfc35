"""Gathering one encounter and everything coding needs from a FHIR server.

Two rounds of requests: the Encounter, then its Conditions, Procedures, Patient and
Coverage concurrently (four requests in flight), and reads for any condition listed in
``Encounter.diagnosis`` that the search did not return. Reads of the resources the
encounter references follow the reference forms servers actually send; one that cannot
be followed is reported, not guessed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.client import FhirClient
from adapters.reading import (
    encounter_class,
    parse_fhir_datetime,
    read_condition,
    read_coverage,
    read_patient,
    read_procedure,
    read_providers,
    reference_of,
)
from fhir_coder.errors import CodingError
from fhir_coder.model import Diagnosis, Encounter
from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["gather_encounter", "split_reference"]

_INACTIVE_COVERAGE = frozenset({"cancelled", "entered-in-error", "draft"})


def split_reference(reference: str, base_url: str) -> tuple[str, str] | None:
    """``(type, id)`` for a literal reference to ``base_url``'s server, else None.

    Accepts ``Type/id``, ``Type/id/_history/v`` and absolute URLs under ``base_url``.
    Contained (``#x``), ``urn:uuid:`` and conditional references are not literal.
    """
    ref = reference.strip()
    base = base_url.rstrip("/") + "/"
    if ref.startswith(base):
        ref = ref[len(base) :]
    elif "://" in ref or ref.startswith(("#", "urn:")) or "?" in ref:
        return None
    parts = ref.split("/")
    if len(parts) in (2, 4) and parts[0][:1].isupper() and parts[1]:
        return parts[0], parts[1]
    return None


async def gather_encounter(
    fhir: FhirClient, encounter_id: str, *, source_id: str | None = None
) -> Encounter:
    """The encounter ``encounter_id`` with its patient, diagnoses, procedures and coverage.

    ``source_id`` names the EHR (default: the client's base URL) and so keys the Claim id.
    Raises ``FhirNotFoundError`` when the encounter does not exist and ``CodingError``
    when it has no patient that can be read.
    """
    resource = await fhir.read("Encounter", encounter_id)
    reference = f"Encounter/{encounter_id}"
    subject = split_reference(reference_of(resource.get("subject")), fhir.base_url)
    if subject is None or subject[0] != "Patient":
        raise CodingError(f"{reference} has no Patient subject that can be read")
    patient_ref = f"Patient/{subject[1]}"
    conditions, procedures, patient, coverages = await asyncio.gather(
        fhir.search_all("Condition", {"encounter": reference}),
        fhir.search_all("Procedure", {"encounter": reference}),
        fhir.read("Patient", subject[1]),
        fhir.search_all("Coverage", {"patient": patient_ref}),
    )
    issues: list[Issue] = []
    diagnoses = await _diagnoses(fhir, resource, conditions, issues)
    period = resource.get("period") or {}
    version = (resource.get("meta") or {}).get("versionId")
    return Encounter(
        id=encounter_id,
        reference=reference,
        status=str(resource.get("status") or ""),
        encounter_class=encounter_class(resource.get("class")),
        patient=read_patient(patient),
        source_id=source_id or fhir.base_url,
        version_id=str(version) if version is not None else None,
        period_start=parse_fhir_datetime(period.get("start")),
        period_end=parse_fhir_datetime(period.get("end")),
        diagnoses=diagnoses,
        procedures=tuple(read_procedure(p) for p in procedures),
        coverages=tuple(
            read_coverage(c) for c in coverages if c.get("status") not in _INACTIVE_COVERAGE
        ),
        providers=read_providers(resource),
        read_issues=tuple(issues),
    )


async def _diagnoses(
    fhir: FhirClient,
    encounter: dict[str, Any],
    searched: list[dict[str, Any]],
    issues: list[Issue],
) -> tuple[Diagnosis, ...]:
    """Conditions found by search, joined with the ``Encounter.diagnosis`` entries naming them.

    A condition the encounter lists but the search missed (a problem-list item, or a
    server that does not index ``Condition.encounter``) is read by its reference.
    """
    by_id = {str(c.get("id")): c for c in searched}
    listings: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for entry in encounter.get("diagnosis") or []:
        ref = reference_of((entry or {}).get("condition"))
        target = split_reference(ref, fhir.base_url)
        if target is None or target[0] != "Condition":
            issues.append(
                Issue(
                    Severity.WARNING,
                    IssueCode.NOT_SUPPORTED,
                    f"Encounter.diagnosis reference {ref or '(none)'!r} cannot be followed",
                    rule="READ-UNRESOLVED-REFERENCE",
                    expression=("Encounter.diagnosis.condition",),
                    source=f"Encounter/{encounter.get('id')}",
                )
            )
            continue
        listings[target[1]] = entry
        if target[1] not in by_id:
            missing.append(target[1])
    if missing:
        extra = await asyncio.gather(*(fhir.read("Condition", cid) for cid in missing))
        by_id.update({str(c.get("id")): c for c in extra})
    return tuple(read_condition(c, listings.get(cid)) for cid, c in by_id.items())
