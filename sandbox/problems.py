"""The one exception the sandbox raises to answer a request with an error.

Every failure a client can cause ends as a :class:`FhirRequestError`: an HTTP status plus the
:class:`~fhir_coder.outcome.Issue` values that explain it. The app turns it into an
OperationOutcome with :func:`fhir_coder.outcome.operation_outcome`, and a batch Bundle turns
it into that entry's ``response.outcome``, so both paths speak the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome

__all__ = ["FhirRequestError", "problem", "status_line", "too_large"]


class FhirRequestError(Exception):
    """A request failed with ``status``; ``issues`` say why, in OperationOutcome terms."""

    def __init__(
        self,
        status: int,
        *issues: Issue,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not issues:
            raise ValueError("a FhirRequestError needs at least one issue to explain it")
        super().__init__(issues[0].message)
        self.status = status
        self.issues = issues
        self.headers: dict[str, str] = dict(headers or {})

    def outcome(self) -> dict[str, Any]:
        """The problem as an OperationOutcome resource."""
        return operation_outcome(*self.issues)


def problem(
    status: int,
    code: IssueCode,
    message: str,
    *,
    expression: tuple[str, ...] = (),
    severity: Severity = Severity.ERROR,
) -> FhirRequestError:
    """A :class:`FhirRequestError` with a single issue: the common case, in one call."""
    return FhirRequestError(
        status,
        Issue(severity=severity, code=code, message=message, expression=expression),
    )


def too_large(limit: int) -> FhirRequestError:
    """The 413 for a request body over ``limit`` bytes."""
    return problem(413, IssueCode.TOO_COSTLY, f"The body is larger than {limit} bytes")


def status_line(status: int) -> str:
    """``201`` as ``"201 Created"``: the form ``Bundle.entry.response.status`` uses."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
