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
from fhir_coder.outcome import Issue
from fhir_coder.validation._finding import finding
from fhir_coder.validation.structure import institutional_edits

__all__ = ["STRUCTURAL_RULES", "claim_can_be_built", "validate"]

STRUCTURAL_RULES = frozenset(
    {"CLAIM-MISSING-COVERAGE", "CLAIM-MISSING-PROVIDER", "CLAIM-NO-DIAGNOSIS", "ENCOUNTER-NO-DATE"}
)
"""Edits whose failure means no R4 Claim can be built at all, not even a draft."""


def validate(coded: CodedEncounter) -> tuple[Issue, ...]:
    """Claim-level findings for ``coded``, after the findings coding already made."""
    encounter = coded.encounter
    where = encounter.reference
    found: list[Issue] = []
    if encounter.status != "finished":
        found.append(
            finding(
                "ENCOUNTER-NOT-FINISHED",
                f"{where} is {encounter.status or 'without a status'}, "
                "not finished: it cannot be billed yet",
                "Encounter.status",
                fix="code the encounter once it is finished",
                source=where,
            )
        )
    if not coded.diagnoses:
        found.append(
            finding(
                "CLAIM-NO-DIAGNOSIS",
                f"{where} has no codable diagnosis: the claim needs a coder",
                "Claim.diagnosis",
                fix="see the needs-a-coder findings above for each condition",
                source=where,
            )
        )
    if not encounter.coverages:
        found.append(
            finding(
                "CLAIM-MISSING-COVERAGE",
                f"{where}: the patient has no active Coverage",
                "Claim.insurance",
                fix="record the patient's Coverage, or bill the patient directly",
                source=where,
            )
        )
    if not encounter.providers:
        found.append(
            finding(
                "CLAIM-MISSING-PROVIDER",
                f"{where} names no service provider or practitioner",
                "Claim.provider",
                fix="set Encounter.serviceProvider or a participant",
                source=where,
            )
        )
    found.extend(institutional_edits(coded))
    return tuple(found)


def claim_can_be_built(issues: tuple[Issue, ...] | list[Issue]) -> bool:
    """Whether ``issues`` still allow a structurally valid Claim (possibly a draft)."""
    return STRUCTURAL_RULES.isdisjoint([issue.rule for issue in issues])
