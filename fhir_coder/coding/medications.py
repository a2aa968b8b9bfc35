"""Drugs given during the encounter: HCPCS drug lines by NDC, where a crosswalk is configured.

A drug administered in the office or outpatient department is billed with its HCPCS code
(J-codes and others), found from the package's National Drug Code through the
organisation's NDC-HCPCS crosswalk (CMS publishes one with its ASP files). The units are the
dose given divided by the code's dosage descriptor (one unit of J1100 is 1 mg), which the
documentation settles: every drug line is marked for a coder to confirm its units. Nothing
is dropped silently: a drug not given, given during an inpatient stay (billed on the
facility's pharmacy revenue lines), sent without an NDC, or with an NDC no crosswalk knows,
says so.
"""

from __future__ import annotations

from fhir_coder.coding.checks import usable_code
from fhir_coder.coding.context import CodingContext
from fhir_coder.model import CodedLine, CodingMethod, MedicationAdministration
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.systems import HCPCS, NDC

__all__ = ["code_medications"]

_GIVEN = frozenset({"completed", ""})


def code_medications(context: CodingContext, issues: list[Issue]) -> list[CodedLine]:
    """The HCPCS drug lines of the encounter's MedicationAdministrations (unmerged)."""
    lines: list[CodedLine] = []
    for given in context.encounter.medications:
        line = _drug_line(context, given, issues)
        if line is not None:
            lines.append(line)
    return lines


def _note(source: str, message: str, rule: str) -> Issue:
    return Issue(Severity.INFORMATION, IssueCode.INFORMATIONAL, message, rule=rule, source=source)


def _drug_line(
    context: CodingContext, given: MedicationAdministration, issues: list[Issue]
) -> CodedLine | None:
    source = given.source.reference
    if given.status not in _GIVEN:
        issues.append(
            _note(source, f"{source} is {given.status}: nothing is billed", "DRUG-NOT-GIVEN")
        )
        return None
    if context.encounter.encounter_class.is_inpatient:
        issues.append(
            _note(
                source,
                f"{source} was given during an inpatient stay: the facility bills drugs on its "
                "pharmacy revenue lines, not as HCPCS lines of this claim",
                "PROC-NOT-BILLED",
            )
        )
        return None
    ndc = next((c for c in given.medication if c.system == NDC), None)
    found = (
        context.crosswalks.translate(NDC, ndc.code, HCPCS, on=context.on)
        if ndc is not None and context.crosswalks is not None
        else ()
    )
    if not found:
        issues.append(_not_billed(context, given, ndc.code if ndc else None))
        return None
    translation = found[0]
    checked = usable_code(
        context,
        HCPCS,
        translation.code,
        source=source,
        element="MedicationAdministration.medicationCodeableConcept",
        how=f"for NDC {ndc.code if ndc else ''} on {source}",
        issues=issues,
    )
    if checked is None:
        return None
    dose = f"{given.dose:g} {given.dose_unit}".strip() if given.dose is not None else "not stated"
    issues.append(
        Issue(
            Severity.WARNING,
            IssueCode.INCOMPLETE,
            f"{source}: {translation.code} is billed in units of its dosage descriptor "
            f"({translation.rule}); the dose given was {dose}: a coder confirms the units",
            rule="DRUG-UNITS-UNCONFIRMED",
            expression=("Claim.item.quantity",),
            fix="set the units to the dose given divided by one unit of the code",
            source=source,
        )
    )
    return CodedLine(
        system=HCPCS,
        code=translation.code,
        display=checked.description or translation.display,
        source=given.source,
        source_coding=ndc,
        method=CodingMethod.CROSSWALK,
        confidence=0.6,
        release=checked.release,
        performed=given.occurred or context.on,
        rule=f"{translation.source}: {translation.rule}",
        needs_review=True,
    )


def _not_billed(context: CodingContext, given: MedicationAdministration, ndc: str | None) -> Issue:
    source = given.source.reference
    what = ", ".join(f"{c.system}|{c.code}" for c in given.medication) or "no code"
    if ndc is None:
        why = "it carries no NDC, by which the HCPCS drug code is found"
    else:
        answer = context.crosswalks.no_target(NDC, ndc, HCPCS) if context.crosswalks else None
        why = (
            answer.reason
            if answer is not None
            else "no NDC-HCPCS crosswalk is configured (FHIR_CODER_NDC_HCPCS_FILE)"
        )
    return Issue(
        Severity.WARNING,
        IssueCode.INCOMPLETE,
        f"{source} ({what}) is not billed: {why}: needs a coder",
        rule="NEEDS-CODER-DRUG",
        expression=("MedicationAdministration.medicationCodeableConcept",),
        fix="add the HCPCS drug code and units by hand, or configure the NDC-HCPCS crosswalk",
        source=source,
    )
