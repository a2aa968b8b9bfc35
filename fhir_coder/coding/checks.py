"""Checking a candidate code against the code set in force on the date of service.

Every path that proposes a code (as coded, crosswalk, table, text) goes through here, so
no path can emit a code that is invalid, a header, or missing its 7th character.
"""

from __future__ import annotations

from typing import Final

from fhir_coder.coding.context import CodingContext
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import CodeInfo
from fhir_coder.systems import ICD10CM, display_icd10cm

__all__ = ["Checked", "check_code", "shown", "usable_code"]

_SHOWN_CHOICES = 8
NOT_FOR_INPATIENT: Final = frozenset({"T300", "T304"})
"""ICD-10-CM codes whose Tabular entry says "This code is not for inpatient use": T30.0 and
T30.4 (burn or corrosion of unspecified body region, unspecified degree; "code to specified
site and degree"). On an inpatient stay they go to a coder, whichever path proposed them.
``tests/fhir_coder/test_coding_checks.py`` checks the set against the Tabular."""


def shown(system: str, code: str) -> str:
    """``code`` as people write it (dotted for ICD-10-CM)."""
    return display_icd10cm(code) if system == ICD10CM else code


class Checked:
    """The verdict on one candidate code: usable with its description and release, or not."""

    __slots__ = ("description", "problem", "release", "usable")

    def __init__(
        self, *, usable: bool, release: str, description: str = "", problem: Issue | None = None
    ) -> None:
        self.usable = usable
        self.release = release
        self.description = description
        self.problem = problem


def check_code(
    context: CodingContext, system: str, code: str, *, source: str, element: str, how: str
) -> Checked:
    """Whether ``system|code`` may go on the claim on the date of service.

    ``how`` says where the code came from ("on Condition/1", "from the crosswalk for
    SNOMED CT 44054006") and ``element`` is the FHIRPath of the source element, for the
    finding. A system with no loaded code set gives a usable, *unverified* code and a
    warning (CPT without the licensed file); a date outside every release is an error.
    """
    try:
        info = context.codesets.lookup_loaded(system, code, context.on)
    except ReleaseNotAvailableError as exc:
        return Checked(
            usable=False,
            release="",
            problem=Issue(
                Severity.ERROR,
                IssueCode.NOT_SUPPORTED,
                f"{shown(system, code)} {how} cannot be checked: {exc}",
                rule="CODESET-NO-RELEASE",
                source=source,
            ),
        )
    if info is None:  # no code set of the system is loaded (CPT without its file)
        return Checked(
            usable=True,
            release="unverified",
            problem=Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{shown(system, code)} {how} is unverified: no {system} code set is loaded",
                rule="CODESET-UNVERIFIED",
                source=source,
                fix="configure the licensed code-set file for this system",
            ),
        )
    if info.valid and info.billable and not info.needs_seventh_character:
        if (
            code in NOT_FOR_INPATIENT
            and system == ICD10CM
            and context.encounter.encounter_class.is_inpatient
        ):
            return Checked(
                usable=False,
                release=info.release,
                problem=_not_for_inpatient(info.code, source=source, element=element, how=how),
            )
        # The common case, decided before any words are put together.
        return Checked(usable=True, release=info.release, description=info.description)
    problem = _problem(context, info, source=source, element=element, how=how)
    return Checked(usable=False, release=info.release, problem=problem)


def usable_code(
    context: CodingContext,
    system: str,
    code: str,
    *,
    source: str,
    element: str,
    how: str,
    issues: list[Issue],
) -> Checked | None:
    """:func:`check_code`, its finding added to ``issues``; None when the code may not be used."""
    checked = check_code(context, system, code, source=source, element=element, how=how)
    if checked.problem is not None:
        issues.append(checked.problem)
    return checked if checked.usable else None


def _problem(
    context: CodingContext, info: CodeInfo, *, source: str, element: str, how: str
) -> Issue:
    """The finding on a code that may not be used: no 7th character, invalid, or a header."""
    code = shown(info.system, info.code)
    choices = ", ".join(shown(info.system, c) for c in info.billable_children[:_SHOWN_CHOICES])
    more = ", ..." if len(info.billable_children) > _SHOWN_CHOICES else ""
    if info.needs_seventh_character:
        return Issue(
            Severity.ERROR,
            IssueCode.CODE_INVALID,
            f"{code} {how} lacks its 7th character",
            rule="ICD10CM-7TH-CHARACTER",
            expression=(element,),
            fix=f"choose the full code: {choices}{more}" if choices else "add the 7th character",
            source=source,
        )
    if not info.valid:
        return Issue(
            Severity.ERROR,
            IssueCode.CODE_INVALID,
            f"{code} {how} is not a valid code on {context.on.isoformat()} ({info.release})",
            rule="ICD10CM-INVALID-ON-DATE" if info.system == ICD10CM else "CODE-INVALID-ON-DATE",
            expression=(element,),
            fix="replace it with a code valid on the date of service",
            source=source,
        )
    return Issue(  # valid, complete, yet not usable: a category header
        Severity.ERROR,
        IssueCode.CODE_INVALID,
        f"{code} {how} is a category header, not a billable code",
        rule="ICD10CM-NOT-BILLABLE" if info.system == ICD10CM else "CODE-NOT-BILLABLE",
        expression=(element,),
        fix=f"choose a billable code below it: {choices}{more}"
        if choices
        else "choose a billable code",
        source=source,
    )


def _not_for_inpatient(code: str, *, source: str, element: str, how: str) -> Issue:
    """The finding on a code the Tabular keeps off inpatient claims (T30.0, T30.4)."""
    return Issue(
        Severity.ERROR,
        IssueCode.CODE_INVALID,
        f"{shown(ICD10CM, code)} {how} is not for inpatient use (ICD-10-CM Tabular): "
        "the stay's claim needs the site and degree",
        rule="ICD10CM-NOT-FOR-INPATIENT",
        expression=(element,),
        fix="code the burn or corrosion by site and degree (T20-T25, T26-T28) with its extent "
        "(T31, T32)",
        source=source,
    )
