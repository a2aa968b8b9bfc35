"""Code-level edits of ICD-10-CM diagnoses: valid on the date, billable, complete.

A code must exist in the release in force on the date of service, be billable (not a
header such as ``E11``), carry its 7th character where the category needs one, and pad
a short code with the placeholder ``X`` before that 7th character (``T36.0X1A``).
Codes of systems with no loaded code set are reported as not checked, never as passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fhir_coder.errors import CodeSetError, ReleaseNotAvailableError
from fhir_coder.outcome import Issue
from fhir_coder.ports import CodeInfo, CodeSetPort
from fhir_coder.systems import ICD10CM, display_icd10cm, normalise_icd10cm
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import DiagnosisEntry

__all__ = ["code_edits"]

_SHOWN = 8
_SEVENTH = "ABCDEGHJKMNPQRS"


def _some(codes: Sequence[str]) -> str:
    more = len(codes) - _SHOWN
    shown = ", ".join(display_icd10cm(code) for code in codes[:_SHOWN])
    return shown + (f" and {more} more" if more > 0 else "")


def code_edits(
    diagnoses: tuple[DiagnosisEntry, ...], codesets: CodeSetPort | None, on: date | None
) -> list[Issue]:
    """Findings about each diagnosis code on ``on`` (one per code, the first that applies)."""
    found: list[Issue] = []
    for entry in diagnoses:
        if not entry.code:
            found.append(
                finding("CODE-MISSING", f"diagnosis {entry.sequence} has no code", entry.expression)
            )
            continue
        if entry.system != ICD10CM or codesets is None:
            found.append(
                finding(
                    "CODE-NOT-CHECKED",
                    f"diagnosis {entry.sequence} ({entry.code}) is coded in "
                    f"{entry.system or 'no stated system'}: its validity could not be checked",
                    entry.expression,
                    fix="bill diagnoses in ICD-10-CM" if entry.system != ICD10CM else "",
                )
            )
            continue
        if on is None:
            continue  # DATE-OF-SERVICE-MISSING is reported once for the claim
        issue = _check(entry, codesets, on)
        if issue is not None:
            found.append(issue)
    return found


def _check(entry: DiagnosisEntry, codesets: CodeSetPort, on: date) -> Issue | None:
    code = normalise_icd10cm(entry.code)
    if code is None:
        return finding(
            "ICD10CM-INVALID",
            f"diagnosis {entry.sequence}: {entry.code!r} is not an ICD-10-CM code",
            entry.expression,
        )
    try:
        info = codesets.lookup(ICD10CM, code, on)
    except ReleaseNotAvailableError as exc:
        return finding(
            "CODE-DATE-NOT-COVERED",
            f"diagnosis {entry.sequence} ({display_icd10cm(code)}) could not be checked: {exc}",
            entry.expression,
        )
    except CodeSetError as exc:
        return finding("CODE-NOT-CHECKED", f"diagnosis {entry.sequence}: {exc}", entry.expression)
    return _judge(entry, code, info, codesets, on)


def _judge(
    entry: DiagnosisEntry, code: str, info: CodeInfo, codesets: CodeSetPort, on: date
) -> Issue | None:
    """The first finding ``info`` calls for: 7th character, header, or not valid."""
    shown = display_icd10cm(code)
    if info.needs_seventh_character:
        return finding(
            "ICD10CM-SEVENTH-CHARACTER",
            f"diagnosis {entry.sequence}: {shown} needs a 7th character",
            entry.expression,
            fix=f"use one of {_some(info.billable_children)}" if info.billable_children else "",
        )
    if info.valid and not info.billable:
        return finding(
            "ICD10CM-NOT-BILLABLE",
            f"diagnosis {entry.sequence}: {shown} is a header, not a billable code",
            entry.expression,
            fix=f"use one of {_some(info.billable_children)}" if info.billable_children else "",
        )
    if info.valid:
        return None
    return _invalid(entry, code, info.release, codesets, on)


def _invalid(
    entry: DiagnosisEntry, code: str, release: str, codesets: CodeSetPort, on: date
) -> Issue:
    """The finding for a code the release does not hold: a missing X, or plain invalid."""
    shown = display_icd10cm(code)
    padded = _with_placeholder(code)
    if padded is not None:
        try:
            padded_info = codesets.lookup(ICD10CM, padded, on)
        except CodeSetError:
            padded_info = None
        if padded_info is not None and padded_info.valid and padded_info.billable:
            return finding(
                "ICD10CM-PLACEHOLDER-X",
                f"diagnosis {entry.sequence}: {shown} lacks the placeholder X before its "
                "7th character",
                entry.expression,
                fix=f"use {display_icd10cm(padded)}",
            )
    return finding(
        "ICD10CM-INVALID",
        f"diagnosis {entry.sequence}: {shown} is not valid on {on.isoformat()} ({release})",
        entry.expression,
        fix="use the code in force on the date of service",
    )


def _with_placeholder(code: str) -> str | None:
    """``T3601A`` -> ``T3601XA``... the code padded with X to 7 characters, if it could be."""
    if 4 <= len(code) < 7 and code[-1] in _SEVENTH:
        return code[:-1].ljust(6, "X") + code[-1]
    return None
