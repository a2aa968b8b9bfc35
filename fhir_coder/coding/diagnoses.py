"""Coding one diagnosis: as coded, through a crosswalk, or offered from its words.

The order is the order of certainty. An ICD-10-CM code the clinician chose is checked and
kept; a SNOMED CT concept goes through the crosswalk (the organisation's NLM map or the
curated one) with the patient's age and sex for map rules; words alone only ever give
suggestions for a person, unless the organisation set a score it accepts. Whatever does
not become a line becomes a finding that says why.
"""

from __future__ import annotations

import re
from collections import defaultdict

from fhir_coder.coding.checks import shown, usable_code
from fhir_coder.coding.context import CodingContext
from fhir_coder.errors import CodeSetError
from fhir_coder.model import CodedLine, Coding, CodingMethod, Diagnosis, DiagnosisRole
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import CodeInfo, Translation
from fhir_coder.systems import ICD10CM, SNOMED, normalise_icd10cm
from fhir_coder.values import replace

__all__ = ["choose_coding", "code_diagnosis", "snomed_in_text"]

_ELEMENT = "Condition.code.coding"
_SNOMED_IN_TEXT = re.compile(
    r"\(\s*(?:SCT|SNOMED(?:\s*CT)?)\s*[:#]?\s*(\d{6,18})\s*\)", re.IGNORECASE
)
_CROSSWALK_CONFIDENCE = {"equivalent": 0.95, "equal": 0.95, "wider": 0.8, "narrower": 0.8}
_INCOMPLETE_AS_CODED = frozenset({"ICD10CM-NOT-BILLABLE", "ICD10CM-7TH-CHARACTER"})
"""An ICD-10-CM code sent that exists but is not complete: a category header, no 7th character."""


def snomed_in_text(text: str) -> str | None:
    """A SNOMED CT id written inside ``code.text`` ("Angina (SCT 194828000)"), if any."""
    found = _SNOMED_IN_TEXT.search(text)
    return found.group(1) if found else None


def choose_coding(codings: tuple[Coding, ...], system: str) -> Coding | None:
    """The coding of ``system`` to use: the clinician's choice (``userSelected``) first.

    One pass, no list of candidates: asked of every diagnosis and procedure.
    """
    first = None
    for coding in codings:
        if coding.system == system:
            if coding.user_selected:
                return coding
            if first is None:
                first = coding
    return first


def code_diagnosis(
    context: CodingContext, diagnosis: Diagnosis, issues: list[Issue]
) -> list[CodedLine]:
    """The lines for ``diagnosis`` (several when a map codes one concept with a pair)."""
    icd = choose_coding(diagnosis.codings, ICD10CM)
    if icd is not None:
        found: list[Issue] = []
        line = _as_coded(context, diagnosis, icd, found)
        if line is None and any(i.rule in _INCOMPLETE_AS_CODED for i in found):
            below = _below_incomplete(context, diagnosis, icd, issues)
            if below:
                return below
        issues.extend(found)
        return [line] if line is not None else []
    snomed = choose_coding(diagnosis.codings, SNOMED)
    if snomed is None and diagnosis.text and (sctid := snomed_in_text(diagnosis.text)):
        snomed = Coding(SNOMED, sctid, diagnosis.text)
    if snomed is not None and context.crosswalks is not None:
        return _crosswalked(context, diagnosis, snomed, issues)
    return _from_words(context, diagnosis, snomed, issues)


def _below_incomplete(
    context: CodingContext, diagnosis: Diagnosis, sent: Coding, issues: list[Issue]
) -> list[CodedLine]:
    """The codes within an incomplete ICD-10-CM code that the same Condition's SNOMED CT gives.

    A Condition's codings are one statement in several systems. When the EHR's ICD-10-CM
    code is a category header (``E03``) or lacks its 7th character, and the SNOMED CT
    concept beside it maps, without review, to a billable code *within* that code
    (Hypothyroidism -> ``E03.9``), both codings agree on it and nothing is invented: the
    concept is coded as the crosswalk codes it alone (its other map groups too, such as
    the stage of a "with" condition). A target outside the code sent (the two codings
    disagree) or one the crosswalk marks for review leaves the code sent to a coder, as
    before. A note names the code sent, and each line's rule says it was within it.
    """
    snomed = choose_coding(diagnosis.codings, SNOMED)
    stem = normalise_icd10cm(sent.code)
    if snomed is None or context.crosswalks is None or stem is None:
        return []
    found: list[Issue] = []
    lines = [
        line
        for line in _crosswalked(context, diagnosis, snomed, found)
        if line.method is CodingMethod.CROSSWALK
    ]
    if not any(line.code.startswith(stem) and line.code != stem for line in lines):
        return []
    issues.extend(found)
    source = diagnosis.source.reference
    within = ", ".join(shown(ICD10CM, line.code) for line in lines)
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source}: {shown(ICD10CM, stem)} was sent, which is not a complete code; the "
            f"SNOMED CT coding beside it ({snomed.code} {snomed.display}) gives {within}, "
            f"within {shown(ICD10CM, stem)}: coded from the concept",
            rule="DX-COMPLETED-FROM-CONCEPT",
            source=source,
        )
    )
    return [
        replace(line, rule=f"{line.rule}; {shown(ICD10CM, stem)} sent as incomplete")
        for line in lines
    ]


def _as_coded(
    context: CodingContext, diagnosis: Diagnosis, coding: Coding, issues: list[Issue]
) -> CodedLine | None:
    source = diagnosis.source.reference
    code = normalise_icd10cm(coding.code)
    if code is None:
        issues.append(
            Issue(
                Severity.ERROR,
                IssueCode.CODE_INVALID,
                f"{coding.code!r} on {source} is not shaped like an ICD-10-CM code",
                rule="ICD10CM-MALFORMED",
                expression=(_ELEMENT,),
                fix="replace it with a valid ICD-10-CM code",
                source=source,
            )
        )
        return None
    checked = usable_code(
        context, ICD10CM, code, source=source, element=_ELEMENT, how=f"on {source}", issues=issues
    )
    if checked is None:
        return None
    return CodedLine(
        system=ICD10CM,
        code=code,
        display=checked.description or coding.display,
        source=diagnosis.source,
        source_coding=coding,
        method=CodingMethod.AS_CODED,
        confidence=1.0,
        release=checked.release,
        role=DiagnosisRole.SECONDARY,  # until sequencing chooses the principal
        rule="as coded" + (" (userSelected)" if coding.user_selected else ""),
    )


def _crosswalked(
    context: CodingContext, diagnosis: Diagnosis, snomed: Coding, issues: list[Issue]
) -> list[CodedLine]:
    assert context.crosswalks is not None  # noqa: S101 - the caller checked
    source = diagnosis.source.reference
    found = context.crosswalks.translate(
        SNOMED, snomed.code, ICD10CM, on=context.on, age=context.age, sex=context.sex
    )
    usable = [t for t in found if t.equivalence not in ("unmatched", "disjoint")]
    if not usable:
        answer = context.crosswalks.no_target(SNOMED, snomed.code, ICD10CM)
        if answer is not None and not answer.reported:
            issues.append(_not_reported(diagnosis, snomed, answer.reason, answer.rule))
            return []
        if answer is None and not found and context.policy.exact_terms:
            exact = _exact_term(context, diagnosis, snomed, issues)
            if exact is not None:
                return [exact]
        why = (
            answer.reason
            if answer is not None
            else next((t.rule for t in found), "") or "no crosswalk entry"
        )
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source}: SNOMED CT {snomed.code} "
                f"({snomed.display or diagnosis.text or 'no display'}) has no ICD-10-CM "
                f"equivalent ({why}): needs a coder",
                rule="NEEDS-CODER-UNMAPPED",
                expression=("Condition.code",),
                fix="code it by hand, or add an entry to the crosswalk",
                source=source,
            )
        )
        return []
    if len(usable) == 1:  # the usual answer: one target, no groups to lay out
        line = _crosswalk_line(context, diagnosis, snomed, usable[0], issues)
        return [line] if line is not None else []
    groups: dict[int, list[Translation]] = defaultdict(list)
    for translation in usable:
        groups[translation.map_group].append(translation)
    lines: list[CodedLine] = []
    for group in sorted(groups):
        line = _crosswalk_line(context, diagnosis, snomed, groups[group][0], issues)
        if line is not None:
            lines.append(line)
    return lines


def _exact_term(
    context: CodingContext, diagnosis: Diagnosis, snomed: Coding, issues: list[Issue]
) -> CodedLine | None:
    """The exact-term policy: a concept no crosswalk knows, whose term is a code's own.

    Off unless the organisation turns it on (``CodingPolicy.exact_terms``): it codes with
    lower confidence than any crosswalk entry, and says so on the line and in a note.
    """
    term = snomed.display or diagnosis.text
    found = context.text.exact(term, on=context.on) if context.text and term else None
    if found is None:
        return None
    source = diagnosis.source.reference
    checked = usable_code(
        context,
        ICD10CM,
        found.code,
        source=source,
        element="Condition.code",
        how=f"by its exact term on {source}",
        issues=issues,
    )
    if checked is None:
        return None
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source}: SNOMED CT {snomed.code} is in no crosswalk; its term {term!r} is the "
            f"ICD-10-CM term of {shown(ICD10CM, found.code)} ({found.matched}): coded by the "
            "exact-term policy",
            rule="DX-EXACT-TERM",
            source=source,
        )
    )
    return CodedLine(
        system=ICD10CM,
        code=found.code,
        display=checked.description,
        source=diagnosis.source,
        source_coding=snomed,
        method=CodingMethod.EXACT_TERM,
        confidence=0.7,
        release=checked.release,
        role=DiagnosisRole.SECONDARY,
        rule=f"exact term {found.matched!r}",
    )


def _not_reported(diagnosis: Diagnosis, snomed: Coding, reason: str, rule: str) -> Issue:
    """The note on a concept that is never reported in ICD-10-CM: not a coder's task."""
    source = diagnosis.source.reference
    return Issue(
        Severity.INFORMATION,
        IssueCode.INFORMATIONAL,
        f"{source}: SNOMED CT {snomed.code} "
        f"({snomed.display or diagnosis.text or 'no display'}) is not reported: {reason}",
        rule="DX-NOT-REPORTED",
        source=source,
        fix=f"nothing to code ({rule})",
    )


def _crosswalk_line(
    context: CodingContext,
    diagnosis: Diagnosis,
    snomed: Coding,
    translation: Translation,
    issues: list[Issue],
) -> CodedLine | None:
    source = diagnosis.source.reference
    code = normalise_icd10cm(translation.code) or translation.code
    if translation.needs_review:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source}: the crosswalk suggests {shown(ICD10CM, code)} for SNOMED CT "
                f"{snomed.code} but a person must confirm it ({translation.rule})",
                rule="NEEDS-CODER-REVIEW",
                expression=("Condition.code",),
                fix=f"confirm {shown(ICD10CM, code)} or choose another code",
                source=source,
            )
        )
        return None
    code = _as_it_stood(context, code, snomed, source, issues)
    checked = usable_code(
        context,
        ICD10CM,
        code,
        source=source,
        element="Condition.code",
        how=f"from the crosswalk for SNOMED CT {snomed.code} on {source}",
        issues=issues,
    )
    if checked is None:
        return None
    return CodedLine(
        system=ICD10CM,
        code=code,
        display=checked.description or translation.display,
        source=diagnosis.source,
        source_coding=snomed,
        method=CodingMethod.CROSSWALK,
        confidence=_CROSSWALK_CONFIDENCE.get(translation.equivalence, 0.7),
        release=checked.release,
        role=DiagnosisRole.SECONDARY,  # until sequencing chooses the principal
        rule=f"{translation.source}: {translation.rule}",
    )


def _as_it_stood(
    context: CodingContext, code: str, snomed: Coding, source: str, issues: list[Issue]
) -> str:
    """A crosswalk target as the code set stood on the date of service.

    A crosswalk names the codes of the newest release. When its target did not exist yet
    on the date of service because CMS later subdivided a code (E88.81 became E88.810-
    E88.819 on 1 October 2023), the code it was subdivided from was the billable code then
    and meant all of them: HIPAA's code set is the one in force on the date of service
    (45 CFR 162.1002), so that code is reported, with a note. Anything else (a target
    still not valid, no billable ancestor) is left to :func:`usable_code` to refuse.
    """
    earlier = _subdivided_from(context, code)
    if earlier is None:
        return code
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source}: the crosswalk's {shown(ICD10CM, code)} for SNOMED CT {snomed.code} "
            f"did not exist on {context.on.isoformat()} ({earlier.release}); "
            f"{shown(ICD10CM, earlier.code)}, the code it was later subdivided from, was "
            "billable then and is reported",
            rule="DX-CODE-AS-OF-DATE",
            expression=("Condition.code",),
            source=source,
        )
    )
    return earlier.code


def _subdivided_from(context: CodingContext, code: str) -> CodeInfo | None:
    """The billable code on the date of service that ``code`` was later subdivided from.

    None when ``code`` is valid on that date, or its nearest valid ancestor then is a
    header (the target's detail is not to be guessed), or the code set cannot answer.
    """
    try:
        if context.codesets.lookup(ICD10CM, code, context.on).valid:
            return None
        for length in range(len(code) - 1, 2, -1):
            earlier = context.codesets.lookup(ICD10CM, code[:length], context.on)
            if earlier.valid:
                return earlier if earlier.billable else None
    except CodeSetError:  # no release for the date, no code set: usable_code says so
        return None
    return None


def _from_words(
    context: CodingContext, diagnosis: Diagnosis, snomed: Coding | None, issues: list[Issue]
) -> list[CodedLine]:
    source = diagnosis.source.reference
    words = (
        diagnosis.text
        or (snomed.display if snomed else "")
        or next((c.display for c in diagnosis.codings if c.display), "")
    )
    what = (
        f"SNOMED CT {snomed.code}"
        if snomed
        else (
            f"{diagnosis.codings[0].system}|{diagnosis.codings[0].code}"
            if diagnosis.codings
            else "text only"
        )
    )
    if not words or context.text is None:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source} carries no ICD-10-CM code ({what}) and nothing maps it: needs a coder",
                rule="NEEDS-CODER-NO-ICD10CM",
                expression=("Condition.code",),
                fix="add the ICD-10-CM code, or load a crosswalk for the source system",
                source=source,
            )
        )
        return []
    offered = context.text.suggest(
        words,
        on=context.on,
        limit=context.policy.suggestions_offered,
        age=context.age,
        sex=context.sex,
    )
    best = offered[0] if offered else None
    if best is not None and best.score >= context.policy.text_accept_score:
        checked = usable_code(
            context,
            ICD10CM,
            best.code,
            source=source,
            element="Condition.code.text",
            how=f"matched from the words on {source}",
            issues=issues,
        )
        if checked is not None:
            return [
                CodedLine(
                    system=ICD10CM,
                    code=best.code,
                    display=checked.description or best.description,
                    source=diagnosis.source,
                    source_coding=None,
                    method=CodingMethod.TEXT_MATCH,
                    confidence=best.score,
                    release=checked.release,
                    role=DiagnosisRole.SECONDARY,
                    rule=f"text match {best.score:.2f} on {best.matched!r}",
                )
            ]
    listed = "; ".join(f"{shown(ICD10CM, s.code)} {s.description} ({s.score:.2f})" for s in offered)
    issues.append(
        Issue(
            Severity.WARNING,
            IssueCode.INCOMPLETE,
            f"{source} is coded only in words ({words!r}): needs a coder",
            rule="NEEDS-CODER-TEXT-ONLY",
            expression=("Condition.code.text",),
            fix=f"suggestions: {listed}" if listed else "no suggestion matched the words",
            source=source,
        )
    )
    return []
