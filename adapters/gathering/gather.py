"""Gathering one encounter and everything coding needs from a FHIR server.

Two rounds. First the Encounter with its Conditions (``Condition?encounter=``) and
Procedures (``Procedure?encounter=``), which need nothing but the encounter's id; then
what the Encounter names and the run has not seen yet: Patient, Coverage, performers,
service provider, and conditions listed in ``Encounter.diagnosis`` that the search
missed. Each round is one batch Bundle where the server takes batches (decided from
``/metadata`` and the vendor profile), else concurrent requests. Resources seen earlier in
the run (the same practitioner, the same patient and their Coverage) come from the run's
:class:`~adapters.fhir.references.ReferenceCache`, so a warm run costs one round trip per
encounter. Every reference form is followed or reported, and one unreadable resource
becomes an issue naming it, never a failed run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.fhir.client import FhirClient, matches, outcome_warnings
from adapters.fhir.reading import BMI_LOINC, fhir_date, reference_of
from adapters.fhir.references import (
    Fetch,
    Unresolvable,
    literal_reference,
    plan_reference,
    resource_key,
    subject_patient_id,
)
from adapters.fhir.rounds import (
    GatherSession,
    ReadAlong,
    as_literal,
    resolved,
    run_round,
    session_for,
)
from adapters.fhir.search import Query
from adapters.gathering.assembly import assemble_encounter, last_day
from adapters.gathering.listing import listed_diagnoses, listed_plans
from adapters.gathering.parties import party_plans, providers, read_issue
from fhir_coder.errors import (
    CodingError,
    FhirError,
    FhirNotFoundError,
    NotFhirError,
)
from fhir_coder.model import Encounter
from fhir_coder.outcome import Issue

__all__ = ["GatherSession", "gather_encounter", "session_for", "split_reference"]

_ALONG = "read-along"  # the name a caller's extra read answers to in round one

_PAGE = "200"  # entries per page asked for: one page holds any real encounter's conditions
_NPI = "http://hl7.org/fhir/sid/us-npi"
_BATCH_REFUSED = frozenset({400, 404, 405, 415, 501})  # "no batches here", whatever /metadata says
_MEDICATIONS = "MedicationAdministration"  # searched by ``context``; a refusal only warns
# The Observations coding reads (BMI and its percentile: Z68, Guidelines I.B.14), by code,
# so a visit's hundred vital signs and results are not transferred for two values; a
# refusal only warns.
_MEASUREMENTS = "Observation"
_MEASURED = quote(",".join(f"http://loinc.org|{code}" for code in BMI_LOINC), safe=",")
_INCLUDE_SUSPECT = 100  # included resources of one type at which truncation is suspected


def split_reference(reference: str, base_url: str) -> tuple[str, str] | None:
    """``(type, id)`` for a literal reference to ``base_url``'s server, else None."""
    return literal_reference(reference, base_url)


async def _first_round_by_include(
    session: GatherSession, encounter_id: str, searches: dict[str, tuple[str, bool]]
) -> dict[str, dict[str, Any] | FhirError]:
    """Round one as one search: the Encounter with its Conditions and Procedures revincluded.

    For servers that declare ``_revinclude`` but take no batches. Every page is read; a
    type whose included count reaches :data:`_INCLUDE_SUSPECT` may have been cut short
    silently (Microsoft's server stops at 100 per type), so it is searched again plainly.
    """
    fhir = session.fhir
    query = (
        Query("Encounter")
        .where(_id=encounter_id)
        .revinclude("Condition:encounter", "Procedure:encounter")
        .limit(int(_PAGE))
    )
    entries: list[dict[str, Any]] = []
    try:
        async for page in fhir.pages(query):
            entries += [e for e in page.get("entry") or [] if isinstance(e, dict)]
    except FhirError as exc:
        return {"Encounter": exc}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            by_type.setdefault(str(resource.get("resourceType")), []).append(entry)
    encounters = [
        e["resource"]
        for e in by_type.get("Encounter", [])
        if e["resource"].get("id") == encounter_id
    ]
    where = f"{fhir.base_url}/Encounter/{encounter_id}"
    out: dict[str, dict[str, Any] | FhirError] = {
        "Encounter": encounters[0]
        if encounters
        else FhirNotFoundError(f"{where} was not found", url=where, status_code=404)
    }
    suspect = {
        name: url
        for name, url in searches.items()
        if len(by_type.get(name, [])) >= _INCLUDE_SUSPECT or name in (_MEDICATIONS, _MEASUREMENTS)
    }
    for name in searches:
        if name not in suspect:
            found = [{**e, "search": {"mode": "match"}} for e in by_type.get(name, [])]
            outcomes = by_type.get("OperationOutcome", []) if name == "Condition" else []
            out[name] = {"resourceType": "Bundle", "type": "searchset", "entry": found + outcomes}
    if suspect:
        out.update(await run_round(session, suspect, [], batch=False))
    return out


def _searchset(
    answer: dict[str, Any] | FhirError | None, resource_type: str
) -> list[dict[str, Any]]:
    """The matches of a search answer; a failed search stops the encounter, as it must."""
    if isinstance(answer, FhirError):
        raise answer
    return list(matches(answer or {}, resource_type))


def _coverage_fetch(patient_id: str) -> Fetch:
    url = f"Coverage?patient=Patient/{quote(patient_id)}&_count={_PAGE}"
    return Fetch(url, url, "Bundle", searchset=True)


def _immunization_fetch(patient_id: str) -> Fetch:
    """The patient's Immunizations, asked for once and kept like their Coverage.

    R4 has no ``encounter`` search on Immunization: each encounter takes its own from them.
    """
    url = f"Immunization?patient=Patient/{quote(patient_id)}&_count={_PAGE}"
    return Fetch(url, url, "Bundle", searchset=True)


def _immunizations_of(
    found: dict[str, Any] | None, encounter: dict[str, Any], base: str, issues: list[Issue]
) -> list[dict[str, Any]]:
    """The Immunizations given during ``encounter``: naming it, or naming none and dated in it."""
    reference = f"Encounter/{encounter.get('id')}"
    if found is None:
        issues.append(
            read_issue(
                f"the Immunization search for {reference}'s patient failed: vaccines given "
                "during the encounter, if any, are not on the claim",
                reference,
                "Immunization",
                rule="READ-IMMUNIZATIONS-UNAVAILABLE",
            )
        )
        return []
    period = encounter.get("period") or {}
    first = fhir_date(period.get("start"))
    last = last_day(period.get("end") or period.get("start"))
    kept: list[dict[str, Any]] = []
    for immunization in matches(found, "Immunization"):
        named = reference_of(immunization.get("encounter"))
        if named:
            target = literal_reference(named, base)
            if target is not None and f"{target[0]}/{target[1]}" == reference:
                kept.append(immunization)
            continue
        day = fhir_date(immunization.get("occurrenceDateTime"))
        if day is not None and first is not None and last is not None and first <= day <= last:
            kept.append(immunization)
    return kept


def _hinted_fetches(patient_hint: str, base: str) -> list[Fetch]:
    """The patient, their Coverage and Immunizations, in round one when the trigger named them."""
    if not patient_hint:
        return []
    plan = plan_reference({"reference": f"Patient/{patient_hint}"}, base, expected_type="Patient")
    if not isinstance(plan, Fetch):
        return []
    return [plan, _coverage_fetch(patient_hint), _immunization_fetch(patient_hint)]


def _clinical_searches(enc: str, patient: str | None) -> dict[str, tuple[str, bool]]:
    """The Condition and Procedure searches of an encounter, naming the patient if given.

    Servers that refuse a search without a patient (Epic wants ``patient`` and ``category``
    on Condition, Oracle Cerner ``patient`` on every search) get the US Core combination:
    the patient, the ``encounter-diagnosis`` category and the encounter.
    """
    if patient is None:
        return {
            "Condition": (f"Condition?encounter={enc}&_count={_PAGE}", True),
            "Procedure": (f"Procedure?encounter={enc}&_count={_PAGE}", True),
            _MEDICATIONS: (f"{_MEDICATIONS}?context={enc}&_count={_PAGE}", True),
            _MEASUREMENTS: (f"Observation?encounter={enc}&code={_MEASURED}&_count={_PAGE}", True),
        }
    who = quote(patient, safe="")
    condition = f"Condition?patient={who}&category=encounter-diagnosis&encounter={enc}"
    measured = f"Observation?patient={who}&category=vital-signs&code={_MEASURED}&encounter={enc}"
    return {
        "Condition": (f"{condition}&_count={_PAGE}", True),
        "Procedure": (f"Procedure?patient={who}&encounter={enc}&_count={_PAGE}", True),
        _MEDICATIONS: (f"{_MEDICATIONS}?patient={who}&context={enc}&_count={_PAGE}", True),
        _MEASUREMENTS: (f"{measured}&_count={_PAGE}", True),
    }


def _checked_encounter(answer: dict[str, Any] | FhirError, where: str) -> dict[str, Any]:
    if isinstance(answer, FhirError):
        raise answer
    if answer.get("resourceType") != "Encounter":
        raise NotFhirError(f"{where} gave {answer.get('resourceType')}", url=where)
    return answer


async def _by_patient_round(
    session: GatherSession, encounter_id: str, patient_hint: str
) -> dict[str, dict[str, Any] | FhirError]:
    """Round one for a server whose searches must name the patient.

    Without a hint the Encounter is read first, for its subject. With one, the searches
    go out beside the read; a hint the Encounter contradicts is searched again with the
    Encounter's own subject, so a wrong hint can never hide an encounter's diagnoses.
    """
    strategy = await session.decide()
    base = session.fhir.base_url
    reference = f"Encounter/{encounter_id}"
    enc = quote(reference, safe="/")
    first: dict[str, dict[str, Any] | FhirError] = {}
    if patient_hint:
        first = await run_round(
            session,
            {"Encounter": (enc, False), **_clinical_searches(enc, patient_hint)},
            _hinted_fetches(patient_hint, base),
            batch=strategy.batch,
        )
    else:
        first = await run_round(session, {"Encounter": (enc, False)}, [], batch=strategy.batch)
    resource = _checked_encounter(first["Encounter"], f"{base}/{reference}")
    subject = subject_patient_id(resource)
    if not subject:
        raise CodingError(
            f"{reference} names no Patient by id, and {base} searches Conditions and "
            "Procedures only by patient"
        )
    if subject != patient_hint:
        first = await run_round(
            session,
            _clinical_searches(enc, subject),
            _hinted_fetches(subject, base),
            batch=strategy.batch,
        )
        first["Encounter"] = resource
    return first


async def _firstrun_round(
    session: GatherSession,
    encounter_id: str,
    issues: list[Issue],
    patient_hint: str = "",
    along: ReadAlong | None = None,
) -> tuple[
    dict[str, Any],
    list[dict[str, Any]],
    list[dict[str, Any]],
    list[dict[str, Any]],
    list[dict[str, Any]],
]:
    """The Encounter, its Conditions, Procedures, drugs and BMI Observations, in one round.

    By batch, by include, or plainly. With a ``patient_hint`` (the subject id a trigger
    carried) the patient and their Coverage ride along in the same round, so a patient not
    seen before costs no second round for them. ``along`` rides in a batch round too (left
    unanswered otherwise).
    """
    strategy = await session.decide()
    base = session.fhir.base_url
    reference = f"Encounter/{encounter_id}"
    enc = quote(reference, safe="/")
    searches = _clinical_searches(enc, None)
    if strategy.by_patient:
        first = await _by_patient_round(session, encounter_id, patient_hint)
    elif strategy.include and not strategy.batch:
        first = await _first_round_by_include(session, encounter_id, searches)
    else:
        extra = {_ALONG: (along.url, False)} if along is not None and strategy.batch else {}
        first = await run_round(
            session,
            {"Encounter": (enc, False), **searches, **extra},
            _hinted_fetches(patient_hint, base),
            batch=strategy.batch,
        )
        if extra and along is not None:
            along.answer = first[_ALONG]
    resource = _checked_encounter(first["Encounter"], f"{base}/{reference}")
    for name in ("Condition", "Procedure", _MEDICATIONS):
        answer = first.get(name)
        if isinstance(answer, dict):
            issues.extend(outcome_warnings(answer, f"{base}/{name}"))
    return (
        resource,
        _searchset(first["Condition"], "Condition"),
        _searchset(first["Procedure"], "Procedure"),
        _medications(first.get(_MEDICATIONS), reference, issues),
        _measurements(first.get(_MEASUREMENTS), reference, issues),
    )


def _measurements(
    answer: dict[str, Any] | FhirError | None, reference: str, issues: list[Issue]
) -> list[dict[str, Any]]:
    """The BMI Observations found; a server that refuses the search costs only the Z68 code.

    Unlike Conditions and Procedures, without which the claim would be wrong, a missing
    measurement only leaves a BMI code out: the refusal becomes a warning, not a failure.
    """
    if isinstance(answer, dict):
        return list(matches(answer, _MEASUREMENTS))
    why = f" ({answer})" if answer is not None else ""
    issues.append(
        read_issue(
            f"the Observation search for {reference}'s BMI failed{why}: no Z68 code can be "
            "reported",
            reference,
            _MEASUREMENTS,
            rule="READ-OBSERVATIONS-UNAVAILABLE",
        )
    )
    return []


def _medications(
    answer: dict[str, Any] | FhirError | None, reference: str, issues: list[Issue]
) -> list[dict[str, Any]]:
    """The MedicationAdministrations found; a server that refuses the search only loses them.

    Drugs are billed only where an NDC-HCPCS crosswalk is configured, and many servers do
    not offer the resource: a refusal is a warning, not the end of the encounter.
    """
    if isinstance(answer, dict):
        return list(matches(answer, _MEDICATIONS))
    why = f" ({answer})" if answer is not None else ""
    issues.append(
        read_issue(
            f"the {_MEDICATIONS} search for {reference} failed{why}: drugs given during the "
            "encounter, if any, are not on the claim",
            reference,
            _MEDICATIONS,
            rule="READ-MEDICATIONS-UNAVAILABLE",
        )
    )
    return []


async def gather_encounter(
    fhir: FhirClient,
    encounter_id: str,
    *,
    source_id: str | None = None,
    session: GatherSession | None = None,
    patient_hint: str = "",
    along: ReadAlong | None = None,
) -> Encounter:
    """The encounter ``encounter_id`` with its patient, diagnoses, procedures and coverage.

    Round one asks for the Encounter with its Conditions and Procedures (they are found
    by the encounter's id, so need nothing from it); round two for what the Encounter
    names and the run has not seen yet: the patient, their Coverage, practitioners, the
    organisation, listed conditions the search missed. On a batch server each round is
    one request, and for a patient seen before round two is often empty.

    ``source_id`` names the EHR (default: the client's base URL) and so keys the Claim id.
    ``session`` carries the run's strategy and cache (default: one per client).
    ``patient_hint`` is the subject's id when the trigger carried the Encounter (see
    :func:`adapters.fhir.references.subject_patient_id`): round one then asks for the patient
    and their Coverage too; the Encounter read decides, so a wrong hint costs only reads.
    ``along`` is one more read for round one (the write-back's Claim), answered there on a
    batch server. Raises ``FhirNotFoundError`` when the encounter does not exist, ``CodingError``
    when it has no patient that can be read, and ``FhirError`` when its conditions,
    procedures or coverage cannot be searched.
    """
    session = session or session_for(fhir)
    reference = f"Encounter/{encounter_id}"
    issues: list[Issue] = []
    base = fhir.base_url
    resource, conditions, procedures, medications, measured = await _firstrun_round(
        session, encounter_id, issues, patient_hint, along
    )
    conditions = _own(conditions, reference, base, issues)
    procedures = _own(procedures, reference, base, issues)
    medications = _own(medications, reference, base, issues, field="context")
    measured = _own(measured, reference, base, issues)

    patient_plan = plan_reference(
        resource.get("subject"), base, container=resource, expected_type="Patient"
    )
    if isinstance(patient_plan, Fetch) and patient_plan.search:
        # A conditional subject must be found before Coverage can be searched by it.
        await run_round(session, {}, [patient_plan], batch=False)
        patient_plan = as_literal(session, patient_plan)
    patient_id = _patient_id(patient_plan)
    if patient_id is None:
        raise CodingError(f"{reference} has no Patient subject that can be read")
    coverage = _coverage_fetch(patient_id)
    immunization = _immunization_fetch(patient_id)
    listed = listed_plans(resource, base, issues)
    found_keys = {resource_key(c) for c in conditions}
    parties = party_plans(resource, base)
    fetches = [
        plan
        for plan in (
            patient_plan,
            coverage,
            immunization,
            *(plan for _, _, plan in parties),
            *(plan for key, (_, plan) in listed.items() if key not in found_keys),
        )
        if isinstance(plan, Fetch)
    ]
    strategy = await session.decide()  # round one may have found batches refused
    failed = await run_round(session, {}, fetches, batch=strategy.batch)
    if coverage.key not in session.cache.found:
        coverage_error = failed.get(coverage.key)
        if isinstance(coverage_error, FhirError):
            raise coverage_error
        where = f"{base}/Coverage"
        raise FhirError(f"the Coverage search for {reference}'s patient failed", url=where)

    patient = resolved(session, patient_plan)
    if isinstance(patient, str):
        raise CodingError(f"{reference} has no Patient subject that can be read: {patient}")
    coverage_bundle = session.cache.found.get(coverage.key) or {}

    def lookup(plan: dict[str, Any] | Fetch | Unresolvable) -> dict[str, Any] | str:
        return resolved(session, plan)

    issues.extend(outcome_warnings(coverage_bundle, f"{base}/Coverage"))
    return assemble_encounter(
        resource,
        patient=patient,
        diagnoses=listed_diagnoses(resource, lookup, conditions, listed, issues),
        procedures=procedures,
        coverages=list(matches(coverage_bundle, "Coverage")),
        providers=providers(resource, parties, lookup, issues),
        source_id=source_id or fhir.base_url,
        issues=issues,
        immunizations=_immunizations_of(
            session.cache.found.get(immunization.key), resource, base, issues
        ),
        medications=medications,
        observations=measured,
    )


def _own(
    found: list[dict[str, Any]],
    reference: str,
    base: str,
    issues: list[Issue],
    *,
    field: str = "encounter",
) -> list[dict[str, Any]]:
    """The searched resources that do point at this encounter.

    A server that ignores ``encounter=`` (unsupported parameters are silently dropped by
    lenient servers) answers with other encounters' Conditions; coding them would bill
    diagnoses this visit never had. A resource naming another encounter is left out with
    a warning; one naming none, or in a form that cannot be compared (a conditional or
    identifier-only reference), is kept, since some servers link only the other way.
    """
    kept: list[dict[str, Any]] = []
    for resource in found:
        named = reference_of(resource.get(field))
        target = literal_reference(named, base) if named else None
        if target is not None and f"{target[0]}/{target[1]}" != reference:
            issues.append(
                read_issue(
                    f"{resource_key(resource)} came back from the search for {reference} but "
                    f"names {named}: left out (does the server ignore the encounter parameter?)",
                    resource_key(resource),
                    f"{resource.get('resourceType')}.{field}",
                    rule="READ-SEARCH-MISMATCH",
                )
            )
            continue
        kept.append(resource)
    return kept


def _patient_id(plan: dict[str, Any] | Fetch | Unresolvable) -> str | None:
    if isinstance(plan, Fetch) and plan.resource_type == "Patient" and not plan.search:
        return plan.key.split("/", 1)[1]
    if isinstance(plan, dict) and plan.get("resourceType") == "Patient" and plan.get("id"):
        return str(plan["id"])
    return None
