"""Reading any R4 Claim, leniently, into the form the scrubber's edits take.

Accepts a Claim, a Claim with a contained Patient, or a Bundle (a transaction, a search
result, a Synthea record) holding Claims and their Patients; an ExplanationOfBenefit can
be turned into the Claim it adjudicated (:func:`claim_from_eob`). Nothing here rejects
a Claim for what it lacks: a missing element becomes an empty value, which the structure
edits then report with its FHIRPath. Only the patient's sex and age on the date of
service are kept: the rest of the Patient is PHI the edits do not need.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

import orjson

from adapters.fhir.reading import fhir_date
from fhir_coder.claim_parts import DATA_ABSENT_REASON
from fhir_coder.systems import ICD10CM, canonical_system
from fhir_coder.validation import (
    ClaimForm,
    DiagnosisEntry,
    InsuranceEntry,
    ItemEntry,
    ProcedureEntry,
)

__all__ = [
    "ClaimInput",
    "age_on",
    "claim_from_eob",
    "claims_in",
    "claims_in_ndjson",
    "read_claim",
]

_CLAIM_TYPES: Final = frozenset({"institutional", "professional", "oral", "pharmacy", "vision"})
_SEXES: Final = frozenset({"male", "female"})
_EOB_KEYS: Final = (
    "id",
    "identifier",
    "type",
    "subType",
    "use",
    "patient",
    "billablePeriod",
    "created",
    "enterer",
    "insurer",
    "provider",
    "priority",
    "related",
    "prescription",
    "payee",
    "referral",
    "facility",
    "careTeam",
    "supportingInfo",
    "diagnosis",
    "procedure",
    "accident",
    "contained",
)


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """A Claim found in a file, with the Patient the same file holds for it (if any)."""

    claim: dict[str, Any]
    patient: dict[str, Any] | None
    label: str


def claims_in(
    resource: dict[str, Any],
    *,
    with_eobs: bool = False,
    known_patients: dict[str, dict[str, Any]] | None = None,
) -> Iterator[ClaimInput]:
    """Every Claim in ``resource`` (itself, or in a Bundle, at any depth), with its Patient.

    With ``with_eobs``, each ExplanationOfBenefit also yields the Claim derived from it.
    ``known_patients`` (``Patient/id`` -> Patient) answers for Patients kept elsewhere: the
    ``Patient.ndjson`` beside an export's claims.
    """
    resources = list(_walk(resource))
    patients = {
        f"Patient/{r.get('id')}": r for r in resources if r.get("resourceType") == "Patient"
    }
    full_urls = {str(r.get("_fullUrl")): r for r in resources if r.get("resourceType") == "Patient"}
    only = next(iter(patients.values())) if len(patients) == 1 else None
    if known_patients:
        patients = {**known_patients, **patients}
    for found in resources:
        kind = found.get("resourceType")
        if kind == "ExplanationOfBenefit" and with_eobs:
            claim = claim_from_eob(found)
        elif kind == "Claim":
            claim = found
        else:
            continue
        reference = _reference(claim.get("patient"))
        patient = (
            _contained(claim, reference)
            or patients.get(reference)
            or full_urls.get(reference)
            or only
        )
        yield ClaimInput(claim, patient, f"{kind}/{found.get('id', '?')}")


_CLAIM_KINDS: Final = (b"Claim", b"ExplanationOfBenefit")


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opened = gzip.GzipFile(path, "rb") if path.name.endswith(".gz") else path.open("rb")
    with cast("BinaryIO", opened) as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line


def _patient_facts(resource: dict[str, Any]) -> dict[str, Any]:
    """What the edits read of a Patient (sex and birth date): a population's worth fits."""
    return {k: resource[k] for k in ("resourceType", "id", "gender", "birthDate") if k in resource}


def _patients_of(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Every Patient in the files (at any depth of a Bundle line), by ``Patient/id``."""
    patients: dict[str, dict[str, Any]] = {}
    for path in paths:
        for _, line in _lines(path):
            if b"Patient" not in line:
                continue
            for found in _parsed(line):
                for inner in _walk(found):
                    if inner.get("resourceType") == "Patient":
                        patients[f"Patient/{inner.get('id')}"] = _patient_facts(inner)
    return patients


def claims_in_ndjson(
    files: Iterable[Path], *, with_eobs: bool = False, problems: list[str] | None = None
) -> Iterator[ClaimInput]:
    """Every Claim in NDJSON ``files``, each with its Patient.

    The files are Bulk Data exports (CMS BCDA and Blue Button
    ``ExplanationOfBenefit.ndjson`` beside ``Patient.ndjson``) or fhir-coder's own NDJSON
    destination (a transaction Bundle a line). The Patients of every file are read first,
    keeping only sex and birth date, so a Claim finds its Patient whatever file holds it;
    the Claims are then streamed line by line. A line that is not a FHIR resource is added
    to ``problems`` (file and line) and the next is read.
    """
    paths = list(files)
    patients = _patients_of(paths)
    for path in paths:
        for number, line in _lines(path):
            if not any(kind in line for kind in _CLAIM_KINDS):
                continue
            parsed = _parsed(line)
            if not parsed and problems is not None:
                problems.append(f"{path.name}:{number}: not a FHIR resource; line skipped")
            for resource in parsed:
                for entry in claims_in(resource, with_eobs=with_eobs, known_patients=patients):
                    yield replace(entry, label=f"{path.name}:{number} {entry.label}")


def _parsed(line: bytes) -> list[dict[str, Any]]:
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        return []
    return [resource] if isinstance(resource, dict) and "resourceType" in resource else []


def _walk(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if resource.get("resourceType") == "Bundle":
        for entry in _list(resource.get("entry")):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                inner = entry["resource"]
                if entry.get("fullUrl") and inner.get("resourceType") == "Patient":
                    inner = {**inner, "_fullUrl": entry["fullUrl"]}
                yield from _walk(inner)
    else:
        yield resource


def _contained(claim: dict[str, Any], reference: str) -> dict[str, Any] | None:
    if not reference.startswith("#"):
        return None
    for inner in _list(claim.get("contained")):
        if isinstance(inner, dict) and inner.get("id") == reference[1:]:
            return inner
    return None


def claim_from_eob(eob: dict[str, Any]) -> dict[str, Any]:
    """The Claim an ExplanationOfBenefit adjudicated, rebuilt from the elements both share.

    Adjudication is dropped; items keep their codes, modifiers, units, pointers and dates;
    ``total`` (a list of categories on the EOB) is left out; insurance keeps its coverage.
    """
    claim: dict[str, Any] = {"resourceType": "Claim", "status": "active"}
    claim.update({key: eob[key] for key in _EOB_KEYS if key in eob})
    claim["insurance"] = [
        {
            "sequence": position,
            "focal": bool(entry.get("focal", position == 1)),
            "coverage": entry.get("coverage") or {},
        }
        for position, entry in enumerate(_list(eob.get("insurance")), start=1)
        if isinstance(entry, dict)
    ]
    items = []
    for raw in _list(eob.get("item")):
        if not isinstance(raw, dict):
            continue
        item = {key: value for key, value in raw.items() if key not in ("adjudication", "detail")}
        items.append(item)
    if items:
        claim["item"] = items
    return claim


def _list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else empty: a wrong shape is read as absent."""
    return value if isinstance(value, list) else []


def _reference(value: object) -> str:
    if isinstance(value, dict):
        for key in ("reference", "display"):
            text = value.get(key)
            if isinstance(text, str) and text:
                return text
        identifier = value.get("identifier")
        if isinstance(identifier, dict) and identifier.get("value"):
            return f"identifier {identifier.get('value')}"
    return ""


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("value")
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _system(raw: object) -> str:
    """The canonical system for a coding's ``system``."""
    return canonical_system(raw) if isinstance(raw, str) else ""


def _coding(concept: object) -> tuple[str, str, int]:
    """(code, canonical system, index): the first ICD-10-CM coding, else the first with a code."""
    if not isinstance(concept, dict):
        return "", "", 0
    chosen: tuple[str, str, int] | None = None
    for index, raw in enumerate(_list(concept.get("coding"))):
        if not isinstance(raw, dict):
            continue
        code = raw.get("code")
        if not isinstance(code, str):
            continue
        code = code.strip()
        if not code:
            continue
        system = _system(raw.get("system"))
        if system == ICD10CM:
            return code, system, index
        if chosen is None:
            chosen = (code, system, index)
    return chosen or ("", "", 0)


def _codes(concepts: object) -> tuple[str, ...]:
    if isinstance(concepts, dict):
        concepts = [concepts]
    if not isinstance(concepts, list):
        return ()
    return tuple(
        str(raw["code"]).strip()
        for concept in concepts
        if isinstance(concept, dict)
        for raw in _list(concept.get("coding"))
        if isinstance(raw, dict) and raw.get("code")
    )


def _claim_type(claim: dict[str, Any]) -> str:
    for code in _codes(claim.get("type")):
        if code.lower() in _CLAIM_TYPES:
            return code.lower()
    return ""


def _diagnoses(claim: dict[str, Any]) -> tuple[DiagnosisEntry, ...]:
    out: list[DiagnosisEntry] = []
    for index, raw in enumerate(_list(claim.get("diagnosis"))):
        if not isinstance(raw, dict):
            continue
        code, system, coding_index = _coding(raw.get("diagnosisCodeableConcept"))
        if not code:
            code = _reference(raw.get("diagnosisReference"))
        poa = next(iter(_codes(raw.get("onAdmission"))), None)
        out.append(
            DiagnosisEntry(
                index=index,
                sequence=_int(raw.get("sequence")),
                code=code,
                system=system,
                types=tuple(code.lower() for code in _codes(raw.get("type"))),
                poa=poa.upper() if poa else None,
                coding_index=coding_index,
            )
        )
    return tuple(out)


def _procedures(claim: dict[str, Any]) -> tuple[ProcedureEntry, ...]:
    out: list[ProcedureEntry] = []
    for index, raw in enumerate(_list(claim.get("procedure"))):
        if not isinstance(raw, dict):
            continue
        code, system, coding_index = _coding(raw.get("procedureCodeableConcept"))
        out.append(
            ProcedureEntry(
                index=index,
                sequence=_int(raw.get("sequence")),
                code=code or _reference(raw.get("procedureReference")),
                system=system,
                performed=fhir_date(raw.get("date")),
                coding_index=coding_index,
            )
        )
    return tuple(out)


def _items(claim: dict[str, Any]) -> tuple[ItemEntry, ...]:
    out: list[ItemEntry] = []
    for index, raw in enumerate(_list(claim.get("item"))):
        if not isinstance(raw, dict):
            continue
        code, system, coding_index = _coding(raw.get("productOrService"))
        if system == DATA_ABSENT_REASON:  # a revenue-only line: no code, on purpose
            code = ""
        period = raw.get("servicedPeriod")
        served = raw.get("servicedDate") or (
            period.get("start") if isinstance(period, dict) else None
        )
        modifiers = raw.get("modifier")
        pointers = _list(raw.get("diagnosisSequence"))
        out.append(
            ItemEntry(
                index=index,
                sequence=_int(raw.get("sequence")),
                code=code,
                system=system,
                modifiers=tuple(m.upper() for m in _codes(modifiers)) if modifiers else (),
                quantity=_number(raw.get("quantity")),
                pointers=tuple(p for p in pointers if type(p) is int),
                serviced=fhir_date(served),
                unit_price=_number(raw.get("unitPrice")),
                net=_number(raw.get("net")),
                coding_index=coding_index,
                factor=_number(raw.get("factor")),
                revenue=_coding(raw.get("revenue"))[0],
            )
        )
    return tuple(out)


def _insurance(claim: dict[str, Any]) -> tuple[InsuranceEntry, ...]:
    return tuple(
        InsuranceEntry(
            index=index,
            sequence=_int(raw.get("sequence")),
            focal=raw.get("focal") is True,
            coverage=_reference(raw.get("coverage")),
        )
        for index, raw in enumerate(_list(claim.get("insurance")))
        if isinstance(raw, dict)
    )


def age_on(birth: date, day: date) -> int:
    """Whole years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def read_claim(
    claim: dict[str, Any],
    patient: dict[str, Any] | None = None,
    *,
    label: str = "Claim",
    on: date | None = None,
    age: int | None = None,
    sex: str | None = None,
) -> ClaimForm:
    """``claim`` (R4 JSON) as a :class:`ClaimForm`; ``age`` and ``sex`` override the Patient's.

    The age is taken on ``on`` or the claim's date of service.
    """
    raw_period = claim.get("billablePeriod")
    period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
    total = claim.get("total")
    form = ClaimForm(
        claim_type=_claim_type(claim),
        patient=_reference(claim.get("patient")),
        provider=_reference(claim.get("provider")),
        insurer=_reference(claim.get("insurer")),
        insurance=_insurance(claim),
        period_start=fhir_date(period.get("start")),
        period_end=fhir_date(period.get("end")),
        created=fhir_date(claim.get("created")),
        diagnoses=_diagnoses(claim),
        procedures=_procedures(claim),
        items=_items(claim),
        total=_number(total) if isinstance(total, dict) else None,
        label=label,
    )
    if patient is not None:
        gender = patient.get("gender")
        birth = fhir_date(patient.get("birthDate"))
        day = on or form.date_of_service()
        if sex is None and isinstance(gender, str) and gender in _SEXES:
            sex = str(gender)
        if age is None and birth is not None and day is not None and birth <= day:
            age = age_on(birth, day)
    if sex is not None and sex not in _SEXES:
        sex = None
    if age is None and sex is None:
        return form
    return replace(form, age=age, sex=sex)
