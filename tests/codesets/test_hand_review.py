"""The independent hand review's findings (``docs/accuracy.md``, "Hand review"), one test each.

Every answer the review found wrong is fixed in the curated tables; each case here holds
the corrected answer, with the Index entry, Tabular note or code-set fact that decides
it, so a later edit cannot quietly put the wrong code back. The worksheet is
``docs/review/coverage-sample.tsv``.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.systems import CPT, ICD10CM, SNOMED

FY2026 = date(2026, 1, 15)

# (concept, target system, the answer: a code, or "not-reported"/"needs-coder"; why)
FINDINGS = [
    (
        "444814009",  # Viral sinusitis
        ICD10CM,
        "J329",
        (
            "Tabular J32.9 inclusion 'Sinusitis (chronic) NOS' ('chronic' is a nonessential"
            " modifier, I.A.7): a viral sinusitis not stated to be acute is not J01.90"
        ),
    ),
    (
        "234466008",  # Acquired coagulation disorder
        ICD10CM,
        "D684",
        "Index: Defect, coagulation, acquired D68.4 (not D68.9, the defect NOS)",
    ),
    (
        "269828009",  # Syphilis infectious titer test
        CPT,
        "86593",
        "a titer is the quantitative non-treponemal test (86593), not the qualitative 86592",
    ),
]


@pytest.fixture(scope="module")
def crosswalks() -> CrosswalkRegistry:
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


@pytest.mark.parametrize(
    ("concept", "target", "answer", "why"), FINDINGS, ids=[f[0] for f in FINDINGS]
)
def test_the_reviewed_answer_holds(
    crosswalks: CrosswalkRegistry, concept: str, target: str, answer: str, why: str
) -> None:
    found = crosswalks.translate(SNOMED, concept, target, on=FY2026, age=40, sex="female")
    if answer in ("not-reported", "needs-coder"):
        assert not found, why
        no_target = crosswalks.no_target(SNOMED, concept, target)
        assert no_target is not None, why
        assert no_target.reported is (answer == "needs-coder"), why
        return
    assert [t.code for t in found] == [answer], why
