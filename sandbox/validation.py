"""Validation on write: a resource is stored only if it parses as R4 with ``fhir.resources.R4B``.

The R4B models are the stand-in for R4 (the two agree for the clinical and financial types
the project uses). Each pydantic error becomes one issue whose ``expression`` is the FHIRPath
of the offending element, so a client sees every problem of a resource at once. Models are
imported on first use of a type, which keeps the server's start-up light.
"""

from __future__ import annotations

import gc
from functools import cache
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from fhir_coder.outcome import Issue, IssueCode, Severity
from sandbox.resource_types import is_resource_type

__all__ = ["WRITTEN_MOST", "resource_issues", "settle_before_serving"]

WRITTEN_MOST = ("Encounter", "Claim", "Provenance", "Task", "Patient", "Condition", "Procedure")
"""The types the plugin's flow writes: their models are loaded before the first request."""


@cache
def _model(resource_type: str) -> type[pydantic.BaseModel]:
    model: type[pydantic.BaseModel] = get_fhir_model_class(resource_type)
    return model


def settle_before_serving(types: tuple[str, ...] = WRITTEN_MOST) -> None:
    """Load the models of ``types``, then leave everything loaded out of the collector's walks.

    A server process holds about 100,000 long-lived objects (the app, the R4 models); every
    full collection walked them all, a 35-50 ms pause that each request in flight waited
    out. ``gc.freeze`` after a collection leaves them out; what is made later is collected
    as usual. The models are loaded first so that they are among what is frozen (0.2 s).
    """
    for resource_type in types:
        _model(resource_type)
    gc.collect()
    gc.freeze()


def _fhirpath(root: str, location: tuple[int | str, ...]) -> str:
    """``("name", 0, "given")`` under ``Patient`` as ``Patient.name[0].given``."""
    path = root
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in {"__root__", "resource_type"}:
            path += f".{part}"
    return path


def _issue_code(error_type: str) -> IssueCode:
    if error_type == "missing":
        return IssueCode.REQUIRED
    if error_type == "extra_forbidden":
        return IssueCode.STRUCTURE
    return IssueCode.VALUE


def resource_issues(resource: dict[str, Any], *, root: str | None = None) -> list[Issue]:
    """The reasons ``resource`` is not valid R4, as issues; empty when it is valid.

    ``root`` is the FHIRPath the resource sits at (``Bundle.entry[2].resource`` inside a
    transaction); it defaults to the resource's type.
    """
    resource_type = resource.get("resourceType")
    where = root or str(resource_type)
    if not isinstance(resource_type, str) or not is_resource_type(resource_type):
        return [
            Issue(
                severity=Severity.ERROR,
                code=IssueCode.NOT_SUPPORTED,
                message=f"Resource type {resource_type!r} is not a supported FHIR R4 type",
                expression=(f"{where}.resourceType",),
            )
        ]
    try:
        _model(resource_type).model_validate(resource)
    except pydantic.ValidationError as exc:
        return [
            Issue(
                severity=Severity.ERROR,
                code=_issue_code(error["type"]),
                message=f"Invalid {resource_type}: {error['msg']}",
                expression=(_fhirpath(where, tuple(error["loc"])),),
            )
            for error in exc.errors(include_url=False, include_input=False)
        ]
    return []
