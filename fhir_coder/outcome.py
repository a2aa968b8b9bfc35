"""The OperationOutcome vocabulary shared by the core, the adapters and the sandbox.

Validation findings are :class:`Issue` values shaped like ``OperationOutcome.issue``
(severity, code, message, FHIRPath expression), so one list of them can be shown in a
table, returned as JSON, or sent on the wire as an OperationOutcome unchanged. The
sandbox turns every error into an outcome with :func:`operation_outcome`; the adapters
read error bodies back with :func:`outcome_text`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fhir_coder.values import fast_init

__all__ = [
    "Issue",
    "IssueCode",
    "Severity",
    "count_by_severity",
    "has_errors",
    "issue_from_json",
    "operation_outcome",
    "outcome_text",
]


class Severity(StrEnum):
    """``OperationOutcome.issue.severity``: fatal and error block submission of a claim."""

    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def blocks(self) -> bool:
        """Whether a finding of this severity stops a claim from being submitted."""
        return self in _BLOCKING


_BLOCKING = frozenset({Severity.FATAL, Severity.ERROR})
"""The severities that block submission (a set: asked of every finding of every claim)."""


class IssueCode(StrEnum):
    """The subset of the FHIR ``issue-type`` value set that fhir-coder uses."""

    INVALID = "invalid"
    STRUCTURE = "structure"
    REQUIRED = "required"
    VALUE = "value"
    INVARIANT = "invariant"
    SECURITY = "security"
    LOGIN = "login"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    NOT_SUPPORTED = "not-supported"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    TOO_COSTLY = "too-costly"
    BUSINESS_RULE = "business-rule"
    CODE_INVALID = "code-invalid"
    INCOMPLETE = "incomplete"
    PROCESSING = "processing"
    EXCEPTION = "exception"
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    INFORMATIONAL = "informational"


@fast_init
@dataclass(frozen=True, slots=True)
class Issue:
    """One finding, shaped like ``OperationOutcome.issue``.

    ``rule`` is the stable id of the edit or step that produced it (for example
    ``ICD10CM-NOT-BILLABLE``) so payer profiles and people can refer to it; it travels
    on the wire as ``issue.details.coding``. ``expression`` is the FHIRPath of the
    element concerned; ``fix`` says what would resolve the finding, where known.
    """

    severity: Severity
    code: IssueCode
    message: str
    rule: str = ""
    expression: tuple[str, ...] = ()
    fix: str = ""
    source: str = ""  # the source resource, "Condition/123", when the issue concerns one

    def to_json(self) -> dict[str, Any]:
        """The issue as an ``OperationOutcome.issue`` element."""
        out: dict[str, Any] = {"severity": self.severity.value, "code": self.code.value}
        details: dict[str, Any] = {"text": self.message}
        if self.rule:
            details["coding"] = [
                {"system": ISSUE_RULE_SYSTEM, "code": self.rule},
            ]
        out["details"] = details
        diagnostics = " ".join(
            part
            for part in (
                f"Fix: {self.fix}" if self.fix else "",
                f"Source: {self.source}" if self.source else "",
            )
            if part
        )
        if diagnostics:
            out["diagnostics"] = diagnostics
        if self.expression:
            out["expression"] = list(self.expression)
        return out


ISSUE_RULE_SYSTEM = "urn:fhir-coder:edit"
"""The code system of fhir-coder's edit and step ids in ``issue.details.coding``."""


def issue_from_json(data: dict[str, Any]) -> Issue:
    """Read an ``OperationOutcome.issue`` back into an :class:`Issue`, leniently."""
    details = data.get("details") or {}
    rule = ""
    for coding in details.get("coding") or []:
        if coding.get("system") == ISSUE_RULE_SYSTEM:
            rule = str(coding.get("code", ""))
    try:
        severity = Severity(data.get("severity", "error"))
    except ValueError:
        severity = Severity.ERROR
    try:
        code = IssueCode(data.get("code", "processing"))
    except ValueError:
        code = IssueCode.PROCESSING
    message = details.get("text") or data.get("diagnostics") or ""
    return Issue(
        severity=severity,
        code=code,
        message=str(message),
        rule=rule,
        expression=tuple(data.get("expression") or ()),
    )


def operation_outcome(*issues: Issue, outcome_id: str | None = None) -> dict[str, Any]:
    """An OperationOutcome resource (as JSON) holding ``issues``."""
    resource: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [issue.to_json() for issue in issues]
        or [{"severity": "information", "code": "informational", "details": {"text": "All OK"}}],
    }
    if outcome_id:
        resource["id"] = outcome_id
    return resource


def outcome_text(outcome: dict[str, Any] | None, *, limit: int = 3) -> str:
    """The readable words of an OperationOutcome: the first ``limit`` issues, joined.

    Servers put the words in ``details.text`` (HAPI, Medplum) or ``diagnostics`` (Epic,
    Cerner); both are shown. Returns an empty string when there is nothing to show.
    """
    if not outcome or outcome.get("resourceType") != "OperationOutcome":
        return ""
    parts: list[str] = []
    for raw in (outcome.get("issue") or [])[:limit]:
        if not isinstance(raw, dict):
            continue
        words = [
            str(text)
            for text in ((raw.get("details") or {}).get("text"), raw.get("diagnostics"))
            if text
        ]
        where = raw.get("expression") or raw.get("location") or []
        text = "; ".join(dict.fromkeys(words)) or str(raw.get("code", "error"))
        if where:
            text = f"{text} (at {', '.join(str(w) for w in where)})"
        parts.append(text)
    return " | ".join(parts)


def count_by_severity(issues: list[Issue] | tuple[Issue, ...]) -> dict[str, int]:
    """Counts of ``issues`` by severity, with every severity present (zeros included)."""
    counts = Counter(issue.severity.value for issue in issues)
    return {severity.value: counts.get(severity.value, 0) for severity in Severity}


def has_errors(issues: list[Issue] | tuple[Issue, ...]) -> bool:
    """Whether any of ``issues`` blocks submission."""
    # A set operation over a list, not any() over a generator: asked twice per encounter.
    return not _BLOCKING.isdisjoint([issue.severity for issue in issues])
