"""Edits a coded encounter must pass before its Claim may leave the building.

This first set checks what every payer rejects outright: an encounter that is not
finished, and a claim without a diagnosis, a provider, coverage or a billable period.
Code-level edits (validity on the date, billable, 7th character) run while coding, so
that no invalid code is ever put on a claim; their findings arrive here with the rest.

Findings are returned as data. :func:`claim_can_be_built` says whether the findings
leave enough for a structurally valid R4 Claim (which needs a patient, a provider and
insurance); findings that do not prevent that make the Claim a ``draft``.
"""

from __future__ import annotations

from fhir_coder.model import CodedEncounter
from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["STRUCTURAL_RULES", "claim_can_be_built", "validate"]

STRUCTURAL_RULES = frozenset(
    {"CLAIM-MISSING-COVERAGE", "CLAIM-MISSING-PROVIDER", "CLAIM-NO-DIAGNOSIS", "ENCOUNTER-NO-DATE"}
)
"""Edits whose failure means no R4 Claim can be built at all, not even a draft."""


def validate(coded: CodedEncounter) -> tuple[Issue, ...]:
    """Claim-level findings for ``coded``, after the findings coding already made."""
    encounter = coded.encounter
    found: list[Issue] = []
    if encounter.status != "finished":
        found.append(
            Issue(
                Severity.ERROR,
                IssueCode.BUSINESS_RULE,
                f"{encounter.reference} is {encounter.status or 'without a status'}, "
                "not finished: it cannot be billed yet",
                rule="ENCOUNTER-NOT-FINISHED",
                expression=("Encounter.status",),
                fix="code the encounter once it is finished",
                source=encounter.reference,
            )
        )
    if not coded.diagnoses:
        found.append(
            Issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                f"{encounter.reference} has no codable diagnosis: the claim needs a coder",
                rule="CLAIM-NO-DIAGNOSIS",
                expression=("Claim.diagnosis",),
                fix="see the needs-a-coder findings above for each condition",
                source=encounter.reference,
            )
        )
    if not encounter.coverages:
        found.append(
            Issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                f"{encounter.reference}: the patient has no active Coverage",
                rule="CLAIM-MISSING-COVERAGE",
                expression=("Claim.insurance",),
                fix="record the patient's Coverage, or bill the patient directly",
                source=encounter.reference,
            )
        )
    if not encounter.providers:
        found.append(
            Issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                f"{encounter.reference} names no service provider or practitioner",
                rule="CLAIM-MISSING-PROVIDER",
                expression=("Claim.provider",),
                fix="set Encounter.serviceProvider or a participant",
                source=encounter.reference,
            )
        )
    return tuple(found)


def claim_can_be_built(issues: tuple[Issue, ...] | list[Issue]) -> bool:
    """Whether ``issues`` still allow a structurally valid Claim (possibly a draft)."""
    return not any(issue.rule in STRUCTURAL_RULES for issue in issues)
