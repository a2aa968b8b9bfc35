"""Checking a Claim against the FHIR R4 model before it is written.

The core builds Claims as plain JSON for speed; this is the boundary where one is
proved to be R4 (through ``fhir.resources.R4B``, whose Claim is R4's) before it leaves.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["check_r4"]


def check_r4(resource: dict[str, Any]) -> tuple[Issue, ...]:
    """Findings that keep ``resource`` from parsing as its R4 type (empty when it parses)."""
    from fhir.resources.R4B import get_fhir_model_class  # noqa: PLC0415 - ~0.3 s import

    resource_type = str(resource.get("resourceType"))
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        return tuple(
            Issue(
                Severity.ERROR,
                IssueCode.STRUCTURE,
                f"not valid R4: {error['msg']}",
                rule="R4-STRUCTURE",
                expression=(".".join([resource_type, *(str(part) for part in error["loc"])]),),
            )
            for error in exc.errors()
        )
    return ()
