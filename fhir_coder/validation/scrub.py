"""The claim scrubber: every edit family over one claim, under one payer profile.

Reference data arrives through the ports in :class:`Scrubber`; a port left out means its
edits are reported as not run (``CODE-NOT-CHECKED``, ``NCCI-NOT-LOADED``), never passed.
``service_codes`` (which HCPCS/CPT files are loaded, the HCPCS modifiers) left out means
service lines are asked of ``codesets`` alone and modifiers checked for their shape only.
The payer profile sets each finding's severity last, so the edit code stays payer-neutral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fhir_coder.edits import MEDICARE, PayerProfile
from fhir_coder.outcome import Issue
from fhir_coder.ports import (
    CodeNotesPort,
    CodeSetPort,
    MedicareCodeEditorPort,
    ProcedureEditPort,
    ServiceCodesPort,
)
from fhir_coder.validation._finding import finding
from fhir_coder.validation.codes import code_edits
from fhir_coder.validation.form import ClaimForm
from fhir_coder.validation.mce import DX_EDIT_CLAIM_TYPES, dx_edits, mce_edits, poa_edits
from fhir_coder.validation.notes import CompiledNotes, note_edits
from fhir_coder.validation.procedures import modifier_edits, procedure_edits
from fhir_coder.validation.structure import pointer_edits, structure_edits
from fhir_coder.values import replace

__all__ = ["Scrubber", "apply_profile"]


@dataclass(frozen=True, slots=True)
class Scrubber:
    """The ports and the profile one scrub runs with; reusable for any number of claims."""

    codesets: CodeSetPort | None = None
    procedure_edits: ProcedureEditPort | None = None
    mce: MedicareCodeEditorPort | None = None
    notes: CodeNotesPort | None = None
    profile: PayerProfile = MEDICARE
    service_codes: ServiceCodesPort | None = None
    _notes_memo: dict[str, CompiledNotes] = field(default_factory=dict, compare=False, repr=False)

    def scrub(self, claim: ClaimForm, *, on: date | None = None) -> tuple[Issue, ...]:
        """Every finding about ``claim``; ``on`` overrides the date of service."""
        day = on or claim.date_of_service()
        found = structure_edits(claim)
        if day is None:
            found.append(
                finding(
                    "DATE-OF-SERVICE-MISSING",
                    f"{claim.label} has no billable period, service date or creation date: "
                    "codes could not be checked for validity",
                    "Claim.billablePeriod",
                    fix="set billablePeriod (or pass --date)",
                )
            )
        found.extend(code_edits(claim.diagnoses, self.codesets, day))
        if claim.institutional and day is not None:
            found.extend(poa_edits(claim))
            if self.mce is not None and self.profile.mce:
                found.extend(
                    mce_edits(
                        claim,
                        self.mce,
                        day,
                        self.profile,
                        diagnosis_validity_checked=self.codesets is not None,
                    )
                )
        elif claim.claim_type in DX_EDIT_CLAIM_TYPES and day is not None and self.mce is not None:
            found.extend(dx_edits(claim, self.mce, day, self.profile))
        if self.notes is not None:
            found.extend(note_edits(claim.diagnoses, self.notes, self._notes_memo))
        found.extend(pointer_edits(claim))
        found.extend(modifier_edits(claim, self.service_codes, day))
        found.extend(
            procedure_edits(claim, self.procedure_edits, day, self.codesets, self.service_codes)
        )
        return apply_profile(found, self.profile)


def apply_profile(issues: list[Issue], profile: PayerProfile) -> tuple[Issue, ...]:
    """``issues`` at the severities ``profile`` sets, without those it turns off."""
    out: list[Issue] = []
    for issue in issues:
        if not issue.rule:
            out.append(issue)
            continue
        severity = profile.severity(issue.rule)
        if severity is None:
            continue
        out.append(issue if severity is issue.severity else replace(issue, severity=severity))
    return tuple(out)
