"""Deterministic synthetic data: a transaction Bundle of patients, visits and diagnoses.

The same ``seed`` gives byte-identical resources and ids, so tests and demos can name the
resources they expect. Every entry is a PUT with a deterministic id (``Patient/pat-0001``),
which also makes loading the Bundle twice harmless. The data carries, on purpose and at
fixed places, what a coder meets in real feeds: Conditions "as Epic sends them" (SNOMED CT
plus ICD-10-CM, dotted or not, under the URL or the OID, ``(CMS/HCC)`` suffixes, listed in
``Encounter.diagnosis``) next to Conditions "as Synthea sends them" (SNOMED CT only, linked
by ``Condition.encounter``); a non-billable category header now and then; a refuted and an
entered-in-error diagnosis; outpatient procedures with bare CPT codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from fhir_coder.systems import CPT, ICD10CM, SNOMED
from sandbox.bundles import process_bundle
from sandbox.procedure_records import record_details
from sandbox.seed_catalog import (
    CONDITIONS,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    PAYERS,
    PRACTITIONER_NAMES,
    PROCEDURES,
    ConditionSpec,
    PayerSpec,
)
from sandbox.store import Store

__all__ = [
    "DEFAULT_PATIENTS",
    "DEFAULT_SEED",
    "FIRST_DAY",
    "LAST_DAY",
    "MRN_SYSTEM",
    "NPI_SYSTEM",
    "build_seed_bundle",
    "load_bundle",
    "load_bundle_file",
    "npi_check_digit",
    "seed_store",
]

DEFAULT_SEED = 7
DEFAULT_PATIENTS = 12
FIRST_DAY = date(2025, 10, 1)
"""First day of ICD-10-CM FY2026: every clinical date falls on or after it..."""
LAST_DAY = date(2026, 9, 15)
"""...and on or before this one, inside the same code year."""

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
MRN_SYSTEM = "urn:fhir-coder:sandbox:mrn"
CSN_SYSTEM = "urn:fhir-coder:sandbox:csn"
PAYER_ID_SYSTEM = "urn:fhir-coder:sandbox:payer-id"
ICD10CM_OID = "urn:oid:2.16.840.1.113883.6.90"
HCC_SUFFIX = " (CMS/HCC)"

_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_DISCHARGE = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
_ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
_SOURCE_OF_PAYMENT = "urn:oid:2.16.840.1.113883.3.221.5"
_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"

_HOSPITAL_ID = "org-hospital"
_HOSPITAL_NAME = "Riverbend Community Hospital"

# Where the deliberate problems fall: fixed positions in the sequence of Conditions.
_REFUTED_EVERY, _REFUTED_AT = 25, 9
_ERROR_EVERY, _ERROR_AT = 25, 21
_HEADER_EVERY = 12  # one Epic-shaped Condition in this many carries a category header

_CLASSES = {
    "AMB": ("ambulatory", "185349003", "Encounter for check up (procedure)"),
    "EMER": ("emergency", "50849002", "Emergency room admission (procedure)"),
    "IMP": ("inpatient encounter", "32485007", "Hospital admission (procedure)"),
}
_SETTING = {"AMB": "A", "EMER": "E", "IMP": "I"}
_ADMIT_SOURCES = (
    ("emd", "From accident/emergency department"),
    ("gp", "General Practitioner referral"),
)
_ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
_PRIORITY_OF = {"emd": ("EM", "emergency"), "gp": ("EL", "elective")}
_DISPOSITIONS = (
    ("home", "Home"),
    ("home", "Home"),
    ("home", "Home"),
    ("snf", "Skilled nursing facility"),
    ("rehab", "Rehabilitation"),
)


def npi_check_digit(first_nine: str) -> str:
    """The NPI check digit: Luhn over the 9 digits prefixed with the card issuer 80840."""
    total = 0
    for position, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return str((10 - total % 10) % 10)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _concept(*codings: dict[str, str], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": list(codings)}
    if text is not None:
        concept["text"] = text
    return concept


def _ref(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
    reference = {"reference": f"{resource_type}/{resource_id}"}
    if display is not None:
        reference["display"] = display
    return reference


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class _Visit:
    """One encounter being built, with what its Conditions and Procedures need to know."""

    encounter_id: str
    klass: str
    status: str
    start: datetime
    end: datetime | None
    practitioner: tuple[str, str]
    epic_shape: bool
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Generator:
    """The state of one generation run; every random draw goes through ``rng`` in order."""

    rng: random.Random
    entries: list[dict[str, Any]] = field(default_factory=list)
    practitioners: list[tuple[str, str]] = field(default_factory=list)
    conditions_made: int = 0
    epic_conditions_made: int = 0
    header_due: bool = False
    visits_made: int = 0
    procedure_details: bool = True  # cath-lab and OR records' facts (procedure_records)

    def add(self, resource: dict[str, Any]) -> None:
        url = f"{resource['resourceType']}/{resource['id']}"
        self.entries.append({"resource": resource, "request": {"method": "PUT", "url": url}})

    def npi(self) -> str:
        first_nine = "1" + "".join(str(self.rng.randrange(10)) for _ in range(8))
        return first_nine + npi_check_digit(first_nine)

    # Organisations and practitioners

    def organizations(self) -> None:
        self.add(
            {
                "resourceType": "Organization",
                "id": _HOSPITAL_ID,
                "identifier": [{"system": NPI_SYSTEM, "value": self.npi()}],
                "active": True,
                "type": [_concept(_coding(_ORG_TYPE, "prov", "Healthcare Provider"))],
                "name": _HOSPITAL_NAME,
            }
        )
        for payer in PAYERS:
            self.add(
                {
                    "resourceType": "Organization",
                    "id": payer.org_id,
                    "identifier": [{"system": PAYER_ID_SYSTEM, "value": payer.payer_id}],
                    "active": True,
                    "type": [_concept(_coding(_ORG_TYPE, "pay", "Payer"))],
                    "name": payer.name,
                }
            )

    def practitioner_resources(self) -> None:
        for number, (given, family) in enumerate(PRACTITIONER_NAMES, start=1):
            practitioner_id = f"prac-{number:02d}"
            display = f"{given} {family}, MD"
            self.practitioners.append((practitioner_id, display))
            self.add(
                {
                    "resourceType": "Practitioner",
                    "id": practitioner_id,
                    "identifier": [{"system": NPI_SYSTEM, "value": self.npi()}],
                    "active": True,
                    "name": [{"use": "official", "family": family, "given": [given]}],
                }
            )

    # Patients and coverage

    def patient(self, number: int) -> tuple[str, str, int]:
        """Add a patient; its id, display name and age on the first day."""
        patient_id = f"pat-{number:04d}"
        gender = self.rng.choice(("female", "male"))
        given = self.rng.choice(FEMALE_NAMES if gender == "female" else MALE_NAMES)
        family = self.rng.choice(FAMILY_NAMES)
        # The first two patients are an infant and an elder, so age edits have material.
        age = {0: 0, 1: 78}.get(number - 1, self.rng.randint(1, 90))
        birth = FIRST_DAY - timedelta(days=365 * age + self.rng.randint(30, 330))
        mrn = "E" + "".join(str(self.rng.randrange(10)) for _ in range(7))
        self.add(
            {
                "resourceType": "Patient",
                "id": patient_id,
                "identifier": [
                    {
                        "use": "usual",
                        "type": _concept(_coding(_IDENTIFIER_TYPE, "MR", "Medical record number")),
                        "system": MRN_SYSTEM,
                        "value": mrn,
                    }
                ],
                "active": True,
                "name": [{"use": "official", "family": family, "given": [given]}],
                "gender": gender,
                "birthDate": birth.isoformat(),
            }
        )
        return patient_id, f"{given} {family}", age

    def coverage(self, number: int, patient_id: str, age: int) -> None:
        payer: PayerSpec
        if age >= 65:
            payer = PAYERS[0]
        elif self.rng.random() < 0.25:
            payer = PAYERS[1]
        else:
            payer = PAYERS[2]
        member = payer.member_prefix + "".join(str(self.rng.randrange(10)) for _ in range(9))
        self.add(
            {
                "resourceType": "Coverage",
                "id": f"cov-{number:04d}",
                "status": "active",
                "type": _concept(_coding(_SOURCE_OF_PAYMENT, payer.sop_code, payer.sop_display)),
                "subscriber": _ref("Patient", patient_id),
                "subscriberId": member,
                "beneficiary": _ref("Patient", patient_id),
                "relationship": _concept(_coding(_RELATIONSHIP, "self", "Self")),
                "period": {"start": FIRST_DAY.isoformat()},
                "payor": [_ref("Organization", payer.org_id, payer.name)],
            }
        )

    # Encounters

    def visit_class(self) -> str:
        # The first three visits of any run are one of each class, whatever the seed.
        if self.visits_made < 3:
            return ("AMB", "EMER", "IMP")[self.visits_made]
        roll = self.rng.random()
        return "AMB" if roll < 0.6 else "EMER" if roll < 0.8 else "IMP"

    def visit_times(self, klass: str, day: date) -> tuple[datetime, datetime]:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if klass == "AMB":
            start = midnight + timedelta(
                hours=self.rng.randint(13, 21), minutes=15 * self.rng.randrange(4)
            )
            return start, start + timedelta(minutes=self.rng.choice((20, 30, 40, 60)))
        if klass == "EMER":
            start = midnight + timedelta(
                hours=self.rng.randint(0, 22), minutes=self.rng.randrange(60)
            )
            return start, start + timedelta(
                hours=self.rng.randint(2, 8), minutes=self.rng.randrange(60)
            )
        start = midnight + timedelta(hours=self.rng.randint(0, 23), minutes=self.rng.randrange(60))
        discharge = (start + timedelta(days=self.rng.randint(2, 6))).replace(hour=16, minute=0)
        return start, discharge

    def visits(self, number: int, patient: tuple[str, str]) -> list[_Visit]:
        days_available = (LAST_DAY - FIRST_DAY).days - 7  # room for the longest stay
        offsets = sorted(self.rng.sample(range(days_available), self.rng.randint(2, 4)))
        visits: list[_Visit] = []
        for position, offset in enumerate(offsets, start=1):
            klass = self.visit_class()
            start, end = self.visit_times(klass, FIRST_DAY + timedelta(days=offset))
            # Most visits are closed; the last visit of every sixth patient (5th, 11th, ...)
            # is still open and of the next one (6th, 12th, ...) not yet begun.
            status = "finished"
            if position == len(offsets) and number % 6 == 5:
                status = "in-progress"
            elif position == len(offsets) and number % 6 == 0:
                status = "planned"
            epic_shape = (
                self.visits_made % 2 == 0 if self.visits_made < 2 else self.rng.random() < 0.5
            )
            self.visits_made += 1
            visit = _Visit(
                encounter_id=f"enc-{number:04d}-{position}",
                klass=klass,
                status=status,
                start=start,
                end=end if status == "finished" else None,
                practitioner=self.rng.choice(self.practitioners),
                epic_shape=epic_shape,
            )
            visit.resource = self.encounter(visit, patient)
            visits.append(visit)
        return visits

    def encounter(self, visit: _Visit, patient: tuple[str, str]) -> dict[str, Any]:
        class_display, type_code, type_display = _CLASSES[visit.klass]
        period = {"start": _instant(visit.start)}
        if visit.end is not None:
            period["end"] = _instant(visit.end)
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": visit.encounter_id,
            "identifier": [{"system": CSN_SYSTEM, "value": str(self.rng.randrange(10**9, 10**10))}],
            "status": visit.status,
            "class": _coding(_ACT_CODE, visit.klass, class_display),
            "type": [_concept(_coding(SNOMED, type_code, type_display), text=type_display)],
            "subject": _ref("Patient", *patient),
            "participant": [
                {
                    "type": [_concept(_coding(_PARTICIPATION, "ATND", "attender"))],
                    "individual": _ref("Practitioner", *visit.practitioner),
                }
            ],
            "period": period,
            "serviceProvider": _ref("Organization", _HOSPITAL_ID, _HOSPITAL_NAME),
        }
        if visit.klass == "IMP":
            source = self.rng.choice(_ADMIT_SOURCES)
            hospitalization: dict[str, Any] = {
                "admitSource": _concept(_coding(_ADMIT_SOURCE, *source))
            }
            # the admission's priority as an ADT system records it (UB-04 FL 14): through
            # the emergency department an emergency, by referral elective (no extra draw
            # from the generator, so everything else in the seed stays as it was)
            resource["priority"] = _concept(_coding(_ACT_PRIORITY, *_PRIORITY_OF[source[0]]))
            if visit.status == "finished":
                hospitalization["dischargeDisposition"] = _concept(
                    _coding(_DISCHARGE, *self.rng.choice(_DISPOSITIONS))
                )
            resource["hospitalization"] = hospitalization
        return resource

    # Conditions

    def condition_specs(self, visit: _Visit, age: int) -> list[ConditionSpec]:
        if visit.status == "planned":
            return []
        fitting = [
            spec
            for spec in CONDITIONS
            if _SETTING[visit.klass] in spec.settings and age >= spec.min_age
        ]
        low, high = {"AMB": (1, 2), "EMER": (1, 3), "IMP": (2, 4)}[visit.klass]
        how_many = 1 if visit.status == "in-progress" else self.rng.randint(low, high)
        return self.rng.sample(fitting, min(how_many, len(fitting)))

    def icd_coding(self, spec: ConditionSpec) -> dict[str, str]:
        """The ICD-10-CM coding in one of the shapes Epic sends."""
        code = spec.icd10cm
        if self.header_due and len(code.replace(".", "")) > 3:
            code = spec.category  # a category header: not billable
            self.header_due = False
        roll = self.rng.random()
        system = ICD10CM_OID if roll >= 0.85 else ICD10CM
        if 0.6 <= roll < 0.85:
            code = code.replace(".", "")
        display = spec.name + (HCC_SUFFIX if spec.hcc and self.rng.random() < 0.7 else "")
        return _coding(system, code, display)

    def condition(
        self, visit: _Visit, patient_id: str, spec: ConditionSpec, condition_id: str
    ) -> dict[str, Any]:
        index = self.conditions_made
        self.conditions_made += 1
        verification = ("confirmed", "Confirmed")
        if index % _REFUTED_EVERY == _REFUTED_AT:
            verification = ("refuted", "Refuted")
        elif index % _ERROR_EVERY == _ERROR_AT:
            verification = ("entered-in-error", "Entered in Error")
        snomed = _coding(SNOMED, spec.snomed, spec.snomed_display)
        if visit.epic_shape:
            if self.epic_conditions_made % _HEADER_EVERY == _HEADER_EVERY // 2:
                self.header_due = True
            self.epic_conditions_made += 1
            code = _concept(self.icd_coding(spec), snomed, text=spec.name)
        else:
            code = _concept(snomed, text=spec.snomed_display)
        resource: dict[str, Any] = {"resourceType": "Condition", "id": condition_id}
        if verification[0] != "entered-in-error":  # FHIR invariant con-5
            clinical = (
                ("inactive", "Inactive") if verification[0] == "refuted" else ("active", "Active")
            )
            resource["clinicalStatus"] = _concept(_coding(_CLINICAL, *clinical))
        resource |= {
            "verificationStatus": _concept(_coding(_VERIFICATION, *verification)),
            "category": [
                _concept(_coding(_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis"))
            ],
            "code": code,
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", visit.encounter_id),
            "onsetDateTime": _instant(visit.start),
            "recordedDate": _instant(visit.start),
        }
        return resource

    def diagnoses(self, visit: _Visit, condition_ids: list[str]) -> None:
        """List the visit's Conditions in ``Encounter.diagnosis`` (Epic shape only)."""
        if not visit.epic_shape or not condition_ids:
            return
        diagnosis = []
        for rank, condition_id in enumerate(condition_ids, start=1):
            if visit.klass == "IMP":
                use = ("AD", "Admission diagnosis") if rank == 1 else ("DD", "Discharge diagnosis")
            else:
                use = ("billing", "Billing")
            diagnosis.append(
                {
                    "condition": _ref("Condition", condition_id),
                    "use": _concept(_coding(_DIAGNOSIS_ROLE, *use)),
                    "rank": rank,
                }
            )
        visit.resource["diagnosis"] = diagnosis

    # Procedures

    def procedures(self, visit: _Visit, patient_id: str) -> list[dict[str, Any]]:
        chance = {"AMB": 0.5, "EMER": 0.6, "IMP": 0.7}[visit.klass]
        if visit.status != "finished" or visit.end is None or self.rng.random() >= chance:
            return []
        fitting = [spec for spec in PROCEDURES if _SETTING[visit.klass] in spec.settings]
        spec = self.rng.choice(fitting)
        codings = [_coding(SNOMED, spec.snomed, spec.snomed_display)]
        if spec.cpt is not None and visit.klass != "IMP":
            codings.append(_coding(CPT, spec.cpt))  # a bare code: CPT text is AMA copyright
        span = visit.end - visit.start
        performed = visit.start + span * self.rng.randint(1, 9) / 10
        procedure = {
            "resourceType": "Procedure",
            "id": f"proc-{visit.encounter_id.removeprefix('enc-')}-1",
            "status": "completed",
            "code": _concept(*codings, text=spec.snomed_display),
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", visit.encounter_id),
            "performedDateTime": _instant(performed.replace(microsecond=0)),
            "performer": [{"actor": _ref("Practitioner", *visit.practitioner)}],
        }
        if self.procedure_details and visit.klass == "IMP":
            procedure = record_details(procedure, spec.snomed)
        return [procedure]


def build_seed_bundle(
    seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS, *, procedure_details: bool = True
) -> dict[str, Any]:
    """A transaction Bundle of synthetic data; the same arguments give the same bytes.

    ``patients`` patients, each with a Coverage and 2-4 encounters (ambulatory, emergency,
    inpatient; mostly finished), their Conditions and Procedures, the practitioners and
    organisations they reference. Every entry is a PUT with a deterministic id. Coronary
    interventions on stays carry what a cath lab's or OR's record states (the vessels,
    stents, grafts, approach: :mod:`sandbox.procedure_records`); ``procedure_details=False``
    leaves them as Synthea writes them, the concept alone.
    """
    if not 0 <= patients <= 9999:
        raise ValueError(f"patients must be between 0 and 9999, not {patients}")
    generator = _Generator(random.Random(seed))  # noqa: S311 - reproducible data, not secrets
    generator.procedure_details = procedure_details
    generator.organizations()
    generator.practitioner_resources()
    later: list[dict[str, Any]] = []
    for number in range(1, patients + 1):
        patient_id, display, age = generator.patient(number)
        generator.coverage(number, patient_id, age)
        for visit in generator.visits(number, (patient_id, display)):
            specs = generator.condition_specs(visit, age)
            condition_ids = [
                f"cond-{visit.encounter_id.removeprefix('enc-')}-{n}"
                for n in range(1, len(specs) + 1)
            ]
            conditions = [
                generator.condition(visit, patient_id, spec, condition_id)
                for spec, condition_id in zip(specs, condition_ids, strict=True)
            ]
            generator.diagnoses(visit, condition_ids)
            generator.add(visit.resource)
            later.extend(conditions)
            later.extend(generator.procedures(visit, patient_id))
    for resource in later:
        generator.add(resource)
    return {"resourceType": "Bundle", "type": "transaction", "entry": generator.entries}


def load_bundle(store: Store, bundle: dict[str, Any]) -> dict[str, Any]:
    """Run a transaction (or batch) Bundle against ``store``; the response Bundle."""
    return process_bundle(store, bundle)


def load_bundle_file(store: Store, path: Path) -> dict[str, Any]:
    """Load a transaction Bundle JSON file into ``store``; the transaction-response Bundle."""
    bundle = orjson.loads(path.read_bytes())
    if not isinstance(bundle, dict):
        raise TypeError(f"{path} holds JSON that is not an object, so not a Bundle")
    return load_bundle(store, bundle)


def seed_store(store: Store, *, seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS) -> int:
    """Write the synthetic data into ``store``; how many resources were written."""
    response = load_bundle(store, build_seed_bundle(seed, patients))
    return len(response.get("entry", []))
