"""The edit catalogue: every check the claim scrubber makes, with a stable id and a severity.

Ids are what payer profiles, people and OperationOutcomes refer to, so they never change
meaning. The severity here is the default (the Medicare profile); a :class:`PayerProfile`
may turn an edit off or change its severity without touching the code that applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import IssueCode, Severity

__all__ = [
    "ANATOMIC_MODIFIERS",
    "CATALOGUE",
    "COMMERCIAL",
    "MEDICARE",
    "MODIFIER_BYPASSES",
    "SIDE_MODIFIERS",
    "Edit",
    "PayerProfile",
    "edit",
]

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFORMATION


@dataclass(frozen=True, slots=True)
class Edit:
    """One entry of the catalogue: what it checks, how bad a failure is by default."""

    id: str
    severity: Severity
    code: IssueCode
    family: str
    summary: str


def _e(id_: str, severity: Severity, code: IssueCode, family: str, summary: str) -> Edit:
    return Edit(id_, severity, code, family, summary)


_V, _C, _R, _B = (
    IssueCode.VALUE,
    IssueCode.CODE_INVALID,
    IssueCode.REQUIRED,
    IssueCode.BUSINESS_RULE,
)
_EDITS: Final = (
    # Code sets
    _e("ICD10CM-INVALID", E, _C, "codes", "the code is not in the release in force on the date"),
    _e("ICD10CM-NOT-BILLABLE", E, _C, "codes", "a header (category) where a billable code is due"),
    _e("ICD10CM-SEVENTH-CHARACTER", E, _C, "codes", "the code needs its 7th character"),
    _e("ICD10CM-PLACEHOLDER-X", E, _C, "codes", "a 7th character without its placeholder X"),
    _e(
        "CODE-NOT-CHECKED",
        INFO,
        IssueCode.NOT_SUPPORTED,
        "codes",
        "no code set loaded for the system",
    ),
    _e("CODE-DATE-NOT-COVERED", W, IssueCode.NOT_SUPPORTED, "codes", "no release covers the date"),
    _e("CODE-MISSING", E, _R, "codes", "a diagnosis or line without a code"),
    _e("DATE-OF-SERVICE-MISSING", E, _R, "structure", "no date to check codes against"),
    # Medicare Code Editor
    _e("MCE-E-CODE-AS-PDX", E, _B, "mce", "an external-cause code as principal diagnosis"),
    _e("MCE-MANIFESTATION-AS-PDX", E, _B, "mce", "a manifestation code as principal diagnosis"),
    _e("MCE-UNACCEPTABLE-PDX", E, _B, "mce", "a code not acceptable as principal diagnosis"),
    _e("MCE-NONSPECIFIC-PDX", W, _B, "mce", "a non-specific principal diagnosis"),
    _e("MCE-QUESTIONABLE-ADMISSION", W, _B, "mce", "a principal that seldom justifies admission"),
    _e("MCE-QUESTIONABLE-OBSTETRIC-ADMISSION", W, _B, "mce", "an obstetric admission to review"),
    _e("MCE-REQUIRES-SDX", E, _B, "mce", "the principal diagnosis needs a secondary diagnosis"),
    _e("MCE-DUPLICATE-OF-PDX", E, IssueCode.DUPLICATE, "mce", "a secondary equal to the principal"),
    _e("MCE-AGE-CONFLICT", E, _B, "mce", "the code conflicts with the patient's age"),
    _e("MCE-SEX-CONFLICT", E, _B, "mce", "the code conflicts with the patient's sex"),
    _e("MCE-UNSPECIFIED", W, _B, "mce", "an unspecified code the MCE flags"),
    _e("MCE-INVALID-CODE", E, _C, "mce", "the MCE calls the code invalid on the discharge date"),
    _e("MCE-INVALID-AGE", E, _V, "mce", "the age is outside 0-124"),
    _e("MCE-NON-COVERED", E, _B, "mce", "a procedure Medicare does not cover"),
    _e("MCE-LIMITED-COVERAGE", W, _B, "mce", "a procedure covered only in some circumstances"),
    _e("MCE-OPEN-BIOPSY", INFO, _B, "mce", "an open biopsy: check that it was open"),
    _e("MCE-BILATERAL", W, _B, "mce", "bilateral procedure combination"),
    _e("MCE-WRONG-PROCEDURE-PERFORMED", E, _B, "mce", "a wrong procedure was performed"),
    _e("MCE-OTHER", W, _B, "mce", "another MCE edit"),
    _e("AGE-UNKNOWN", INFO, IssueCode.INCOMPLETE, "mce", "age edits could not run"),
    _e("SEX-UNKNOWN", INFO, IssueCode.INCOMPLETE, "mce", "sex edits could not run"),
    _e("POA-MISSING", W, _R, "mce", "an inpatient diagnosis without a POA indicator"),
    _e("POA-INVALID", E, _V, "mce", "a POA indicator other than Y, N, U, W or 1"),
    _e(
        "POA-DOCUMENTATION-INSUFFICIENT",
        W,
        IssueCode.INCOMPLETE,
        "mce",
        "inpatient diagnoses with POA U, for a coder to resolve",
    ),
    # Diagnosis edits of professional (and vision) claims: the MCE's code-level subset
    _e(
        "DX-EXTERNAL-CAUSE-FIRST-LISTED",
        E,
        _B,
        "dx",
        "an external-cause code (V00-Y99) as first-listed diagnosis",
    ),
    _e("DX-MANIFESTATION-FIRST-LISTED", E, _B, "dx", "a manifestation code as first-listed"),
    _e("DX-AGE-CONFLICT", E, _B, "dx", "a diagnosis that conflicts with the patient's age"),
    _e("DX-SEX-CONFLICT", E, _B, "dx", "a diagnosis that conflicts with the patient's sex"),
    # Tabular notes
    _e("ICD10CM-EXCLUDES1", W, _B, "notes", "two codes an Excludes1 note keeps apart"),
    _e("ICD10CM-CODE-FIRST", W, _B, "notes", "a manifestation without its etiology first"),
    _e("ICD10CM-USE-ADDITIONAL", INFO, _B, "notes", "a code asking for an additional code"),
    # Procedures
    _e("NCCI-PTP", E, _B, "procedures", "a column-2 code billed with its column-1 code"),
    _e("NCCI-PTP-BYPASSED", INFO, _B, "procedures", "a PTP pair allowed by its modifier"),
    _e("NCCI-NOT-LOADED", INFO, IssueCode.NOT_SUPPORTED, "procedures", "no NCCI/MUE tables loaded"),
    _e("MUE-UNITS", E, _B, "procedures", "more units on a line than the MUE allows"),
    _e("MUE-UNITS-DOS", E, _B, "procedures", "more units on a date than the MUE allows"),
    _e("PROCEDURE-CODE-SHAPE", E, _C, "procedures", "not a CPT or HCPCS code's shape"),
    _e(
        "PROCEDURE-CODE-INVALID",
        E,
        _C,
        "procedures",
        "a CPT/HCPCS code not in the code set loaded, on the date of service",
    ),
    _e("MODIFIER-INVALID", E, _C, "procedures", "a modifier that is not two letters or digits"),
    _e(
        "MODIFIER-UNKNOWN",
        E,
        _C,
        "procedures",
        "a Level II modifier the HCPCS file does not list on the date",
    ),
    _e("MODIFIER-DUPLICATE", W, IssueCode.DUPLICATE, "procedures", "a modifier twice on a line"),
    _e("MODIFIER-TOO-MANY", E, _B, "procedures", "more than four modifiers on a line"),
    # Diagnosis pointers
    _e("DX-POINTER-MISSING", E, _R, "pointers", "a professional line pointing at no diagnosis"),
    _e("DX-POINTER-INVALID", E, _V, "pointers", "a pointer to a diagnosis that is not there"),
    _e("DX-POINTER-TOO-MANY", E, _B, "pointers", "more than four pointers on a professional line"),
    # Structure
    _e("CLAIM-MISSING-PATIENT", E, _R, "structure", "no patient"),
    _e("CLAIM-MISSING-PROVIDER", E, _R, "structure", "no provider"),
    _e("CLAIM-MISSING-INSURER", W, _R, "structure", "no insurer"),
    _e("CLAIM-MISSING-COVERAGE", E, _R, "structure", "no insurance with a coverage"),
    _e("CLAIM-MISSING-BILLABLE-PERIOD", E, _R, "structure", "no billable period"),
    _e("CLAIM-NO-DIAGNOSIS", E, _R, "structure", "no diagnosis"),
    _e("CLAIM-NO-PRINCIPAL-DIAGNOSIS", E, _R, "structure", "no principal diagnosis"),
    _e("CLAIM-NO-ITEMS", W, _R, "structure", "no items"),
    _e("CLAIM-DUPLICATE-SEQUENCE", E, IssueCode.DUPLICATE, "structure", "a sequence used twice"),
    _e("ITEM-NO-PRODUCT", E, _R, "structure", "an item without a product or service"),
    _e("ITEM-NET-MISMATCH", W, _V, "structure", "an item's net is not unit price times quantity"),
    _e("CLAIM-TOTAL-MISMATCH", E, _V, "structure", "the total is not the sum of the item nets"),
    _e("ENCOUNTER-NOT-FINISHED", E, _B, "structure", "the encounter is not finished"),
    _e("ENCOUNTER-NO-DATE", E, _R, "structure", "the encounter has no date"),
    # Institutional (UB-04) facts: discharge status, admission type and source, revenue codes
    _e("DISCHARGE-STATUS-UNKNOWN", W, IssueCode.INCOMPLETE, "structure", "no discharge status"),
    _e("ADMISSION-TYPE-UNMAPPED", INFO, IssueCode.INCOMPLETE, "structure", "no admission type"),
    _e("ADMISSION-SOURCE-UNMAPPED", INFO, IssueCode.INCOMPLETE, "structure", "no point of origin"),
    _e("ITEM-NO-REVENUE", E, _R, "structure", "an institutional line without a revenue code"),
    _e("FACILITY-NOT-CHARGED", W, IssueCode.INCOMPLETE, "facility", "a stay, no chargemaster"),
    _e("ACCOMMODATION-NOT-CHARGED", E, _R, "facility", "a night the chargemaster rates no room"),
    _e("ANCILLARY-NOT-CHARGED", E, _R, "facility", "a procedure the chargemaster does not charge"),
)

CATALOGUE: Final[Mapping[str, Edit]] = {entry.id: entry for entry in _EDITS}
"""Every edit by id, in the order the documentation lists them."""

ANATOMIC_MODIFIERS: Final = frozenset(
    {"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"}
    | {"TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD"}
    | {"LM", "RC", "RI"}
)
"""NCCI-associated anatomic modifiers (NCCI Policy Manual, ch. I): they bypass a PTP edit
whose modifier indicator is 1 only when the two lines name different sites."""

SIDE_MODIFIERS: Final = frozenset({"LT", "RT"})
"""The anatomic modifiers that name only a side; the others name an eyelid, digit or artery."""

MODIFIER_BYPASSES: Final = (
    frozenset({"59", "XE", "XS", "XP", "XU", "25", "57", "58", "78", "79", "91", "24", "27"})
    | ANATOMIC_MODIFIERS
)
"""NCCI-associated modifiers: global surgery, other and anatomic (ch. I of the NCCI Policy
Manual). Those outside :data:`ANATOMIC_MODIFIERS` bypass a PTP edit whose modifier indicator
is 1 on either line of the pair; anatomic ones only when the lines' sites differ."""


def edit(edit_id: str) -> Edit:
    """The catalogue entry for ``edit_id``; an unknown id is a programming error."""
    return CATALOGUE[edit_id]


@dataclass(frozen=True, slots=True)
class PayerProfile:
    """Which edits a payer applies and how hard: ``severities`` overrides the defaults.

    An edit mapped to ``None`` is off. ``sex_edits`` asks for sex conflicts even after CMS
    dropped them (2024-10-01), on institutional claims (``MCE-SEX-CONFLICT``) and professional
    ones (``DX-SEX-CONFLICT``) alike; ``mce`` applies the MCE to institutional claims (the
    ``DX-*`` edits of professional claims are turned off one by one, like any edit).
    """

    name: str
    severities: Mapping[str, Severity | None] = field(default_factory=dict)
    sex_edits: bool = False
    mce: bool = True

    # Every catalogued edit's severity under this profile, worked out once: the scrubber
    # asks for each finding of each claim.
    _effective: dict[str, Severity | None] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        unknown = sorted(set(self.severities) - set(CATALOGUE))
        if unknown:
            raise ConfigurationError(
                f"payer profile {self.name!r} names unknown edits: {', '.join(unknown)}"
            )
        effective = {edit_id: entry.severity for edit_id, entry in CATALOGUE.items()}
        object.__setattr__(self, "_effective", effective | dict(self.severities))

    def severity(self, edit_id: str) -> Severity | None:
        """The severity of ``edit_id`` under this profile, or None when it is off."""
        return self._effective[edit_id]


MEDICARE: Final = PayerProfile(
    "medicare",
    {"MCE-SEX-CONFLICT": Severity.ERROR, "DX-SEX-CONFLICT": Severity.ERROR},
    sex_edits=False,
    mce=True,
)
"""The default: the CMS edits as Medicare applies them (no sex edits from FY2025)."""

COMMERCIAL: Final = PayerProfile(
    "commercial",
    {
        "MCE-SEX-CONFLICT": Severity.WARNING,
        "DX-SEX-CONFLICT": Severity.WARNING,
        "MCE-QUESTIONABLE-ADMISSION": None,
        "MCE-NON-COVERED": Severity.WARNING,
        "MCE-LIMITED-COVERAGE": None,
    },
    sex_edits=True,
    mce=True,
)
"""A commercial payer: sex conflicts as warnings, Medicare coverage edits relaxed."""
