"""The sandbox's CapabilityStatement: exactly what it does, from the same tables it runs on.

Clients (the adapter among them) decide from ``/metadata`` whether they may write a Claim
or search by encounter, so it must never promise more than the routes deliver: the
interactions below are the routes of :mod:`sandbox.app`, and the search parameters are
:mod:`sandbox.searchparams`, which the store indexes.
"""

from __future__ import annotations

from typing import Any

from sandbox.resource_types import RESOURCE_TYPES
from sandbox.searchparams import ID_PARAM, LAST_UPDATED_PARAM, ParamKind, params_for

__all__ = ["FHIR_VERSION", "SOFTWARE_NAME", "capability_statement"]

FHIR_VERSION = "4.0.1"
SOFTWARE_NAME = "fhir-coder sandbox"
_SOFTWARE_VERSION = "0.1.0"
_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


def _includes(resource_type: str) -> list[str]:
    return [
        f"{resource_type}:{param.name}"
        for param in params_for(resource_type).values()
        if param.kind is ParamKind.REFERENCE
    ]


def _revincludes(resource_type: str) -> list[str]:
    return [
        f"{source}:{param.name}"
        for source in sorted(RESOURCE_TYPES)
        for param in params_for(source).values()
        if param.kind is ParamKind.REFERENCE
        and (not param.targets or resource_type in param.targets)
    ]


_BULK = "http://hl7.org/fhir/uv/bulkdata"
_EXPORT_OPERATIONS = {
    "Patient": {"name": "export", "definition": f"{_BULK}/OperationDefinition/patient-export"},
    "Group": {"name": "export", "definition": f"{_BULK}/OperationDefinition/group-export"},
}
"""Bulk Data ``$export`` at type and instance level (``sandbox/bulk_export.py``)."""


def _resource(resource_type: str) -> dict[str, Any]:
    params = [ID_PARAM, LAST_UPDATED_PARAM, *params_for(resource_type).values()]
    operations = [_EXPORT_OPERATIONS[resource_type]] if resource_type in _EXPORT_OPERATIONS else []
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in _INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": True,
        "conditionalDelete": "not-supported",
        "searchInclude": _includes(resource_type),
        "searchRevInclude": _revincludes(resource_type),
        "searchParam": [
            {"name": param.name, "type": param.kind.value, "documentation": param.documentation}
            for param in params
        ],
        **({"operation": operations} if operations else {}),
    }


def capability_statement(fhir_base: str, *, date: str) -> dict[str, Any]:
    """The CapabilityStatement of a sandbox served at ``fhir_base``, dated ``date``."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "fhir-coder",
        "kind": "instance",
        "instantiates": [f"{_BULK}/CapabilityStatement/bulk-data"],
        "software": {"name": SOFTWARE_NAME, "version": _SOFTWARE_VERSION},
        "implementation": {
            "description": "fhir-coder sandbox: a FHIR R4 server over SQLite for tests and demos",
            "url": fhir_base,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search results page with _count (default 50, at most 500) and an opaque "
                    "_cursor in Bundle.link next/previous; _sort (date and string parameters, _id, "
                    "_lastUpdated) and _summary=count are supported. Unknown search parameters are "
                    "ignored and reported in an OperationOutcome entry, or refused with 400 "
                    "under 'Prefer: handling=strict'. Every write is validated as R4."
                ),
                "resource": [_resource(name) for name in sorted(RESOURCE_TYPES)],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    {"name": "export", "definition": f"{_BULK}/OperationDefinition/export"}
                ],
            }
        ],
    }
