"""Validation: the edits a coded encounter and any R4 Claim must pass before submission.

Two entry points. :func:`validate` checks a coded encounter before its Claim is built
(is it finished, does it have what a Claim needs); :class:`Scrubber` scrubs a Claim, ours
or anyone's, read into a :class:`ClaimForm`, with the whole edit catalogue
(:mod:`fhir_coder.edits`): one module per edit family.
"""

from fhir_coder.validation.encounter import STRUCTURAL_RULES, claim_can_be_built, validate
from fhir_coder.validation.form import (
    ClaimForm,
    DiagnosisEntry,
    InsuranceEntry,
    ItemEntry,
    ProcedureEntry,
)
from fhir_coder.validation.scrub import Scrubber, apply_profile

__all__ = [
    "STRUCTURAL_RULES",
    "ClaimForm",
    "DiagnosisEntry",
    "InsuranceEntry",
    "ItemEntry",
    "ProcedureEntry",
    "Scrubber",
    "apply_profile",
    "claim_can_be_built",
    "validate",
]
