"""Procedure lines: ICD-10-PCS for inpatient stays, CPT/HCPCS for everything else.

A Procedure's own billing coding is used when it has one of the right kind; otherwise its
SNOMED CT concept goes through the crosswalk. Laterality in ``bodySite`` becomes the LT,
RT or 50 modifier on CPT/HCPCS lines; the same code on the same day is one line with
more units. Outpatient visits get their E/M line from the organisation's visit table.
Each line keeps its Procedure's reasons (the Conditions it treats, ICD-10-CM reason codes,
and the Conditions whose concept a SNOMED CT or other reason code names): the Claim points
the line at those diagnoses.
"""

from __future__ import annotations

from fhir_coder.coding.checks import usable_code
from fhir_coder.coding.context import CodingContext
from fhir_coder.coding.diagnoses import choose_coding
from fhir_coder.model import CodedLine, Coding, CodingMethod, Procedure, SourceRef
from fhir_coder.outcome import Issue, IssueCode, Severity
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


def code_procedures(context: CodingContext, issues: list[Issue]) -> tuple[CodedLine, ...]:
    """The procedure lines of the encounter, merged by code, date and modifiers."""
    inpatient = context.encounter.encounter_class.is_inpatient
    systems = INPATIENT_SYSTEMS if inpatient else PROFESSIONAL_SYSTEMS
    lines: list[CodedLine] = []
    by_concept = _conditions_by_concept(context)
    for procedure in context.encounter.procedures:
        if procedure.status in _SKIPPED_STATUS:
            continue
        line = _code_procedure(context, procedure, systems, issues, by_concept)
        if line is None:
            continue
        if not inpatient and (side := laterality_modifier(procedure.body_sites)):
            line = replace(line, modifiers=(*line.modifiers, side))
        lines.append(line)
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
    systems: tuple[str, ...],
    issues: list[Issue],
    by_concept: dict[tuple[str, str], tuple[str, ...]],
) -> CodedLine | None:
    source = procedure.source.reference
    coding = source_coding = _choose(procedure.codings, systems)
    method, rule, needs_review = CodingMethod.AS_CODED, "as coded", False
    if coding is None:
        translated = _translate(context, procedure, systems)
        if translated is None:
            what = ", ".join(f"{c.system}|{c.code}" for c in procedure.codings) or "no code"
            issues.append(
                Issue(
                    Severity.WARNING,
                    IssueCode.INCOMPLETE,
                    f"{source} carries no {' or '.join(_names(systems))} code and nothing maps "
                    f"it ({what}): needs a coder",
                    rule="NEEDS-CODER-NO-PROCEDURE-CODE",
                    expression=("Procedure.code",),
                    fix="add the billing code, or add the concept to the crosswalk",
                    source=source,
                )
            )
            return None
        source_coding, coding, rule, needs_review = translated
        method = CodingMethod.CROSSWALK
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
    return CodedLine(
        system=coding.system,
        code=code,
        display=checked.description or coding.display,
        source=procedure.source,
        source_coding=source_coding,
        method=method,
        confidence=1.0 if method is CodingMethod.AS_CODED else 0.85,
        release=checked.release,
        performed=procedure.performed or context.on,
        rule=rule,
        needs_review=needs_review,
        reason_references=_reason_conditions(procedure, by_concept),
        reason_codes=_icd10cm_reasons(procedure.reason_codes),
    )


def _names(systems: tuple[str, ...]) -> list[str]:
    names = {ICD10PCS: "ICD-10-PCS", CPT: "CPT", HCPCS: "HCPCS"}
    return [names.get(s, s) for s in systems]


def _translate(
    context: CodingContext, procedure: Procedure, systems: tuple[str, ...]
) -> tuple[Coding, Coding, str, bool] | None:
    """A billing code for ``procedure`` from the crosswalks: (source coding, target, rule, review).

    The organisation's own codes come first (a chargemaster loaded as a crosswalk maps its
    charge codes to CPT/HCPCS), SNOMED CT last (the curated or NLM-derived entries).
    """
    if context.crosswalks is None:
        return None
    sources = sorted(procedure.codings, key=lambda c: c.system == SNOMED)
    for source in sources:
        for system in systems:
            for translation in context.crosswalks.translate(
                source.system, source.code, system, on=context.on, age=context.age, sex=context.sex
            ):
                if translation.equivalence in ("unmatched", "disjoint"):
                    continue
                return (
                    source,
                    Coding(system, translation.code, translation.display),
                    f"{translation.source}: {translation.rule}",
                    translation.needs_review,
                )
    return None


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
