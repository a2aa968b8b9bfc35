"""The encounter's reason (``Encounter.reasonCode`` / ``reasonReference``) on the claim.

Inpatient stay: the reason for admission is the admitting diagnosis (UB-04 FL 69, 837I
``HI*ABJ``, required on inpatient claims). It is coded the way a Condition's code is (as
coded, or through the SNOMED CT crosswalk), or, when ``reasonReference`` names a Condition
of the stay, it is that Condition's line. It goes on the claim after the other diagnoses
with the role ``admitting``: it is neither principal nor secondary, so groupers and
editors leave it out.

The principal diagnosis is "the condition established after study to be chiefly
responsible for occasioning the admission" (ICD-10-CM Official Guidelines, Section II):
a reason stated at admission is not that. So when a stay has no other codable diagnosis,
the reason is *proposed* as the principal, marked for review, with an error finding that
keeps the Claim a draft for a coder to confirm (or correct) it; never finalised here.

Any other encounter: the claim is professional, and a reason for the visit is not a
diagnosis (Section IV: code the diagnoses documented; a reason may be a symptom a
diagnosis explains). It is left uncoded, and a note shows it to the coder as evidence.
"""

from __future__ import annotations

from fhir_coder.coding.checks import shown
from fhir_coder.coding.context import CodingContext
from fhir_coder.coding.diagnoses import code_diagnosis
from fhir_coder.model import CodedLine, Diagnosis, DiagnosisRole, Encounter, SourceRef
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.values import replace

__all__ = ["PRINCIPAL_FROM_REASON", "REASON_NOT_CODED", "with_reason"]

PRINCIPAL_FROM_REASON = "NEEDS-CODER-PRINCIPAL-FROM-REASON"
"""Rule of the finding that holds a stay whose principal was taken from its reason."""
REASON_NOT_CODED = "DX-REASON-NOT-CODED"
"""Rule of the note that shows an outpatient reason for the visit to the coder."""


def with_reason(
    context: CodingContext, diagnoses: tuple[CodedLine, ...], issues: list[Issue]
) -> tuple[CodedLine, ...]:
    """``diagnoses`` (sequenced) with what the encounter's reason adds, as the module says."""
    encounter = context.encounter
    if not (encounter.reason_codes or encounter.reason_references):
        return diagnoses
    if not encounter.encounter_class.is_inpatient:
        _shown_only(encounter, issues)
        return diagnoses
    admitting = _admitting_line(context, diagnoses, issues)
    if admitting is None:
        return diagnoses
    admitting_line = replace(admitting, role=DiagnosisRole.ADMITTING)
    if diagnoses:
        return (*diagnoses, admitting_line)
    issues.append(
        Issue(
            Severity.ERROR,
            IssueCode.BUSINESS_RULE,
            f"{encounter.reference} has no codable diagnosis of the stay: the principal "
            f"diagnosis {shown(admitting.system, admitting.code)} was taken from the reason "
            "for admission, which the principal is not until established after study "
            "(ICD-10-CM Official Guidelines, Section II): a coder confirms it",
            rule=PRINCIPAL_FROM_REASON,
            expression=("Encounter.reasonCode", "Encounter.reasonReference"),
            fix="confirm the principal diagnosis from the discharge documentation, or "
            "record the stay's diagnoses (Condition, Encounter.diagnosis)",
            source=encounter.reference,
        )
    )
    principal = replace(admitting, role=DiagnosisRole.PRINCIPAL, needs_review=True)
    return (principal, admitting_line)


def _admitting_line(
    context: CodingContext, diagnoses: tuple[CodedLine, ...], issues: list[Issue]
) -> CodedLine | None:
    """The reason's line: a referenced Condition's own, else the reason codes' first."""
    encounter = context.encounter
    for key in encounter.reason_references:
        line = next(
            (
                line
                for line in diagnoses
                if line.source.reference == key
                or any(key in change.sources for change in line.changes)
            ),
            None,
        )
        if line is not None:
            return line
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{encounter.reference}: the reason {key} is not a coded diagnosis of the stay: "
                "not used for the admitting diagnosis",
                rule="DX-REASON-REFERENCE-NOT-CODED",
                expression=("Encounter.reasonReference",),
                source=encounter.reference,
            )
        )
    if not encounter.reason_codes:
        return None
    reason = Diagnosis(
        source=SourceRef(encounter.reference, encounter.version_id),
        codings=encounter.reason_codes,
        text=next((c.display for c in encounter.reason_codes if c.display), ""),
    )
    lines = code_diagnosis(context, reason, issues)
    return lines[0] if lines else None


def _shown_only(encounter: Encounter, issues: list[Issue]) -> None:
    named = [f"{c.code} {c.display}".strip() for c in encounter.reason_codes]
    named += list(encounter.reason_references)
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{encounter.reference} states a reason for the visit ({'; '.join(named)}): "
            "evidence for the coder, not coded as a diagnosis (ICD-10-CM Official "
            "Guidelines, Section IV: code the diagnoses documented; a reason may be a symptom)",
            rule=REASON_NOT_CODED,
            expression=("Encounter.reasonCode", "Encounter.reasonReference"),
            source=encounter.reference,
        )
    )
