"""Fixtures for the core: a small code table standing in for the compiled index.

The core is tested against its port, so these tests need no code-set package; the real
index is tested in ``tests/codesets`` and end to end in ``tests/adapters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from fhir_coder.errors import ReleaseNotAvailableError, UnknownCodeSystemError
from fhir_coder.model import (
    Coding,
    CoverageRef,
    Diagnosis,
    Encounter,
    EncounterClass,
    PatientFacts,
    Provider,
    SourceRef,
)
from fhir_coder.ports import CodeInfo, CodeNote, Suggestion, Translation
from fhir_coder.systems import ICD10CM, SNOMED

FY2026 = (date(2025, 10, 1), date(2026, 9, 30))


@dataclass
class TableCodeSet:
    """ICD-10-CM facts for a handful of codes, valid through FY2026 only."""

    billable: dict[str, str] = field(
        default_factory=lambda: {
            "E119": "Type 2 diabetes mellitus without complications",
            "I10": "Essential (primary) hypertension",
            "J209": "Acute bronchitis, unspecified",
            "E11A": "Type 2 diabetes mellitus without complications in remission",
            "G63": "Polyneuropathy in diseases classified elsewhere",
            "J45909": "Unspecified asthma, uncomplicated",
            "O99810": "Abnormal glucose complicating pregnancy",
        }
    )
    headers: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"E11": ("E119", "E11A"), "S72001": ("S72001A", "S72001D")}
    )
    calls: int = 0

    def lookup_loaded(self, system: str, code: str, on: date) -> CodeInfo | None:
        try:
            return self.lookup(system, code, on)
        except UnknownCodeSystemError:
            return None

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        self.calls += 1
        if system != ICD10CM:
            raise UnknownCodeSystemError(system)
        if not FY2026[0] <= on <= FY2026[1]:
            raise ReleaseNotAvailableError(system, on.isoformat(), "2025-10-01..2026-09-30")
        if code in self.billable:
            return CodeInfo(system, code, True, True, self.billable[code], "ICD-10-CM FY2026")
        if code in self.headers:
            seventh = code == "S72001"
            return CodeInfo(
                system,
                code,
                valid=not seventh,
                billable=False,
                description="",
                release="ICD-10-CM FY2026",
                billable_children=self.headers[code],
                needs_seventh_character=seventh,
            )
        return CodeInfo(system, code, False, False, "", "ICD-10-CM FY2026")


@pytest.fixture
def codes() -> TableCodeSet:
    return TableCodeSet()


def condition(
    cid: str,
    *codings: tuple[str, str],
    listed_rank: int | None = None,
    use: str = "",
    category: tuple[str, ...] = ("encounter-diagnosis",),
    verification: str = "confirmed",
    user_selected: str = "",
) -> Diagnosis:
    return Diagnosis(
        source=SourceRef(f"Condition/{cid}", "1"),
        codings=tuple(
            Coding(system, code, user_selected=code == user_selected) for system, code in codings
        ),
        category=category,
        verification=verification,
        listed_on_encounter=listed_rank is not None,
        rank=listed_rank,
        use=use,
    )


def office_visit(*diagnoses: Diagnosis, **changes: object) -> Encounter:
    base: dict[str, object] = {
        "id": "visit-1",
        "reference": "Encounter/visit-1",
        "status": "finished",
        "encounter_class": EncounterClass.AMBULATORY,
        "patient": PatientFacts("Patient/p1", "female", date(1960, 5, 17)),
        "source_id": "http://ehr.test/fhir",
        "period_start": datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        "period_end": datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        "diagnoses": diagnoses,
        "coverages": (CoverageRef("Coverage/c1", "active", "Organization/payer", "Acme Health"),),
        "providers": (
            Provider("Practitioner/dr1", "attender", "Dr One"),
            Provider("Organization/clinic", "service-provider", "Clinic"),
        ),
    }
    base.update(changes)
    return Encounter(**base)  # type: ignore[arg-type]


@dataclass
class TableCrosswalk:
    """SNOMED CT to ICD-10-CM / CPT entries, as a map or a curated ConceptMap would give them."""

    entries: dict[tuple[str, str], tuple[Translation, ...]] = field(default_factory=dict)

    def translate(self, system, code, target, *, on, age=None, sex=None):
        found = self.entries.get((code, target), ())
        if code == "73211009" and target == ICD10CM:  # diabetes: a rule by sex, like NLM's
            if sex is None:
                return (Translation(ICD10CM, "E119", "", "IFA sex", "test map", needs_review=True),)
            chosen = "O99810" if sex == "female" else "E119"
            return (Translation(ICD10CM, chosen, "", f"IFA sex = {sex}", "test map"),)
        return found

    def no_target(self, system, code, target):
        return None


@dataclass
class TableNotes:
    notes_by_code: dict[str, tuple[CodeNote, ...]] = field(default_factory=dict)

    def notes(self, system, code):
        return self.notes_by_code.get(code, ())


@dataclass
class TableText:
    suggestions: tuple[Suggestion, ...] = ()

    def suggest(self, text, *, on, limit=5, age=None, sex=None):
        return self.suggestions[:limit]

    def exact(self, text, *, on):
        return None


__all__ = [
    "ICD10CM",
    "SNOMED",
    "TableCodeSet",
    "TableCrosswalk",
    "TableNotes",
    "TableText",
    "condition",
    "office_visit",
]
