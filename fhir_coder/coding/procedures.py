"""Procedure lines: ICD-10-PCS for inpatient stays, CPT/HCPCS for everything else.

A Procedure's own billing coding is used when it has one of the right kind; otherwise its
SNOMED CT concept goes through the crosswalk. Laterality in ``bodySite`` becomes the LT,
RT or 50 modifier on CPT/HCPCS lines; the same code on the same day is one line with
more units. Outpatient visits get their E/M line from the organisation's visit table.
Each line keeps its Procedure's reasons (the Conditions it treats, ICD-10-CM reason codes,
and the Conditions whose concept a SNOMED CT or other reason code names): the Claim points
the line at those diagnoses.

On an inpatient stay the organisation's ICD-10-PCS reporting policy applies to what the
crosswalks give (:mod:`fhir_coder.coding.pcs_reporting`): by default a procedure that is
not a UHDDS significant procedure (imaging, an ECG, a therapy) is noted as not reported
(``PCS-NOT-REPORTED``) and kept among the stay's charges, for its revenue line, instead
of becoming a ``Claim.procedure``. A code the EHR sent in ICD-10-PCS is always kept.
"""

from __future__ import annotations

from typing import Final

from fhir_coder.claim_parts import LABORATORY_REVENUE, revenue_code
from fhir_coder.coding.checks import usable_code
from fhir_coder.coding.context import CodingContext
from fhir_coder.coding.diagnoses import choose_coding
from fhir_coder.coding.immunizations import code_immunizations, first_payer_is_medicare
from fhir_coder.coding.medications import code_medications
from fhir_coder.coding.pcs_build import Built, Open, build_pcs
from fhir_coder.coding.pcs_reporting import is_reported
from fhir_coder.model import (
    CodedLine,
    Coding,
    CodingMethod,
    EncounterClass,
    Procedure,
    SourceRef,
)
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import NoTarget, Translation
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, SNOMED, normalise_icd10cm
from fhir_coder.values import replace

__all__ = ["code_procedures", "laterality_modifier", "reasons_as_coded", "visit_line"]

INPATIENT_SYSTEMS = (ICD10PCS,)
PROFESSIONAL_SYSTEMS = (CPT, HCPCS)

_LEFT, _RIGHT, _BOTH = "7771000", "24028007", "51440002"  # SNOMED CT laterality concepts
_SKIPPED_STATUS = frozenset({"entered-in-error", "not-done", "preparation", "stopped"})


def laterality_modifier(body_sites: tuple[Coding, ...]) -> str | None:
    """LT, RT or 50 from the body sites of a procedure, when they say which side."""
    sides: set[str] = set()
    for site in body_sites:
        words = f" {site.display.lower()} "
        if site.code == _BOTH or " bilateral " in words or "both" in words:
            return "50"
        if site.code == _LEFT or " left " in words:
            sides.add("LT")
        if site.code == _RIGHT or " right " in words:
            sides.add("RT")
    if sides == {"LT", "RT"}:
        return "50"
    return sides.pop() if len(sides) == 1 else None


def _choose(codings: tuple[Coding, ...], systems: tuple[str, ...]) -> Coding | None:
    """The coding to bill: of the first of ``systems`` the procedure carries."""
    for system in systems:
        chosen = choose_coding(codings, system)
        if chosen is not None:
            return chosen
    return None


def code_procedures(
    context: CodingContext, issues: list[Issue], charges: list[CodedLine] | None = None
) -> tuple[CodedLine, ...]:
    """The procedure lines of the encounter, merged by code, date and modifiers.

    ``charges`` receives the stay's procedures the ICD-10-PCS reporting policy leaves off
    the claim's procedures but the facility still charges (see the module's docstring).
    """
    inpatient = context.encounter.encounter_class.is_inpatient
    systems = INPATIENT_SYSTEMS if inpatient else PROFESSIONAL_SYSTEMS
    lines: list[CodedLine] = []
    by_concept = _conditions_by_concept(context)
    unreported = charges if charges is not None else []
    for procedure in context.encounter.procedures:
        if procedure.status in _SKIPPED_STATUS:
            continue
        side = None if inpatient else laterality_modifier(procedure.body_sites)
        lines.extend(
            replace(line, modifiers=(*line.modifiers, side)) if side else line
            for line in _code_procedure(
                context, procedure, (systems, by_concept), issues, unreported
            )
        )
    # (most encounters have neither vaccines nor drugs: no call then)
    if context.encounter.immunizations:
        lines.extend(code_immunizations(context, issues, unreported))
    if context.encounter.medications:
        lines.extend(code_medications(context, issues))
    if not inpatient and (visit := visit_line(context, issues)) is not None:
        lines.insert(0, visit)
    return _merged(lines) if not inpatient else tuple(lines)


def _merged(lines: list[CodedLine]) -> tuple[CodedLine, ...]:
    """One line per code, date and modifiers, with units added up."""
    merged: dict[tuple[str, str, object, tuple[str, ...]], CodedLine] = {}
    for line in lines:
        key = (line.system, line.code, line.performed, line.modifiers)
        if key in merged:
            kept = merged[key]
            merged[key] = replace(
                kept,
                units=kept.units + line.units,
                reason_references=_union(kept.reason_references, line.reason_references),
                reason_codes=_union(kept.reason_codes, line.reason_codes),
            )
        else:
            merged[key] = line
    return tuple(merged.values())


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """``first`` then what ``second`` adds, in order: one line done for both reasons."""
    if not second or second == first:
        return first
    return first + tuple(item for item in second if item not in first)


def _conditions_by_concept(context: CodingContext) -> dict[tuple[str, str], tuple[str, ...]]:
    """The Conditions (``Condition/id``) carrying each concept other than ICD-10-CM.

    A Procedure's ``reasonCode`` often names the problem in SNOMED CT (US Core, Epic)
    rather than pointing at the Condition: the Condition that carries the same concept is
    the one it was done for. Exact concepts only; no subsumption. Empty when no procedure
    gives such a reason, which is the usual case.
    """
    encounter = context.encounter
    wanted = {
        (coding.system, coding.code)
        for procedure in encounter.procedures
        for coding in procedure.reason_codes
        if coding.system != ICD10CM
    }
    if not wanted:
        return {}
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for diagnosis in encounter.diagnoses:
        for coding in diagnosis.codings:
            key = (coding.system, coding.code)
            if key in wanted:
                found[key] = _union(found.get(key, ()), (diagnosis.source.reference,))
    return found


def _reason_conditions(
    procedure: Procedure, by_concept: dict[tuple[str, str], tuple[str, ...]]
) -> tuple[str, ...]:
    """``reasonReference`` and then the Conditions its other reason concepts name."""
    named = procedure.reason_references
    if by_concept:
        for coding in procedure.reason_codes:
            named = _union(named, by_concept.get((coding.system, coding.code), ()))
    return named


def _icd10cm_reasons(codings: tuple[Coding, ...]) -> tuple[str, ...]:
    """The ICD-10-CM codes among a procedure's reason codes, dotless (as diagnoses are coded)."""
    if not codings:
        return ()
    codes = (normalise_icd10cm(c.code) for c in codings if c.system == ICD10CM)
    return tuple(dict.fromkeys(code for code in codes if code))


def reasons_as_coded(
    procedures: tuple[CodedLine, ...], diagnoses: list[CodedLine]
) -> tuple[CodedLine, ...]:
    """Procedure lines whose reason Conditions are also named by the codes they were coded to.

    Two Conditions coded to the same code are one claim diagnosis whose source is the
    first (sequencing merges them); a procedure done for the second must still point at
    it, which its code makes possible. ``diagnoses`` are the coded lines before the merge.
    """
    if not any(line.reason_references for line in procedures):
        return procedures
    coded_as: dict[str, list[str]] = {}
    for diagnosis in diagnoses:
        coded_as.setdefault(diagnosis.source.reference, []).append(diagnosis.code)
    out: list[CodedLine] = []
    for line in procedures:
        codes = tuple(c for ref in line.reason_references for c in coded_as.get(ref, ()))
        reasons = _union(line.reason_codes, tuple(dict.fromkeys(codes)))
        out.append(line if reasons == line.reason_codes else replace(line, reason_codes=reasons))
    return tuple(out)


def _code_procedure(
    context: CodingContext,
    procedure: Procedure,
    asked: tuple[tuple[str, ...], dict[tuple[str, str], tuple[str, ...]]],
    issues: list[Issue],
    charges: list[CodedLine],
) -> list[CodedLine]:
    """The lines of one Procedure: one, or one per map group (removal and insertion), or none.

    ``asked`` is the target systems and the Conditions by concept. None says why: a
    crosswalk's "not billed" answer or the stay's reporting policy is a note, anything
    else a coder's task.
    """
    systems, by_concept = asked
    coding = _choose(procedure.codings, systems)
    if coding is not None:
        line = _line(context, procedure, coding, coding, "as coded", by_concept, issues)
        return [line] if line is not None else []
    translated, medicare_code = _translate(context, procedure, systems)
    found: list[tuple[CodedLine, Coding, Coding, str, bool]] = []
    if not translated:
        built = (
            _built(context, procedure, by_concept, issues) if systems == INPATIENT_SYSTEMS else None
        )
        if built is None:
            issues.append(_not_billed(context, procedure, systems, charges))
            return []
        found.append(built)
    for source_coding, target, translation in translated:
        rule = f"{translation.source}: {translation.rule}"
        line = _line(context, procedure, source_coding, target, rule, by_concept, issues)
        if line is not None:
            found.append((line, source_coding, target, rule, translation.needs_review))
    if systems == INPATIENT_SYSTEMS and _not_reported(context, procedure, found, issues, charges):
        return []
    if medicare_code is not None and found:
        issues.append(_payer_type_unknown(context, procedure, medicare_code))
    return _reviewed(procedure, found, issues, payer_unsure=medicare_code is not None)


def _reviewed(
    procedure: Procedure,
    found: list[tuple[CodedLine, Coding, Coding, str, bool]],
    issues: list[Issue],
    *,
    payer_unsure: bool,
) -> list[CodedLine]:
    """The lines, those resting on an assumption marked for review with the finding why."""
    source = procedure.source.reference
    lines: list[CodedLine] = []
    for coded, source_coding, target, rule, needs_review in found:
        if not needs_review and not payer_unsure:
            lines.append(coded)
            continue
        lines.append(replace(coded, needs_review=True, confidence=0.6))
        if not needs_review:
            continue  # the payer's type is the only doubt: its own finding says so
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source}: {target.code} for {source_coding.system}|{source_coding.code} "
                f"({source_coding.display or procedure.text or 'no display'}) rests on an "
                f"assumption the documentation decides: a coder confirms ({rule})",
                rule="SERVICE-CODE-UNCONFIRMED",
                expression=("Claim.item.productOrService",),
                fix=f"confirm {target.code} from the documentation or choose another code",
                source=source,
            )
        )
    return lines


def _built(
    context: CodingContext,
    procedure: Procedure,
    by_concept: dict[tuple[str, str], tuple[str, ...]],
    issues: list[Issue],
) -> tuple[CodedLine, Coding, Coding, str, bool] | None:
    """A stay's ICD-10-PCS line built from what the Procedure states, when it states all.

    The crosswalk's pattern (``027.3.Z``) names the axes its concept fixes; the record's
    body sites, devices and method fill the others (:mod:`fhir_coder.coding.pcs_build`).
    None when nothing was built (the caller says why); a built code is checked like any
    other, and one the code set refuses gives its finding and no line.
    """
    found = _answer_of(context, procedure, INPATIENT_SYSTEMS)
    if found is None or not found[1].reported or not found[1].partial:
        return None
    concept, answer = found
    built = build_pcs(answer.partial, procedure)
    if not isinstance(built, Built):
        return None
    target = Coding(ICD10PCS, built.code)
    rule = (
        f"{answer.rule}: {answer.partial} built from the record: {'; '.join(built.facts)} "
        f"(ICD-10-PCS Official Guidelines {built.cites})"
    )
    line = _line(context, procedure, concept, target, rule, by_concept, issues)
    if line is None:
        return None
    if built.code_also:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{procedure.source.reference}: {built.code} was built from the record; "
                f"ICD-10-PCS Official Guidelines {built.code_also}: a coder adds them",
                rule="PCS-CODE-ALSO",
                expression=("Claim.procedure",),
                fix="add the separately coded procedures the operative report documents",
                source=procedure.source.reference,
            )
        )
    return replace(line, method=CodingMethod.BUILT), concept, target, rule, False


def _line(
    context: CodingContext,
    procedure: Procedure,
    source_coding: Coding,
    coding: Coding,
    rule: str,
    by_concept: dict[tuple[str, str], tuple[str, ...]],
    issues: list[Issue],
) -> CodedLine | None:
    """One checked line for ``coding``; None (with the check's finding) when it may not be used."""
    source = procedure.source.reference
    code = coding.code.strip().upper()
    checked = usable_code(
        context,
        coding.system,
        code,
        source=source,
        element="Procedure.code",
        how=f"on {source}",
        issues=issues,
    )
    if checked is None:
        return None
    as_coded = source_coding is coding
    return CodedLine(
        system=coding.system,
        code=code,
        display=checked.description or coding.display,
        source=procedure.source,
        source_coding=source_coding,
        method=CodingMethod.AS_CODED if as_coded else CodingMethod.CROSSWALK,
        confidence=1.0 if as_coded else 0.85,
        release=checked.release,
        performed=procedure.performed or context.on,
        rule=rule,
        reason_references=_reason_conditions(procedure, by_concept),
        reason_codes=_icd10cm_reasons(procedure.reason_codes),
    )


def _not_reported(
    context: CodingContext,
    procedure: Procedure,
    found: list[tuple[CodedLine, Coding, Coding, str, bool]],
    issues: list[Issue],
    charges: list[CodedLine],
) -> bool:
    """Whether a stay's procedure is left out of ICD-10-PCS by the reporting policy.

    Only when every code it was given is of a class the policy does not report (a
    procedure with one significant part is reported whole); then a note says why and its
    lines are kept as the stay's charges.
    """
    reporting = context.policy.pcs_reporting
    if reporting == "all" or not found:
        return False
    verdicts = [is_reported(line.code, reporting) for line, *_ in found]
    if any(reported is not False for reported, _ in verdicts):
        return False
    codes = ", ".join(line.code for line, *_ in found)
    issues.append(_pcs_note(procedure, f"{codes} would code it", verdicts[0][1]))
    charges.extend(line for line, *_ in found)
    return True


def _pcs_note(procedure: Procedure, coded: str, reason: str) -> Issue:
    """``PCS-NOT-REPORTED``: a stay's procedure the organisation does not report, and why."""
    source = procedure.source.reference
    what = ", ".join(f"{c.system}|{c.code}" for c in procedure.codings) or "no code"
    return Issue(
        Severity.INFORMATION,
        IssueCode.INFORMATIONAL,
        f"{source} ({what}) is not reported in ICD-10-PCS ({coded}): {reason}; the "
        "organisation reports UHDDS significant procedures, and the service is charged on "
        "the stay's revenue lines",
        rule="PCS-NOT-REPORTED",
        source=source,
        fix="nothing to code; FHIR_CODER_PCS_REPORTING=all reports every procedure",
    )


def _laboratory_charge(context: CodingContext, procedure: Procedure, rule: str) -> CodedLine | None:
    """A laboratory test of a stay, as the charge its revenue line is priced by; else None.

    ICD-10-PCS has no laboratory section, yet the stay's claim charges every test on its
    laboratory revenue lines (NUBC 030X): the chargemaster rates a test by its CPT code, the
    code the test has on a professional or outpatient claim, found here through the same
    crosswalk. Only codes of CPT's laboratory range (80047-89398, :func:`revenue_code`'s
    0300) are charged so: a service of another kind the stay does not report (an
    examination, an admission) is part of the stay, not a charge of its own.
    """
    if context.crosswalks is None:
        return None
    for coding in procedure.codings:
        for translation in context.crosswalks.translate(
            coding.system, coding.code, CPT, on=context.on, age=context.age, sex=context.sex
        ):
            if translation.equivalence in ("unmatched", "disjoint") or translation.payer:
                continue
            line = CodedLine(
                system=CPT,
                code=translation.code,
                display="",
                source=procedure.source,
                source_coding=coding,
                method=CodingMethod.CROSSWALK,
                confidence=0.6 if translation.needs_review else 0.85,
                release="",
                performed=procedure.performed or context.on,
                rule=f"{rule}; {translation.source}: {translation.rule}",
                needs_review=translation.needs_review,
            )
            return line if revenue_code(line) == LABORATORY_REVENUE else None
    return None


def _concept_charge(context: CodingContext, procedure: Procedure, rule: str) -> CodedLine | None:
    """A stay's charge for a procedure with no ICD-10-PCS code: keyed by the EHR's concept."""
    coding = next((c for c in procedure.codings if c.system == SNOMED), None)
    if coding is None and procedure.codings:
        coding = procedure.codings[0]
    if coding is None:
        return None
    return CodedLine(
        system=coding.system,
        code=coding.code,
        display=coding.display or procedure.text,
        source=procedure.source,
        source_coding=coding,
        method=CodingMethod.CROSSWALK,
        confidence=0.85,
        release="",
        performed=procedure.performed or context.on,
        rule=rule,
    )


def _not_billed(
    context: CodingContext,
    procedure: Procedure,
    systems: tuple[str, ...],
    charges: list[CodedLine],
) -> Issue:
    """Why a Procedure gives no line: the crosswalk's answer, the policy, or a coder's task.

    A crosswalk may know the ICD-10-PCS table and the axes a concept fixes (``B24....``,
    an ultrasound of the heart) without the rest: the stay's reporting policy may then
    leave it off (not significant), and otherwise the coder is told where to look.
    """
    source = procedure.source.reference
    what = ", ".join(f"{c.system}|{c.code}" for c in procedure.codings) or "no code"
    answer = _answer(context, procedure, systems)
    partial = answer.partial if answer is not None and answer.reported else ""
    if partial and systems == INPATIENT_SYSTEMS and context.policy.pcs_reporting != "all":
        reported, reason = is_reported(partial, context.policy.pcs_reporting)
        if reported is False:
            charge = _concept_charge(context, procedure, f"{answer.rule if answer else ''}")
            if charge is not None:
                charges.append(charge)
            return _pcs_note(procedure, f"table {partial[:3]}", reason)
    if partial:
        why = f": ICD-10-PCS {partial} ('.' the axes to choose): {answer.reason if answer else ''}"
        built = build_pcs(partial, procedure) if systems == INPATIENT_SYSTEMS else None
        if isinstance(built, Open):
            why += f"; the record does not state {'; '.join(built.missing)}"
        return _needs_coder(procedure, systems, what, why)
    if answer is not None and not answer.reported:
        charged = (
            _laboratory_charge(context, procedure, answer.rule)
            if systems == INPATIENT_SYSTEMS
            else None
        )
        if charged is not None:
            charges.append(charged)
        return Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source} ({what}) is not billed on this claim: {answer.reason}"
            + (
                f"; charged on the stay's laboratory revenue lines (NUBC 030X) by its test "
                f"code {charged.code}"
                if charged is not None
                else ""
            ),
            rule="PROC-NOT-BILLED",
            source=source,
            fix=f"nothing to bill ({answer.rule})",
        )
    why = f": {answer.reason}" if answer is not None else ""
    return _needs_coder(procedure, systems, what, why)


def _needs_coder(procedure: Procedure, systems: tuple[str, ...], what: str, why: str) -> Issue:
    source = procedure.source.reference
    return Issue(
        Severity.WARNING,
        IssueCode.INCOMPLETE,
        f"{source} carries no {' or '.join(_names(systems))} code and nothing maps "
        f"it ({what}){why}: needs a coder",
        rule="NEEDS-CODER-NO-PROCEDURE-CODE",
        expression=("Procedure.code",),
        fix="add the billing code, or add the concept to the crosswalk",
        source=source,
    )


def _answer(
    context: CodingContext, procedure: Procedure, systems: tuple[str, ...]
) -> NoTarget | None:
    """The first crosswalk answer for a code of the procedure that has no target."""
    found = _answer_of(context, procedure, systems)
    return found[1] if found is not None else None


def _answer_of(
    context: CodingContext, procedure: Procedure, systems: tuple[str, ...]
) -> tuple[Coding, NoTarget] | None:
    """The first crosswalk answer with no target, and the procedure's code it is for."""
    if context.crosswalks is None:
        return None
    for coding in procedure.codings:
        for system in systems:
            found = context.crosswalks.no_target(coding.system, coding.code, system)
            if found is not None:
                return coding, found
    return None


def _names(systems: tuple[str, ...]) -> list[str]:
    names = {ICD10PCS: "ICD-10-PCS", CPT: "CPT", HCPCS: "HCPCS"}
    return [names.get(s, s) for s in systems]


def _translate(
    context: CodingContext, procedure: Procedure, systems: tuple[str, ...]
) -> tuple[list[tuple[Coding, Coding, Translation]], Translation | None]:
    """Billing codes for ``procedure`` from the crosswalks: (source coding, target, translation).

    The organisation's own codes come first (a chargemaster loaded as a crosswalk maps its
    charge codes to CPT/HCPCS), SNOMED CT last (the curated or NLM-derived entries). The
    first source and system with targets answers, with the first target of each map group
    (groups are coded together: removal and insertion, ABO and Rh typing).

    A target for Medicare alone (its screening G-codes: ``Translation.payer``) is billed
    when the first payer is Medicare by its Coverage type (or the configured Medicare
    payers), and never otherwise; when nobody states the payer's type, the code for every
    payer is billed and Medicare's comes back second, for the coder's review. A Medicare
    code whose coverage determination holds only in a primary care setting
    (``Translation.setting``) is billed only on an encounter that can be one
    (:data:`_PRIMARY_CARE_CLASSES`); elsewhere the code for every payer is.
    """
    if context.crosswalks is None:
        return [], None
    medicare = first_payer_is_medicare(context) if systems == PROFESSIONAL_SYSTEMS else False
    sources = sorted(procedure.codings, key=lambda c: c.system == SNOMED)
    for source in sources:
        offered: list[Translation] = []
        for system in systems:
            found = [
                translation
                for translation in context.crosswalks.translate(
                    source.system, source.code, system, on=context.on, age=context.age,
                    sex=context.sex,
                )
                if translation.equivalence not in ("unmatched", "disjoint")
            ]  # fmt: skip
            offered += found
            if medicare is False and any(not t.payer for t in found):
                break  # not Medicare: a later system's Medicare code would not be used
        medicare_own = [
            t for t in offered if t.payer == "medicare" and _in_setting(t.setting, context)
        ]
        for_any = [t for t in offered if not t.payer]
        if medicare and medicare_own:
            chosen = medicare_own
        else:
            first = next((t.system for t in for_any), None)
            chosen = [t for t in for_any if t.system == first]
        groups: dict[int, Translation] = {}
        for translation in chosen:
            groups.setdefault(translation.map_group, translation)
        if groups:
            # nobody says whether the payer is Medicare, and Medicare has a code of its own
            unsure = medicare_own[0] if medicare is None and medicare_own else None
            lines = [
                (source, Coding(t.system, t.code, t.display), t) for _, t in sorted(groups.items())
            ]
            return lines, unsure
    return [], None


# Medicare's national coverage determinations for its screenings in primary care (NCD 210.6
# hepatitis B, 210.8 alcohol misuse, 210.9 depression, 210.13 hepatitis C) cover them only
# in a primary care setting, and name what is not one: emergency departments, inpatient
# hospital settings, ambulatory surgical centres, independent diagnostic testing facilities,
# skilled nursing and inpatient rehabilitation facilities, hospices. The encounter classes
# that can be one: an office visit, a home visit, a telehealth visit (G0442 and G0444 are
# on Medicare's telehealth list).
_PRIMARY_CARE_CLASSES: Final = frozenset(
    {EncounterClass.AMBULATORY, EncounterClass.HOME, EncounterClass.VIRTUAL}
)


def _in_setting(setting: str, context: CodingContext) -> bool:
    """Whether a target for ``setting`` (empty: any) fits the encounter's class."""
    if setting == "primary-care":
        return context.encounter.encounter_class in _PRIMARY_CARE_CLASSES
    return not setting


def _payer_type_unknown(
    context: CodingContext, procedure: Procedure, medicare: Translation
) -> Issue:
    """The code of a service depends on whether the payer is Medicare, and nothing says."""
    source = procedure.source.reference
    coverage = context.encounter.coverages[0].reference if context.encounter.coverages else ""
    return Issue(
        Severity.WARNING,
        IssueCode.INCOMPLETE,
        f"{source}: Medicare bills this service as {medicare.code} ({medicare.rule}); "
        f"{coverage} states no payer type (a Source of Payment Typology code in "
        "Coverage.type) and its payer is not among the configured Medicare payers: the "
        "code for other payers is billed, and a coder confirms",
        rule="SERVICE-PAYER-TYPE-UNKNOWN",
        expression=("Coverage.type",),
        fix=f"record Coverage.type, or list the payer in FHIR_CODER_MEDICARE_PAYERS; use "
        f"{medicare.code} for Medicare",
        source=source,
    )


def visit_line(context: CodingContext, issues: list[Issue]) -> CodedLine | None:
    """The visit's E/M line from the organisation's table, if a row fits the encounter."""
    encounter = context.encounter
    types = {c.code for c in encounter.types}
    row = context.policy.visit_code(encounter.encounter_class.value, types)
    if row is None:
        return None
    checked = usable_code(
        context,
        row.system,
        row.code,
        source=encounter.reference,
        element="Encounter.class",
        how=f"from the visit table for {encounter.reference}",
        issues=issues,
    )
    if checked is None:
        return None
    if not row.confirmed:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"visit code {row.code} for {encounter.reference} comes from the configured "
                f"table for class {row.encounter_class}: its level needs a coder's confirmation",
                rule="VISIT-LEVEL-UNCONFIRMED",
                expression=("Claim.item.productOrService",),
                fix="confirm the E/M level from the documentation (decision making or time)",
                source=encounter.reference,
            )
        )
    return CodedLine(
        system=row.system,
        code=row.code,
        display=checked.description,
        source=SourceRef(encounter.reference, encounter.version_id),
        source_coding=None,
        method=CodingMethod.TABLE,
        confidence=1.0 if row.confirmed else 0.6,
        release=checked.release,
        performed=context.on,
        rule=f"visit table: class {row.encounter_class}, type {row.encounter_type}",
        needs_review=not row.confirmed,
        modifiers=row.modifiers,
    )
