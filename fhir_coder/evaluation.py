"""Measuring the coding engine against a gold set: how often it agrees, how much it codes.

A gold row names an input concept (system and code, or words), optionally the patient's
age and sex, and the ICD-10-CM code a coder chose. Each row is coded as the only diagnosis
of an outpatient visit on the evaluation date, through the same :func:`code_encounter`
the pipeline uses, and every emitted code is checked again against the code set, so the
report can say how many invalid codes were emitted (the answer must be 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir_coder.coding import DEFAULT_POLICY, CodingPolicy, code_encounter
from fhir_coder.model import (
    Coding,
    Diagnosis,
    Encounter,
    EncounterClass,
    PatientFacts,
    SourceRef,
)
from fhir_coder.ports import CodeNotesPort, CodeSetPort, CrosswalkPort, TextSearchPort
from fhir_coder.systems import ICD10CM, canonical_system, display_icd10cm, normalise_icd10cm

__all__ = ["EvaluationReport", "GoldRow", "RowResult", "evaluate"]

TEXT = "text"
"""The input system of a gold row whose input is words, not a code."""


@dataclass(frozen=True, slots=True)
class GoldRow:
    """One gold case: an input concept, the patient facts, and the code a coder chose."""

    system: str
    code: str
    expected: str
    age: int | None = None
    sex: str | None = None
    line: int = 0  # where it stands in the gold file, for the report


@dataclass(frozen=True, slots=True)
class RowResult:
    """What the engine made of one gold row."""

    row: GoldRow
    emitted: str | None
    method: str
    valid: bool


@dataclass(slots=True)
class EvaluationReport:
    """Agreement, coverage and invalid codes over a gold set."""

    results: list[RowResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The figures, with the disagreements listed so a person can review them."""
        total = len(self.results)
        coded = [r for r in self.results if r.emitted is not None]
        exact = [r for r in coded if r.emitted == normalise_icd10cm(r.row.expected)]
        three = [r for r in coded if r.emitted and r.emitted[:3] == r.row.expected[:3].upper()]
        return {
            "rows": total,
            "coded_automatically": len(coded),
            "coverage": _ratio(len(coded), total),
            "exact": len(exact),
            "exact_agreement": _ratio(len(exact), total),
            "exact_agreement_when_coded": _ratio(len(exact), len(coded)),
            "three_character_agreement": _ratio(len(three), total),
            "invalid_codes_emitted": sum(1 for r in coded if not r.valid),
            "disagreements": [
                {
                    "line": r.row.line,
                    "input": f"{r.row.system}|{r.row.code}",
                    "expected": r.row.expected,
                    "emitted": display_icd10cm(r.emitted) if r.emitted else None,
                    "method": r.method,
                }
                for r in self.results
                if r.emitted != normalise_icd10cm(r.row.expected)
            ],
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _encounter_for(row: GoldRow, on: date) -> Encounter:
    # Born on 1 January: the patient is exactly ``age`` on any day of the evaluation year.
    born = date(on.year - row.age, 1, 1) if row.age is not None else None
    system = canonical_system(row.system)
    diagnosis = Diagnosis(
        source=SourceRef(f"Condition/gold-{row.line}"),
        codings=() if row.system == TEXT else (Coding(system, row.code),),
        text=row.code if row.system == TEXT else "",
        category=("encounter-diagnosis",),
        verification="confirmed",
    )
    return Encounter(
        id=f"gold-{row.line}",
        reference=f"Encounter/gold-{row.line}",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=PatientFacts("Patient/gold", row.sex or "unknown", born),
        period_start=on,
        period_end=on,
        diagnoses=(diagnosis,),
    )


def evaluate(
    rows: list[GoldRow],
    codesets: CodeSetPort,
    *,
    on: date,
    crosswalks: CrosswalkPort | None = None,
    notes: CodeNotesPort | None = None,
    text: TextSearchPort | None = None,
    policy: CodingPolicy = DEFAULT_POLICY,
) -> EvaluationReport:
    """Code every gold row on ``on`` and compare with what the coder chose."""
    report = EvaluationReport()
    for row in rows:
        coded = code_encounter(
            _encounter_for(row, on),
            codesets,
            crosswalks=crosswalks,
            notes=notes,
            text=text,
            policy=policy,
        )
        line = coded.diagnoses[0] if coded.diagnoses else None
        valid = True
        if line is not None:
            info = codesets.lookup(ICD10CM, line.code, on)
            valid = info.valid and info.billable
        report.results.append(
            RowResult(
                row=row,
                emitted=line.code if line else None,
                method=line.method.value if line else "needs a coder",
                valid=valid,
            )
        )
    return report
