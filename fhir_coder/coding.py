"""From an encounter's documented diagnoses and procedures to coded, sequenced lines.

This first engine codes what the source already carries: ICD-10-CM codings on
Conditions (normalised and checked against the release in force on the date of service)
and CPT/HCPCS/ICD-10-PCS codings on Procedures. Whatever it cannot code becomes an
issue that says why; nothing is dropped silently and no invalid code is emitted.
"""

from __future__ import annotations

from datetime import date

from fhir_coder.errors import ReleaseNotAvailableError, UnknownCodeSystemError
from fhir_coder.model import (
    CodedEncounter,
    CodedLine,
    Coding,
    CodingMethod,
    Diagnosis,
    DiagnosisRole,
    Encounter,
    Procedure,
)
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import CodeInfo, CodeSetPort
from fhir_coder.systems import (
    CPT,
    HCPCS,
    ICD10CM,
    ICD10PCS,
    display_icd10cm,
    normalise_icd10cm,
)

__all__ = ["code_encounter"]

EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
"""Verification statuses that mean the condition must never reach a claim."""

PROCEDURE_SYSTEMS = (CPT, HCPCS, ICD10PCS)
"""Procedure code systems a claim line can carry, in order of preference."""

_UNRANKED = 1_000_000


def code_encounter(encounter: Encounter, codesets: CodeSetPort) -> CodedEncounter:
    """Code ``encounter``: its diagnoses in claim order, its procedure lines, and findings."""
    issues: list[Issue] = list(encounter.read_issues)
    on = encounter.date_of_service
    if on is None:
        issues.append(
            Issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                f"{encounter.reference} has no period: no date of service to code against",
                rule="ENCOUNTER-NO-DATE",
                expression=("Encounter.period",),
                fix="record the encounter's period (start, and end for inpatient stays)",
                source=encounter.reference,
            )
        )
        return CodedEncounter(encounter=encounter, issues=tuple(issues))
    diagnoses = _code_diagnoses(encounter, on, codesets, issues)
    procedures = _code_procedures(encounter, on, codesets, issues)
    return CodedEncounter(
        encounter=encounter, diagnoses=diagnoses, procedures=procedures, issues=tuple(issues)
    )


def _counts(diagnosis: Diagnosis, issues: list[Issue]) -> bool:
    """Whether ``diagnosis`` belongs on this encounter's claim; records why when it does not."""
    source = diagnosis.source.reference
    if diagnosis.verification in EXCLUDED_VERIFICATION:
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{source} is {diagnosis.verification}: not coded",
                rule="DX-EXCLUDED-VERIFICATION",
                source=source,
            )
        )
        return False
    if "problem-list-item" in diagnosis.category and not diagnosis.listed_on_encounter:
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{source} is a problem-list item the encounter does not reference: not coded",
                rule="DX-PROBLEM-LIST-NOT-REFERENCED",
                source=source,
            )
        )
        return False
    return True


def _sequence_key(indexed: tuple[int, Diagnosis]) -> tuple[int, int, int]:
    """Claim order: ranked ``Encounter.diagnosis`` entries first (admitting after the rest)."""
    position, diagnosis = indexed
    rank = diagnosis.rank if diagnosis.listed_on_encounter and diagnosis.rank else _UNRANKED
    admitting_last = 1 if diagnosis.use == "AD" else 0
    return (rank, admitting_last, position)


def _code_diagnoses(
    encounter: Encounter, on: date, codesets: CodeSetPort, issues: list[Issue]
) -> tuple[CodedLine, ...]:
    ordered = sorted(enumerate(encounter.diagnoses), key=_sequence_key)
    lines: list[CodedLine] = []
    seen: dict[str, str] = {}
    for _, diagnosis in ordered:
        if not _counts(diagnosis, issues):
            continue
        line = _code_diagnosis(diagnosis, on, codesets, issues)
        if line is None:
            continue
        if line.code in seen:
            issues.append(
                Issue(
                    Severity.INFORMATION,
                    IssueCode.DUPLICATE,
                    f"{display_icd10cm(line.code)} from {line.source} is already coded "
                    f"from {seen[line.code]}: merged",
                    rule="DX-DUPLICATE-MERGED",
                    source=line.source.reference,
                )
            )
            continue
        seen[line.code] = line.source.reference
        lines.append(line)
    if not lines:
        return ()
    principal = lines[0]
    listed = next(
        (d for d in encounter.diagnoses if d.source == principal.source and d.listed_on_encounter),
        None,
    )
    why = (
        f"Encounter.diagnosis rank {listed.rank}"
        if listed is not None and listed.rank
        else "the first coded encounter diagnosis (the encounter ranks none)"
    )
    label = "principal" if encounter.encounter_class.is_inpatient else "first-listed"
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{label} diagnosis {display_icd10cm(principal.code)} chosen from {why}",
            rule="DX-SEQUENCING",
            source=principal.source.reference,
        )
    )
    return tuple(
        _with_role(line, DiagnosisRole.PRINCIPAL if i == 0 else DiagnosisRole.SECONDARY)
        for i, line in enumerate(lines)
    )


def _with_role(line: CodedLine, role: DiagnosisRole) -> CodedLine:
    return CodedLine(
        system=line.system,
        code=line.code,
        display=line.display,
        source=line.source,
        source_coding=line.source_coding,
        method=line.method,
        confidence=line.confidence,
        release=line.release,
        role=role,
        performed=line.performed,
    )


def _choose(codings: tuple[Coding, ...], system: str) -> Coding | None:
    """The coding of ``system`` to use: the clinician's choice (``userSelected``) first."""
    candidates = [c for c in codings if c.system == system]
    if not candidates:
        return None
    return next((c for c in candidates if c.user_selected), candidates[0])


def _describe_source(diagnosis: Diagnosis) -> str:
    if diagnosis.codings:
        first = diagnosis.codings[0]
        return f"{first.system}|{first.code}"
    return "text only" if diagnosis.text else "no code and no text"


def _code_diagnosis(
    diagnosis: Diagnosis, on: date, codesets: CodeSetPort, issues: list[Issue]
) -> CodedLine | None:
    source = diagnosis.source.reference
    coding = _choose(diagnosis.codings, ICD10CM)
    if coding is None:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source} carries no ICD-10-CM code ({_describe_source(diagnosis)}): "
                "needs a coder",
                rule="NEEDS-CODER-NO-ICD10CM",
                expression=("Condition.code",),
                fix="add the ICD-10-CM code, or load a crosswalk for the source system",
                source=source,
            )
        )
        return None
    code = normalise_icd10cm(coding.code)
    if code is None:
        issues.append(
            Issue(
                Severity.ERROR,
                IssueCode.CODE_INVALID,
                f"{coding.code!r} on {source} is not shaped like an ICD-10-CM code",
                rule="ICD10CM-MALFORMED",
                expression=("Condition.code.coding",),
                fix="replace it with a valid ICD-10-CM code",
                source=source,
            )
        )
        return None
    try:
        info = codesets.lookup(ICD10CM, code, on)
    except ReleaseNotAvailableError as exc:
        issues.append(
            Issue(
                Severity.ERROR,
                IssueCode.NOT_SUPPORTED,
                f"{display_icd10cm(code)} on {source} cannot be checked: {exc}",
                rule="CODESET-NO-RELEASE",
                source=source,
            )
        )
        return None
    problem = _icd10cm_problem(info, source, on)
    if problem is not None:
        issues.append(problem)
        return None
    return CodedLine(
        system=ICD10CM,
        code=code,
        display=info.description or coding.display,
        source=diagnosis.source,
        source_coding=coding,
        method=CodingMethod.AS_CODED,
        confidence=1.0,
        release=info.release,
    )


def _icd10cm_problem(info: CodeInfo, source: str, on: date) -> Issue | None:
    """The finding that keeps a looked-up ICD-10-CM code off the claim, if any."""
    shown = display_icd10cm(info.code)
    choices = ", ".join(display_icd10cm(c) for c in info.billable_children[:8])
    more = ", ..." if len(info.billable_children) > 8 else ""
    if info.needs_seventh_character:
        return Issue(
            Severity.ERROR,
            IssueCode.CODE_INVALID,
            f"{shown} on {source} lacks its 7th character",
            rule="ICD10CM-7TH-CHARACTER",
            expression=("Condition.code.coding",),
            fix=f"choose the full code: {choices}{more}" if choices else "add the 7th character",
            source=source,
        )
    if not info.valid:
        return Issue(
            Severity.ERROR,
            IssueCode.CODE_INVALID,
            f"{shown} on {source} is not a valid ICD-10-CM code on {on.isoformat()} "
            f"({info.release})",
            rule="ICD10CM-INVALID-ON-DATE",
            expression=("Condition.code.coding",),
            fix="replace it with a code valid on the date of service",
            source=source,
        )
    if not info.billable:
        return Issue(
            Severity.ERROR,
            IssueCode.CODE_INVALID,
            f"{shown} on {source} is a category header, not a billable code",
            rule="ICD10CM-NOT-BILLABLE",
            expression=("Condition.code.coding",),
            fix=f"choose a billable code below it: {choices}{more}"
            if choices
            else "choose a billable code",
            source=source,
        )
    return None


def _code_procedures(
    encounter: Encounter, on: date, codesets: CodeSetPort, issues: list[Issue]
) -> tuple[CodedLine, ...]:
    lines: list[CodedLine] = []
    for procedure in encounter.procedures:
        if procedure.status in ("entered-in-error", "not-done"):
            continue
        line = _code_procedure(procedure, on, codesets, issues)
        if line is not None:
            lines.append(line)
    return tuple(lines)


def _code_procedure(
    procedure: Procedure, on: date, codesets: CodeSetPort, issues: list[Issue]
) -> CodedLine | None:
    source = procedure.source.reference
    coding = next(
        (c for system in PROCEDURE_SYSTEMS if (c := _choose(procedure.codings, system))), None
    )
    if coding is None:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source} carries no CPT, HCPCS or ICD-10-PCS code: needs a coder",
                rule="NEEDS-CODER-NO-PROCEDURE-CODE",
                expression=("Procedure.code",),
                fix="add the billing code, or load a crosswalk for the source system",
                source=source,
            )
        )
        return None
    code = coding.code.strip().upper()
    try:
        info = codesets.lookup(coding.system, code, on)
    except UnknownCodeSystemError:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{code} on {source} is unverified: no {coding.system} code set is loaded",
                rule="CODESET-UNVERIFIED",
                source=source,
                fix="configure the licensed code-set file for this system",
            )
        )
        release, display = "unverified", coding.display
    except ReleaseNotAvailableError as exc:
        issues.append(
            Issue(
                Severity.ERROR,
                IssueCode.NOT_SUPPORTED,
                f"{code} on {source} cannot be checked: {exc}",
                rule="CODESET-NO-RELEASE",
                source=source,
            )
        )
        return None
    else:
        if not (info.valid and info.billable):
            issues.append(
                Issue(
                    Severity.ERROR,
                    IssueCode.CODE_INVALID,
                    f"{code} on {source} is not a valid billable code on {on.isoformat()} "
                    f"({info.release})",
                    rule="PROCEDURE-CODE-INVALID",
                    expression=("Procedure.code.coding",),
                    source=source,
                )
            )
            return None
        release, display = info.release, info.description or coding.display
    return CodedLine(
        system=coding.system,
        code=code,
        display=display,
        source=procedure.source,
        source_coding=coding,
        method=CodingMethod.AS_CODED,
        confidence=1.0,
        release=release,
        performed=procedure.performed or on,
    )
