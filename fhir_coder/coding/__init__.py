"""From an encounter's documented diagnoses and procedures to coded, sequenced lines.

:func:`code_encounter` is the one entry point. It decides which Conditions count, codes
each (as coded, crosswalk, or words), sequences them, and codes the procedures and the
visit. Every line records its source, method, rule, confidence and code-set release;
whatever cannot be coded becomes a finding that says why. No invalid code is emitted.
"""

from __future__ import annotations

from fhir_coder.coding.admission import with_reason
from fhir_coder.coding.context import DEFAULT_POLICY, CodingContext, CodingPolicy, VisitCode
from fhir_coder.coding.diagnoses import code_diagnosis
from fhir_coder.coding.guidelines import Rulebook, apply_guidelines, load_rulebook
from fhir_coder.coding.immunizations import vaccination_diagnosis
from fhir_coder.coding.procedures import code_procedures, reasons_as_coded
from fhir_coder.coding.sequencing import counts, etiology_first, in_claim_order, sequence
from fhir_coder.model import CodedEncounter, CodedLine, Encounter
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import CodeNotesPort, CodeSetPort, CrosswalkPort, TextSearchPort

__all__ = ["DEFAULT_POLICY", "CodingPolicy", "VisitCode", "code_encounter"]


def code_encounter(
    encounter: Encounter,
    codesets: CodeSetPort,
    *,
    crosswalks: CrosswalkPort | None = None,
    notes: CodeNotesPort | None = None,
    text: TextSearchPort | None = None,
    policy: CodingPolicy = DEFAULT_POLICY,
    rules: Rulebook | None = None,
) -> CodedEncounter:
    """Code ``encounter``: its diagnoses in claim order, its procedure lines, and findings.

    Each diagnosis is coded on its own, then the encounter as a whole goes through the
    ICD-10-CM Official Guidelines (``rules``: the tables shipped with the package unless
    given; :mod:`fhir_coder.coding.guidelines`) before it is sequenced.
    """
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
    context = CodingContext.start(encounter, on, codesets, crosswalks, notes, text, policy)
    lines: list[CodedLine] = []
    inpatient = encounter.encounter_class.is_inpatient
    for diagnosis in in_claim_order(encounter.diagnoses):
        if counts(diagnosis, issues, inpatient=inpatient):
            lines.extend(code_diagnosis(context, diagnosis, issues))
    lines = apply_guidelines(context, lines, issues, rules or load_rulebook())
    # Procedures are coded before the diagnoses are sequenced (billed vaccines add Z23),
    # their findings kept after the diagnoses' as before.
    procedure_issues: list[Issue] = []
    charges: list[CodedLine] = []
    coded_procedures = code_procedures(context, procedure_issues, charges)
    if encounter.immunizations:
        lines = vaccination_diagnosis(context, lines, coded_procedures, issues)
    diagnoses = sequence(encounter, etiology_first(lines, notes, issues), issues)
    # the stay's reason for admission (admitting diagnosis), after the sequenced lines
    if encounter.reason_codes or encounter.reason_references:
        diagnoses = with_reason(context, diagnoses, issues)
    issues.extend(procedure_issues)
    procedures = reasons_as_coded(coded_procedures, lines)
    _flag_nearest_release(diagnoses + procedures, encounter, issues)
    return CodedEncounter(
        encounter=encounter,
        diagnoses=diagnoses,
        procedures=procedures,
        issues=tuple(issues),
        charges=tuple(charges),
    )


def _flag_nearest_release(
    lines: tuple[CodedLine, ...], encounter: Encounter, issues: list[Issue]
) -> None:
    """A warning on every line checked against a release that does not cover the date.

    Only with the ``nearest`` opt-in (test data such as decades of Synthea history): each
    line names the release it relied on, so a coder sees which codes to check again once
    the release in force on the date is loaded (``FHIR_CODER_ICD10CM_ORDER_DIR``).
    """
    # The common case (every line within a loaded release) costs one pass over the lines.
    for line in lines:
        if "(nearest release" in line.release:
            break
    else:
        return
    for line in lines:
        if "(nearest release" not in line.release:
            continue
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.BUSINESS_RULE,
                f"{line.code} from {line.source} was checked against {line.release}: "
                f"{encounter.reference} is dated outside every loaded release",
                rule="CODESET-NEAREST-RELEASE",
                fix="load the release in force on the date of service (CMS order file) "
                "before submitting",
                source=line.source.reference,
            )
        )
