"""Lenient reading of what FHIR servers send into the core's types.

Servers send year-only dates, OID systems, missing displays and extensions in place of
values; a reader that raises on any of that loses encounters. These functions take
plain JSON dicts (no model validation on the hot path), keep what coding needs, and
record what they had to drop as issues naming the resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from fhir_coder.model import (
    Coding,
    CoverageRef,
    Diagnosis,
    EncounterClass,
    EncounterLocation,
    Immunization,
    MedicationAdministration,
    Observation,
    PatientFacts,
    Procedure,
    ProcedureDevice,
    Provider,
    SourceRef,
)
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.systems import SNOMED, canonical_system

__all__ = [
    "BMI_LOINC",
    "condition_key",
    "encounter_class",
    "fhir_date",
    "parse_fhir_datetime",
    "read_codes",
    "read_codings",
    "read_condition",
    "read_coverage",
    "read_immunization",
    "read_locations",
    "read_medication_administration",
    "read_observation",
    "read_patient",
    "read_procedure",
    "read_procedure_devices",
    "read_providers",
    "read_reason_codes",
    "read_reason_references",
    "reference_of",
    "source_ref",
]

DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_HCC_SUFFIX = re.compile(r"\s*\((?:CMS\s*/\s*)?HCC\)\s*$", re.IGNORECASE)
_SCT_IN_TEXT = re.compile(r"\(\s*(?:SCT|SNOMED(?:\s*CT)?)\s*:?\s*(\d{6,18})\s*\)", re.IGNORECASE)


def _dropped(
    issues: list[Issue] | None, message: str, source: str, expression: str, *, quiet: bool = False
) -> None:
    """Record something the reader could not keep; ``quiet`` ones are information only."""
    if issues is not None:
        issues.append(
            Issue(
                Severity.INFORMATION if quiet else Severity.WARNING,
                IssueCode.INFORMATIONAL if quiet else IssueCode.INCOMPLETE,
                message,
                rule="READ-DROPPED",
                expression=(expression,) if expression else (),
                source=source,
            )
        )


_CLASS_ALIASES = {
    "inpatient": EncounterClass.INPATIENT,
    "outpatient": EncounterClass.AMBULATORY,
    "ambulatory": EncounterClass.AMBULATORY,
    "emergency": EncounterClass.EMERGENCY,
    "wellness": EncounterClass.AMBULATORY,  # Synthea's class for check-ups
    "urgentcare": EncounterClass.AMBULATORY,
}


_CLASS_BY_CODE = {member.value: member for member in EncounterClass}
"""``EncounterClass(code)`` as a dict: calling an enum costs a microsecond, a lookup does not."""


def parse_fhir_datetime(value: object) -> datetime | date | None:
    """A FHIR date or dateTime; partial dates (``2002``, ``2002-05``) become their first day."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        return None


_DAYS: dict[str, date | None] = {}
_MEMO_LIMIT = 10_000


def fhir_date(value: object) -> date | None:
    """A FHIR date or dateTime as its calendar day; a feed repeats its days, so they are kept."""
    if not isinstance(value, str):
        return None
    if value in _DAYS:
        return _DAYS[value]
    moment = parse_fhir_datetime(value)
    day = moment.date() if isinstance(moment, datetime) else moment
    if len(_DAYS) >= _MEMO_LIMIT:
        _DAYS.clear()
    _DAYS[value] = day
    return day


_CODINGS: dict[tuple[str, str, str, bool], Coding] = {}
_READ: dict[tuple[object, object, str | None, bool] | None, Coding] = {}
"""Usable codings by their elements as sent (system, code, display, userSelected): what
:func:`read_codings` made of them, so a coding read before costs one lookup."""


def _coding(system: str, code: str, display: object, user_selected: bool) -> Coding:
    """One Coding, shared by every concept that sends the same one (codings are values)."""
    text = display if isinstance(display, str) else str(display or "")
    key = (system, code, text, user_selected)
    found = _CODINGS.get(key)
    if found is None:
        found = Coding(
            system=system,
            code=code.strip(),
            display=_HCC_SUFFIX.sub("", text),
            user_selected=user_selected,
        )
        if len(_CODINGS) >= _MEMO_LIMIT:
            _CODINGS.clear()
        _CODINGS[key] = found
    return found


def read_codings(
    concept: object,
    *,
    issues: list[Issue] | None = None,
    source: str = "",
    expression: str = "",
) -> tuple[Coding, ...]:
    """The codings of a CodeableConcept, systems made canonical, unusable codings left out.

    Each coding dropped (not an object, no code, a ``data-absent-reason`` placeholder) is
    recorded in ``issues`` naming ``source``. Displays lose EHR suffixes such as
    ``(CMS/HCC)``. A SNOMED CT code written only in ``text`` (``Angina (SCT 194828000)``)
    becomes a coding, with a note, since coding would otherwise see nothing.
    """
    if not isinstance(concept, dict):
        return ()
    out: list[Coding] = []
    has_snomed = False
    for raw in concept.get("coding") or []:
        # a coding read before, as sent: its Coding at once (a feed repeats its codes); the
        # key is :func:`_sent`'s, written out here since every coding of a feed asks it
        coding = None
        if isinstance(raw, dict):
            display = raw.get("display")
            if display is None or type(display) is str:
                coding = _READ.get(
                    (raw.get("system"), raw.get("code"), display, raw.get("userSelected") is True)
                )
        if coding is None:
            coding = _read_coding(raw, issues, source, expression)
            if coding is None:
                continue
        out.append(coding)
        has_snomed = has_snomed or coding.system == SNOMED
    text = concept.get("text")
    if isinstance(text, str) and not has_snomed:
        found = _SCT_IN_TEXT.search(text)
        if found:
            out.append(Coding(SNOMED, found.group(1), display=text[: found.start()].strip()))
            _dropped(
                issues,
                f"SNOMED CT {found.group(1)} read from the text, no coding carried it",
                source,
                expression,
                quiet=True,
            )
    return tuple(out)


def _sent(raw: dict[str, Any]) -> tuple[object, object, str | None, bool] | None:
    """A coding's elements as sent, the key of :data:`_READ` (None: a display not text)."""
    display = raw.get("display")
    if display is not None and type(display) is not str:
        return None
    return (raw.get("system"), raw.get("code"), display, raw.get("userSelected") is True)


def _read_coding(
    raw: object, issues: list[Issue] | None, source: str, expression: str
) -> Coding | None:
    """One coding of a concept read, or None when it is dropped (recorded in ``issues``)."""
    if not isinstance(raw, dict):
        _dropped(issues, "a coding that is not an object was dropped", source, expression)
        return None
    code = raw.get("code")
    system = canonical_system(raw.get("system"))
    if system == DATA_ABSENT_REASON:
        _dropped(issues, f"the code is absent ({code or 'unknown'})", source, expression)
        return None
    if not isinstance(code, str) or not code.strip():
        _dropped(
            issues,
            f"a coding without a code ({system or 'no system'}) was dropped",
            source,
            expression,
        )
        return None
    coding = _coding(system, code, raw.get("display"), raw.get("userSelected") is True)
    key = _sent(raw)
    if key is not None:
        if len(_READ) >= _MEMO_LIMIT:
            _READ.clear()
        _READ[key] = coding
    return coding


def source_ref(resource: dict[str, Any]) -> SourceRef:
    """``Type/id`` of a resource with the version that was read."""
    meta = resource.get("meta")
    version = meta.get("versionId") if meta else None
    return SourceRef(
        f"{resource.get('resourceType')}/{resource.get('id')}",
        str(version) if version is not None else None,
    )


def reference_of(value: object) -> str:
    """The ``reference`` string of a Reference element, or an empty string."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            return ref
    return ""


def read_codes(concept: object) -> tuple[str, ...]:
    """The codes :func:`read_codings` would give, without making the codings.

    For the concepts only a code is read from (statuses, categories, roles). A concept
    with ``text`` goes through :func:`read_codings` for its SNOMED CT-in-text rule.
    """
    if not isinstance(concept, dict):
        return ()
    if isinstance(concept.get("text"), str):
        return tuple(c.code for c in read_codings(concept))
    codings = concept.get("coding") or []
    if type(codings) is list and len(codings) == 1 and type(raw := codings[0]) is dict:
        # The usual status or category: one coding, whose answer its system and code decide.
        system, code = raw.get("system"), raw.get("code")
        if type(system) is str and type(code) is str:
            key = (system, code)
            found = _CODES.get(key)
            if found is None:
                found = _codes_in(codings)
                if len(_CODES) >= _MEMO_LIMIT:
                    _CODES.clear()
                _CODES[key] = found
            return found
    return _codes_in(codings)


_CODES: dict[tuple[str, str], tuple[str, ...]] = {}


def _codes_in(codings: Iterable[object]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in codings:
        if not isinstance(raw, dict):
            continue
        code = raw.get("code")
        if canonical_system(raw.get("system")) == DATA_ABSENT_REASON:
            continue
        if isinstance(code, str) and code.strip():
            out.append(code.strip())
    return tuple(out)


def _first_code(concept: object) -> str:
    if type(concept) is dict and "text" not in concept:
        # a status or use as usually sent (one coding, read before): the answer at once
        codings = concept.get("coding")
        if type(codings) is list and len(codings) == 1 and type(raw := codings[0]) is dict:
            system, code = raw.get("system"), raw.get("code")
            if type(system) is str and type(code) is str:
                found = _CODES.get((system, code))
                if found is not None:
                    return found[0] if found else ""
    codes = read_codes(concept)
    return codes[0] if codes else ""


def _codes_of(concepts: object) -> tuple[str, ...]:
    if not isinstance(concepts, list):
        return ()
    if len(concepts) == 1:  # the usual case: the concept's own tuple
        return read_codes(concepts[0])
    return tuple(code for concept in concepts for code in read_codes(concept))


def encounter_class(value: object) -> EncounterClass:
    """``Encounter.class`` (a Coding in R4) as the core's enum; unknown codes become OTHER."""
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, str):
        return EncounterClass.OTHER
    found = _CLASS_BY_CODE.get(code.upper())
    if found is None:
        return _CLASS_ALIASES.get(code.lower(), EncounterClass.OTHER)
    return found


def read_patient(resource: dict[str, Any]) -> PatientFacts:
    """Sex and birth date only: the rest of the Patient is PHI coding does not need."""
    gender = resource.get("gender")
    return PatientFacts(
        reference=f"Patient/{resource.get('id')}",
        sex=gender if gender in ("female", "male", "other", "unknown") else "unknown",
        birth_date=fhir_date(resource.get("birthDate")),
    )


def read_condition(
    resource: dict[str, Any],
    listing: dict[str, Any] | None = None,
    *,
    issues: list[Issue] | None = None,
) -> Diagnosis:
    """A Condition, with the ``Encounter.diagnosis`` entry that lists it, if any."""
    use = ""
    rank: int | None = None
    if listing is not None:
        use = _first_code(listing.get("use"))
        raw_rank = listing.get("rank")
        rank = raw_rank if isinstance(raw_rank, int) and raw_rank > 0 else None
    code = resource.get("code")
    where = source_ref(resource)
    sites = resource.get("bodySite")
    # the dateTime, else the period (most Conditions have no onset period and no abatement)
    onset = fhir_date(resource.get("onsetDateTime"))
    if onset is None and (span := resource.get("onsetPeriod")):
        onset = fhir_date(span.get("start"))
    abated = resource.get("abatementDateTime")  # (most Conditions have none: no call then)
    abatement = fhir_date(abated) if abated is not None else None
    if abatement is None and (span := resource.get("abatementPeriod")):
        abatement = fhir_date(span.get("end"))
    return Diagnosis(
        source=where,
        codings=read_codings(
            code, issues=issues, source=where.reference, expression="Condition.code"
        ),
        text=str(code.get("text") or "") if isinstance(code, dict) else "",
        category=_codes_of(resource.get("category")),
        verification=_first_code(resource.get("verificationStatus")),
        clinical_status=_first_code(resource.get("clinicalStatus")),
        listed_on_encounter=listing is not None,
        use=use,
        rank=rank,
        onset=onset,
        recorded=fhir_date(resource.get("recordedDate")),
        body_sites=tuple(
            coding
            for site in sites
            for coding in read_codings(
                site, issues=issues, source=where.reference, expression="Condition.bodySite"
            )
        )
        if sites
        else (),
        abatement=abatement,
    )


BMI_LOINC = ("39156-5", "59576-9")
"""LOINC codes of the Observations coding reads: body mass index and its percentile for
age and sex (Z68 codes, ICD-10-CM Official Guidelines I.B.14)."""


def read_observation(resource: dict[str, Any], *, issues: list[Issue] | None = None) -> Observation:
    """An Observation's code, ``valueQuantity`` and date (the measurements coding reads)."""
    where = source_ref(resource)
    quantity = resource.get("valueQuantity")
    value: float | None = None
    unit = ""
    if isinstance(quantity, dict):
        raw = quantity.get("value")
        value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        unit = str(quantity.get("code") or quantity.get("unit") or "")
    return Observation(
        source=where,
        codings=read_codings(
            resource.get("code"),
            issues=issues,
            source=where.reference,
            expression="Observation.code",
        ),
        value=value,
        unit=unit,
        effective=fhir_date(resource.get("effectiveDateTime"))
        or fhir_date((resource.get("effectivePeriod") or {}).get("start")),
        status=str(resource.get("status") or ""),
    )


def condition_key(reference: str) -> str:
    """``Condition/id`` for a Condition reference (relative, versioned or absolute), else "".

    The key is the form a Condition's :class:`SourceRef` takes, so a procedure's reason
    can be matched with the diagnosis coded from it whatever URL form the server wrote.
    """
    parts = reference.strip().split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == "Condition" and parts[-1]:
        return f"Condition/{parts[-1]}"
    return ""


def read_reason_references(
    values: object,
    *,
    issues: list[Issue] | None = None,
    source: str = "",
    expression: str = "Procedure.reasonReference",
) -> tuple[str, ...]:
    """The Conditions a ``reasonReference`` list names, as ``Condition/id`` keys.

    Other targets R4 allows (Observation, DiagnosticReport...) and references that cannot
    be followed here (``#contained``, a ``urn:uuid:`` the Bundle reader did not resolve)
    are left out with a note: they cannot point at a claim diagnosis.
    """
    if not isinstance(values, list) or not values:
        return ()
    keys: list[str] = []
    for value in values:
        reference = reference_of(value)
        key = condition_key(reference)
        if key:
            if key not in keys:
                keys.append(key)
            continue
        _dropped(
            issues,
            f"reason {reference or '(no reference)'!r} is not a Condition that can be followed: "
            "not used for coding",
            source,
            expression,
            quiet=True,
        )
    return tuple(keys)


def read_reason_codes(
    values: object, *, issues: list[Issue] | None = None, source: str = "", expression: str
) -> tuple[Coding, ...]:
    """The codings of a ``reasonCode`` list (Procedure's or Encounter's), in order."""
    if not isinstance(values, list):
        return ()
    return tuple(
        coding
        for concept in values
        for coding in read_codings(concept, issues=issues, source=source, expression=expression)
    )


def read_procedure(resource: dict[str, Any], *, issues: list[Issue] | None = None) -> Procedure:
    """A Procedure with the date it was performed (from a dateTime or a period's start).

    Its reasons (``reasonReference`` to Conditions, ``reasonCode``) are kept: they say
    which diagnoses the claim line points at.
    """
    performed = fhir_date(resource.get("performedDateTime"))
    if performed is None:
        performed = fhir_date((resource.get("performedPeriod") or {}).get("start"))
    code = resource.get("code")
    where = source_ref(resource)
    return Procedure(
        source=where,
        codings=read_codings(
            code, issues=issues, source=where.reference, expression="Procedure.code"
        ),
        text=str(code.get("text") or "") if isinstance(code, dict) else "",
        status=str(resource.get("status") or ""),
        performed=performed,
        reason_references=read_reason_references(
            resource.get("reasonReference"), issues=issues, source=where.reference
        ),
        reason_codes=read_reason_codes(
            resource.get("reasonCode"),
            issues=issues,
            source=where.reference,
            expression="Procedure.reasonCode",
        ),
        # what a cath lab's or OR's record adds: read only when present (Synthea sends none)
        body_sites=_procedure_sites(resource["bodySite"], issues, where.reference)
        if "bodySite" in resource
        else (),
        devices=read_procedure_devices(resource)
        if "focalDevice" in resource or "usedCode" in resource
        else (),
        methods=_methods(resource["extension"]) if "extension" in resource else (),
    )


def _methods(extensions: object) -> tuple[Coding, ...]:
    """The codings of the ``procedure-method`` extensions among ``extensions``."""
    listed = extensions if isinstance(extensions, list) else []
    return tuple(
        coding
        for extension in listed
        if isinstance(extension, dict) and extension.get("url") == PROCEDURE_METHOD
        for coding in read_codings(extension.get("valueCodeableConcept"))
    )


def _procedure_sites(sites: object, issues: list[Issue] | None, source: str) -> tuple[Coding, ...]:
    """``Procedure.bodySite``'s codings; a site stated in ``text`` alone is kept as its words.

    A site nobody coded still says where the procedure was done (an ICD-10-PCS code built
    from the body sites must not be built as if it were not there), so it becomes a coding
    with no system or code and the text as its display.
    """
    out: list[Coding] = []
    for site in sites if isinstance(sites, list) else []:
        codings = read_codings(site, issues=issues, source=source, expression="Procedure.bodySite")
        text = str(site.get("text") or "").strip() if isinstance(site, dict) else ""
        out.extend(codings or ((Coding("", "", text),) if text else ()))
    return tuple(out)


PROCEDURE_METHOD = "http://hl7.org/fhir/StructureDefinition/procedure-method"
"""The core extension that states how a Procedure was done (its approach, when it says)."""
_REMOVED_ACTIONS = frozenset({"explanted", "removed", "129303008"})
"""``focalDevice.action`` values saying the device came out: STU3's device-action code
``explanted`` and, in R4's example value set, SNOMED CT 129303008 |Removal - action|."""


def read_procedure_devices(resource: dict[str, Any]) -> tuple[ProcedureDevice, ...]:
    """The devices and grafts a Procedure names, as their kind is stated.

    ``focalDevice.manipulated`` is followed to a contained ``Device`` (its ``type`` and
    ``deviceName``), else its ``display`` is the statement; ``usedCode`` entries are
    items used, not counted as devices.
    """
    contained = {
        f"#{item.get('id')}": item
        for item in resource.get("contained") or []
        if isinstance(item, dict) and item.get("resourceType") == "Device"
    }
    out: list[ProcedureDevice] = []
    for entry in resource.get("focalDevice") or []:
        if not isinstance(entry, dict):
            continue
        manipulated = entry.get("manipulated")
        device = contained.get(reference_of(manipulated), {})
        names = [
            str(name.get("name") or "")
            for name in device.get("deviceName") or []
            if isinstance(name, dict)
        ]
        kind = device.get("type")
        text = " ".join(
            part
            for part in (
                str(kind.get("text") or "") if isinstance(kind, dict) else "",
                *names,
                str(manipulated.get("display") or "") if isinstance(manipulated, dict) else "",
            )
            if part
        )
        action = entry.get("action")
        actions = {c.code for c in read_codings(action)} | (
            {str(action.get("text") or "").lower()} if isinstance(action, dict) else set()
        )
        out.append(
            ProcedureDevice(
                codings=read_codings(kind),
                text=text,
                focal=True,
                removed=bool(actions & _REMOVED_ACTIONS),
            )
        )
    out.extend(
        ProcedureDevice(codings=read_codings(used), text=str(used.get("text") or ""))
        for used in resource.get("usedCode") or []
        if isinstance(used, dict)
    )
    return tuple(out)


def read_immunization(
    resource: dict[str, Any], *, issues: list[Issue] | None = None
) -> Immunization:
    """An Immunization: its vaccine codes, status, date and route (for the administration code)."""
    where = source_ref(resource)
    vaccine = resource.get("vaccineCode")
    route = read_codings(resource.get("route"))
    return Immunization(
        source=where,
        vaccine=read_codings(
            vaccine, issues=issues, source=where.reference, expression="Immunization.vaccineCode"
        ),
        status=str(resource.get("status") or ""),
        occurred=fhir_date(resource.get("occurrenceDateTime")),
        route=route[0].code if route else "",
        text=str(vaccine.get("text") or "") if isinstance(vaccine, dict) else "",
    )


def read_medication_administration(
    resource: dict[str, Any], *, issues: list[Issue] | None = None
) -> MedicationAdministration:
    """A MedicationAdministration: the drug's codes (NDC, RxNorm...), status, date and dose."""
    where = source_ref(resource)
    when = fhir_date(resource.get("effectiveDateTime"))
    if when is None:
        when = fhir_date((resource.get("effectivePeriod") or {}).get("start"))
    dose = ((resource.get("dosage") or {}).get("dose")) or {}
    value = dose.get("value") if isinstance(dose, dict) else None
    return MedicationAdministration(
        source=where,
        medication=read_codings(
            resource.get("medicationCodeableConcept"),
            issues=issues,
            source=where.reference,
            expression="MedicationAdministration.medicationCodeableConcept",
        ),
        status=str(resource.get("status") or ""),
        occurred=when,
        dose=float(value) if isinstance(value, int | float) else None,
        dose_unit=str(dose.get("code") or dose.get("unit") or "") if isinstance(dose, dict) else "",
    )


def read_locations(encounter: dict[str, Any]) -> tuple[EncounterLocation, ...]:
    """``Encounter.location`` as stayed in: planned entries left out, the rest in order."""
    found: list[EncounterLocation] = []
    for raw in encounter.get("location") or []:
        if not isinstance(raw, dict) or raw.get("status") == "planned":
            continue
        location = raw.get("location")
        display = location.get("display") if isinstance(location, dict) else None
        period = raw.get("period")
        if not isinstance(period, dict):
            period = {}
        found.append(
            EncounterLocation(
                reference=reference_of(location),
                display=display if isinstance(display, str) else "",
                start=parse_fhir_datetime(period.get("start")),
                end=parse_fhir_datetime(period.get("end")),
            )
        )
    return tuple(found)


def read_coverage(resource: dict[str, Any]) -> CoverageRef:
    """A Coverage with its first payer, its type and the payer's identifiers."""
    payors = resource.get("payor") or []
    payer = payors[0] if payors and isinstance(payors[0], dict) else {}
    order = resource.get("order")
    reference = reference_of(payer)
    return CoverageRef(
        reference=f"Coverage/{resource.get('id')}",
        status=str(resource.get("status") or ""),
        payer_reference=reference,
        payer_display=str(payer.get("display") or ""),
        order=order if isinstance(order, int) else None,
        types=read_codings(resource.get("type")),
        payer_identifiers=_payer_identifiers(payer, reference),
    )


def _payer_identifiers(payer: dict[str, Any], reference: str) -> tuple[str, ...]:
    """The payer's identifier values: a logical ``identifier``, or a conditional reference's.

    ``Organization?identifier=system|value`` (how Synthea-based exports point at payers)
    names the payer by identifier as surely as ``payor.identifier`` does.
    """
    identifier = payer.get("identifier")
    if identifier is None and "?identifier=" not in reference:
        return ()  # the usual payer: a plain reference
    found: list[str] = []
    if isinstance(identifier, dict) and isinstance(value := identifier.get("value"), str):
        found.append(value.strip())
    _, sep, query = reference.partition("?identifier=")
    if sep and query:
        found.append(query.rpartition("|")[2].split("&", 1)[0].strip())
    return tuple(dict.fromkeys(value for value in found if value))


def read_providers(encounter: dict[str, Any]) -> tuple[Provider, ...]:
    """The encounter's participants that are practitioners, and its service provider."""
    providers: list[Provider] = []
    for participant in encounter.get("participant") or []:
        if not isinstance(participant, dict):
            continue
        individual = participant.get("individual") or {}
        ref = reference_of(individual)
        if not ref.startswith(("Practitioner/", "PractitionerRole/")) and "Practitioner" not in ref:
            continue
        roles = _codes_of(participant.get("type"))
        providers.append(
            Provider(
                reference=ref,
                role="attender" if "ATND" in roles else "performer",
                display=str(individual.get("display") or ""),
            )
        )
    service = encounter.get("serviceProvider")
    ref = reference_of(service)
    if ref and isinstance(service, dict):
        providers.append(
            Provider(
                reference=ref, role="service-provider", display=str(service.get("display") or "")
            )
        )
    return tuple(providers)
