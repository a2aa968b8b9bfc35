"""Measuring the encounter-level coding against a gold set of whole encounters.

The concept-at-a-time gold set (:mod:`fhir_coder.evaluation`) cannot see what the ICD-10-CM
Official Guidelines do across diagnoses. A gold encounter lists its documented conditions
(with clinical and verification status, body site, dates), the encounter's class, type and
measurements, the codes a coder reports for it, and the first-listed code where the
Guidelines fix it; each is coded through the same :func:`code_encounter` the pipeline uses,
and agreement is counted per family of the Guidelines. Every emitted code is checked again
against the code set (the answer for invalid codes must be 0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fhir_coder.coding import DEFAULT_POLICY, CodingPolicy, code_encounter
from fhir_coder.model import (
    Coding,
    Diagnosis,
    Encounter,
    EncounterClass,
    Observation,
    PatientFacts,
    SourceRef,
)
from fhir_coder.ports import CodeNotesPort, CodeSetPort, CrosswalkPort, TextSearchPort
from fhir_coder.systems import ICD10CM, display_icd10cm, normalise_icd10cm

__all__ = [
    "EncounterReport",
    "GoldCondition",
    "GoldEncounter",
    "evaluate_encounters",
]

LOINC = "http://loinc.org"


@dataclass(frozen=True, slots=True)
class GoldCondition:
    """One documented condition of a gold encounter (``onset_days``: days before the visit)."""

    system: str
    code: str
    text: str = ""
    clinical_status: str = "active"
    verification: str = "confirmed"
    body_sites: tuple[Coding, ...] = ()
    onset_days: int | None = None
    abated_days: int | None = None


@dataclass(frozen=True, slots=True)
class GoldEncounter:
    """A whole encounter, what a coder reports for it, and the Guidelines section it tests."""

    id: str
    family: str
    section: str
    encounter_class: EncounterClass
    conditions: tuple[GoldCondition, ...]
    expected: tuple[str, ...]
    first: str | None = None
    age: int | None = None
    sex: str | None = None
    types: tuple[Coding, ...] = ()
    observations: tuple[tuple[str, float], ...] = ()  # (LOINC code, value)
    stay_days: int = 0
    line: int = 0


@dataclass(frozen=True, slots=True)
class EncounterResult:
    """What the engine made of one gold encounter."""

    gold: GoldEncounter
    emitted: tuple[str, ...]
    invalid: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        expected = {normalise_icd10cm(c) or c for c in self.gold.expected}
        first = normalise_icd10cm(self.gold.first) if self.gold.first else None
        return set(self.emitted) == expected and (
            first is None or (bool(self.emitted) and self.emitted[0] == first)
        )


@dataclass(slots=True)
class EncounterReport:
    """Agreement over a gold set of encounters, in all and per family."""

    results: list[EncounterResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The figures, per family, with every disagreement listed for review."""
        families: dict[str, list[EncounterResult]] = defaultdict(list)
        for result in self.results:
            families[result.gold.family].append(result)
        agreed = sum(r.agrees for r in self.results)
        return {
            "encounters": len(self.results),
            "agreement": _ratio(agreed, len(self.results)),
            "agreed": agreed,
            "invalid_codes_emitted": sum(len(r.invalid) for r in self.results),
            "families": {
                name: {
                    "encounters": len(found),
                    "agreed": sum(r.agrees for r in found),
                    "agreement": _ratio(sum(r.agrees for r in found), len(found)),
                }
                for name, found in sorted(families.items())
            },
            "disagreements": [
                {
                    "line": r.gold.line,
                    "id": r.gold.id,
                    "section": r.gold.section,
                    "expected": list(r.gold.expected),
                    "first": r.gold.first,
                    "emitted": [display_icd10cm(c) for c in r.emitted],
                }
                for r in self.results
                if not r.agrees
            ],
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _encounter_for(gold: GoldEncounter, on: date) -> Encounter:
    born = date(on.year - gold.age, 1, 1) if gold.age is not None else None
    start = on - timedelta(days=gold.stay_days)
    diagnoses = tuple(
        Diagnosis(
            source=SourceRef(f"Condition/{gold.id}-{n}"),
            codings=(Coding(c.system, c.code, c.text),),
            text=c.text,
            category=("encounter-diagnosis",),
            verification=c.verification,
            clinical_status=c.clinical_status,
            listed_on_encounter=True,
            rank=n,
            onset=start - timedelta(days=c.onset_days) if c.onset_days is not None else None,
            abatement=on - timedelta(days=c.abated_days) if c.abated_days is not None else None,
            body_sites=c.body_sites,
        )
        for n, c in enumerate(gold.conditions, start=1)
    )
    observations = tuple(
        Observation(
            SourceRef(f"Observation/{gold.id}-{n}"),
            (Coding(LOINC, loinc),),
            value=value,
            effective=on,
            status="final",
        )
        for n, (loinc, value) in enumerate(gold.observations, start=1)
    )
    return Encounter(
        id=gold.id,
        reference=f"Encounter/{gold.id}",
        status="finished",
        encounter_class=gold.encounter_class,
        patient=PatientFacts(f"Patient/{gold.id}", gold.sex or "unknown", born),
        types=gold.types,
        period_start=start,
        period_end=on,
        diagnoses=diagnoses,
        observations=observations,
    )


def evaluate_encounters(
    golds: list[GoldEncounter],
    codesets: CodeSetPort,
    *,
    on: date,
    crosswalks: CrosswalkPort | None = None,
    notes: CodeNotesPort | None = None,
    text: TextSearchPort | None = None,
    policy: CodingPolicy = DEFAULT_POLICY,
) -> EncounterReport:
    """Code every gold encounter on ``on`` (its discharge day) and compare with the coder."""
    report = EncounterReport()
    for gold in golds:
        coded = code_encounter(
            _encounter_for(gold, on),
            codesets,
            crosswalks=crosswalks,
            notes=notes,
            text=text,
            policy=policy,
        )
        emitted = tuple(line.code for line in coded.diagnoses)
        invalid = tuple(
            code
            for code in emitted
            if not (info := codesets.lookup(ICD10CM, code, on)).valid or not info.billable
        )
        report.results.append(EncounterResult(gold, emitted, invalid))
    return report
