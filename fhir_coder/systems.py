"""Code system URIs, the aliases vendors send for them, and code normalisation.

One table maps every alias (OIDs, older URLs) to the canonical URI, so the rest of the
code compares systems with ``==``. ICD-10-CM codes are compared in their dotless,
upper-case form, the way CMS files and the grouper write them.
"""

from __future__ import annotations

import re

__all__ = [
    "CARC",
    "CPT",
    "CVX",
    "FHIR_CODER_NS",
    "HCPCS",
    "ICD10",
    "ICD10CM",
    "ICD10PCS",
    "NDC",
    "RARC",
    "SNOMED",
    "SOPT",
    "X12_GROUP",
    "X12_PATIENT_CONTROL_NUMBER",
    "canonical_system",
    "display_icd10cm",
    "normalise_icd10cm",
    "normalise_ndc",
]

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
# X12's code lists as CARIN Blue Button names them (codes only: the descriptions are licensed)
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
RARC = "https://x12.org/codes/remittance-advice-remark-codes"
X12_GROUP = "https://x12.org/codes/claim-adjustment-group-codes"
CVX = "http://hl7.org/fhir/sid/cvx"
NDC = "http://hl7.org/fhir/sid/ndc"
# Source of Payment Typology (PHDSC, now CDC/NCHS): the payer type US Core binds Coverage.type to
SOPT = "https://nahdo.org/sopt"

FHIR_CODER_NS = "urn:fhir-coder"
"""Namespace of fhir-coder's own identifier systems and code systems."""
X12_PATIENT_CONTROL_NUMBER = f"{FHIR_CODER_NS}:x12:patient-control-number"
"""The provider's claim number as an 837 carries it (CLM01; CLP01 on the 835): how a payer
that answers an 837 in FHIR names the claim its ClaimResponse is about (``request``)."""

_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-cm/": ICD10CM,
    "https://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "http://www.cms.gov/medicare/coding/icd10": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.4": ICD10PCS,
    "http://hl7.org/fhir/sid/icd-10-pcs": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "urn:oid:2.16.840.1.113883.6.69": NDC,
    "urn:oid:2.16.840.1.113883.3.221.5": SOPT,
    "http://hl7.org/fhir/sid/cvx/": CVX,
    "http://snomed.info/sct/": SNOMED,
    "https://snomed.info/sct": SNOMED,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "http://www.ama-assn.org/go/cpt/": CPT,
    "https://www.cms.gov/medicare/coding/hcpcsreleasecodesets": HCPCS,
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs": HCPCS,
    "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets": HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": HCPCS,
    "urn:oid:2.16.840.1.113883.6.14": HCPCS,
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs/": HCPCS,
}


_MEMO_LIMIT = 4096
"""Distinct inputs remembered per normalisation: a feed repeats a few systems and codes."""

_CANONICAL: dict[str, str] = {}


def canonical_system(system: str | None) -> str:
    """The canonical URI for ``system``; an unknown system comes back as it was sent."""
    if not system:
        return ""
    found = _CANONICAL.get(system) if isinstance(system, str) else None
    if found is None:
        stripped = system.strip()
        found = _ALIASES.get(stripped.lower(), _ALIASES.get(stripped, stripped))
        if len(_CANONICAL) >= _MEMO_LIMIT:
            _CANONICAL.clear()
        _CANONICAL[system] = found
    return found


# A letter, then a category whose 2nd or 3rd character is a digit (A00, C4A, QA0), then up
# to four more: rules out IMO placeholders ("IMO0002") while keeping FY2026's QA0 block.
_ICD10CM_SHAPE = re.compile(r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])[0-9A-Z]{0,4}")
_NORMAL: dict[str, str | None] = {}


def normalise_icd10cm(code: str) -> str | None:
    """``code`` in dotless upper case (``e11.9`` -> ``E119``), or None if it cannot be one.

    Accepts the forms EHRs send: with or without the dot, a trailing dot (``R21.``),
    surrounding blanks, lower case. Shape only: whether the code exists is the code
    set's question.
    """
    if code in _NORMAL:
        return _NORMAL[code]
    compact = code.strip().upper().replace(".", "")
    normal = compact if _ICD10CM_SHAPE.fullmatch(compact) else None
    if len(_NORMAL) >= _MEMO_LIMIT:
        _NORMAL.clear()
    _NORMAL[code] = normal
    return normal


_DOTTED: dict[str, str] = {}


def display_icd10cm(code: str) -> str:
    """A dotless ICD-10-CM code in the dotted form people and claims use (``E119`` -> ``E11.9``).

    Kept like the normalised codes: coding, the Claim and the scrubber's form each write
    the same few hundred codes for every encounter.
    """
    found = _DOTTED.get(code)
    if found is None:
        found = code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
        if len(_DOTTED) >= _MEMO_LIMIT:
            _DOTTED.clear()
        _DOTTED[code] = found
    return found


_NDC_SEGMENTS = (5, 4, 2)


def normalise_ndc(code: str) -> str | None:
    """An NDC as the 11 digits CMS files use (``0002-8215-01`` -> ``00002821501``), or None.

    A 10-digit NDC is only unambiguous with its dashes (4-4-2, 5-3-2 or 5-4-1): each
    segment is padded with leading zeros to 5-4-2. Eleven digits are taken as they are.
    """
    text = code.strip()
    parts = text.split("-")
    if len(parts) == len(_NDC_SEGMENTS) and all(p.isdigit() for p in parts):
        if any(len(p) > width for p, width in zip(parts, _NDC_SEGMENTS, strict=True)):
            return None
        return "".join(p.zfill(width) for p, width in zip(parts, _NDC_SEGMENTS, strict=True))
    return text if len(text) == sum(_NDC_SEGMENTS) and text.isdigit() else None
