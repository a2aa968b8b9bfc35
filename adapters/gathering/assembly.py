"""Putting an encounter together from the resources that describe it, wherever they came from.

The server gatherer (:mod:`adapters.gathering.gather`) and the Bundle reader
(:mod:`adapters.gathering.bundle_source`) find the resources in different ways; this is the
one place that reads them into the core's :class:`fhir_coder.model.Encounter`. A resource a reader
cannot make sense of is reported with its id and left out: one bad resource never stops
the encounter.
"""

from __future__ import annotations

import calendar
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from adapters.fhir.reading import (
    BMI_LOINC,
    encounter_class,
    fhir_date,
    parse_fhir_datetime,
    read_codings,
    read_condition,
    read_coverage,
    read_immunization,
    read_locations,
    read_medication_administration,
    read_observation,
    read_patient,
    read_procedure,
    read_reason_codes,
    read_reason_references,
)
from adapters.fhir.references import resource_key
from adapters.gathering.parties import read_issue
from fhir_coder.model import CoverageRef, Diagnosis, Encounter, PatientFacts, Provider
from fhir_coder.outcome import Issue

__all__ = [
    "BAD_SHAPE",
    "INACTIVE_COVERAGE",
    "assemble_encounter",
    "condition_order",
    "last_day",
    "read_conditions",
    "read_each",
]

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
    if not resources:
        return ()
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


def condition_order(condition: dict[str, Any]) -> tuple[float, str]:
    """Where a Condition goes among an encounter's: when it was recorded, then its id.

    Unranked diagnoses are sequenced in the order their Conditions come
    (:func:`fhir_coder.coding.sequencing.in_claim_order`), and nothing else orders them: a
    server's search returns them in an order of its own, a Bundle in its entries' order, an
    NDJSON export in the order lines arrive in its files (which differs between export
    runs, file splits and downloads). So every reader sorts them by this key first, and the
    first-listed diagnosis of an encounter is the same whichever way it was read.
    Recorded (else onset) moment, UTC for a time without a zone and midnight UTC for a
    date; none last; ties (Conditions recorded together) by ``id``.
    """
    recorded = condition.get("recordedDate")
    if type(recorded) is str and recorded:  # the usual case, without the others read
        moment = _instant(recorded)
        if not math.isnan(moment):
            return (moment, str(condition.get("id") or ""))
    onset = condition.get("onsetPeriod")
    for value in (
        recorded,
        condition.get("onsetDateTime"),
        onset.get("start") if isinstance(onset, dict) else None,
    ):
        if isinstance(value, str) and value:
            moment = _instant(value)
            if not math.isnan(moment):  # a moment that reads
                return (moment, str(condition.get("id") or ""))
    return (math.inf, str(condition.get("id") or ""))


@functools.lru_cache(maxsize=10_000)  # a feed repeats its moments; bounded all the same
def _instant(value: str) -> float:
    """Seconds since the epoch of a FHIR date or dateTime; NaN when it does not read."""
    moment = parse_fhir_datetime(value)
    if isinstance(moment, datetime):
        seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    elif moment is not None:
        seconds = datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp()
    else:
        seconds = math.nan
    return seconds


def read_conditions(
    conditions: Sequence[dict[str, Any]],
    listings: Mapping[int, dict[str, Any]],
    issues: list[Issue],
) -> tuple[Diagnosis, ...]:
    """Conditions read, each joined with its ``Encounter.diagnosis`` entry (keyed by ``id()``).

    In :func:`condition_order`, whatever order they came in.
    """
    if len(conditions) > 1:
        conditions = sorted(conditions, key=condition_order)
    return read_each(
        conditions,
        lambda c: read_condition(c, listings.get(id(c)), issues=issues),
        issues,
    )


def _day(moment: date | None) -> date | None:
    return moment.date() if isinstance(moment, datetime) else moment


def last_day(value: object) -> date | None:
    """The last day a FHIR date or dateTime covers: ``2025`` ends on 31 December 2025."""
    day = fhir_date(value)
    if day is None or not isinstance(value, str):
        return day
    text = value.strip()
    if len(text) == 4:
        return date(day.year, 12, 31)
    if len(text) == 7:
        return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return day


def _in_force(
    coverages: list[dict[str, Any]],
    start: date | None,
    end: date | None,
    issues: list[Issue],
) -> list[dict[str, Any]]:
    """The Coverages whose period overlaps the encounter's; each other one is reported.

    A Coverage that ended before the visit, or starts after it, pays nothing for it: billed,
    it is denied (CARC 27, expenses incurred after coverage terminated) and it must not be
    the Claim's insurer. With no period on either side nothing is left out.
    """
    first, last = _day(start), _day(end or start)
    if first is None or last is None:
        return coverages
    kept: list[dict[str, Any]] = []
    for coverage in coverages:
        period = coverage.get("period")
        if not isinstance(period, dict):
            kept.append(coverage)
            continue
        begins, ends = fhir_date(period.get("start")), last_day(period.get("end"))
        if (begins is None or begins <= last) and (ends is None or ends >= first):
            kept.append(coverage)
            continue
        key = resource_key(coverage)
        when = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        issues.append(
            read_issue(
                f"{key} was not in force during the encounter ({when}; its period "
                f"{begins or '...'} to {ends or '...'}): left out of the claim",
                key,
                "Coverage.period",
                rule="COVERAGE-NOT-IN-FORCE",
            )
        )
    return kept


def _measured(observation: dict[str, Any]) -> bool:
    """Whether an Observation is one coding reads (its code is BMI or BMI percentile)."""
    code = observation.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    return isinstance(codings, list) and any(
        isinstance(c, dict) and c.get("code") in BMI_LOINC for c in codings
    )


def assemble_encounter(  # noqa: PLR0913 - one argument per kind of resource it is made of
    resource: dict[str, Any],
    *,
    patient: dict[str, Any],
    diagnoses: tuple[Diagnosis, ...],
    procedures: Sequence[dict[str, Any]],
    coverages: Sequence[dict[str, Any]],
    providers: tuple[Provider, ...],
    source_id: str,
    issues: list[Issue],
    immunizations: Sequence[dict[str, Any]] = (),
    medications: Sequence[dict[str, Any]] = (),
    observations: Sequence[dict[str, Any]] = (),
    patient_facts: PatientFacts | None = None,
    coverage_reader: Callable[[dict[str, Any]], CoverageRef] = read_coverage,
) -> Encounter:
    """The core's Encounter from its FHIR resources (inactive Coverage left out).

    ``observations`` are the encounter's Observations; only those coding reads (BMI and
    its percentile, :data:`adapters.fhir.reading.BMI_LOINC`) are kept. A caller assembling
    a patient's encounters one after another may pass ``read_patient(patient)`` as
    ``patient_facts`` and a ``coverage_reader`` that keeps what :func:`read_coverage` gave
    for each Coverage, so they are read once per patient, not once per encounter.
    """
    encounter_id = str(resource.get("id"))
    reference = f"Encounter/{encounter_id}"
    period = resource.get("period") or {}
    version = (resource.get("meta") or {}).get("versionId")
    start, end = parse_fhir_datetime(period.get("start")), parse_fhir_datetime(period.get("end"))
    active = _in_force(
        [c for c in coverages if c.get("status") not in INACTIVE_COVERAGE], start, end, issues
    )
    hospitalization = resource.get("hospitalization") or {}
    disposition = read_codings(hospitalization.get("dischargeDisposition"))
    # Elements most encounters do not send are read only when present (each reader gives
    # () for an absent one: the call is what is saved).
    reason_codes, reason_references = resource.get("reasonCode"), resource.get("reasonReference")
    admit_source, priority = hospitalization.get("admitSource"), resource.get("priority")
    return Encounter(
        id=encounter_id,
        reference=reference,
        status=str(resource.get("status") or ""),
        encounter_class=encounter_class(resource.get("class")),
        patient=patient_facts if patient_facts is not None else read_patient(patient),
        source_id=source_id,
        version_id=str(version) if version is not None else None,
        types=tuple(
            coding
            for concept in resource.get("type") or []
            for coding in read_codings(
                concept, issues=issues, source=reference, expression="Encounter.type"
            )
        ),
        period_start=start,
        period_end=end,
        diagnoses=diagnoses,
        procedures=read_each(procedures, lambda p: read_procedure(p, issues=issues), issues)
        if procedures
        else (),
        # (most encounters have neither: no reader is made for them)
        immunizations=read_each(
            immunizations, lambda i: read_immunization(i, issues=issues), issues
        )
        if immunizations
        else (),
        medications=read_each(
            medications, lambda m: read_medication_administration(m, issues=issues), issues
        )
        if medications
        else (),
        coverages=read_each(active, coverage_reader, issues),
        providers=providers,
        reason_codes=read_reason_codes(
            reason_codes, issues=issues, source=reference, expression="Encounter.reasonCode"
        )
        if reason_codes
        else (),
        reason_references=read_reason_references(
            reason_references,
            issues=issues,
            source=reference,
            expression="Encounter.reasonReference",
        )
        if reason_references
        else (),
        discharge_disposition=disposition[0].code if disposition else "",
        discharge_disposition_system=disposition[0].system if disposition else "",
        admit_source=read_codings(
            admit_source,
            issues=issues,
            source=reference,
            expression="Encounter.hospitalization.admitSource",
        )
        if admit_source
        else (),
        priority=read_codings(
            priority, issues=issues, source=reference, expression="Encounter.priority"
        )
        if priority
        else (),
        observations=read_each(
            [o for o in observations if _measured(o)],
            lambda r: read_observation(r, issues=issues),
            issues,
        )
        if observations
        else (),
        locations=read_locations(resource) if resource.get("location") else (),
        # last (keywords are evaluated in order): what every reader above dropped is in it
        read_issues=tuple(issues),
    )
