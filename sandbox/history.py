"""History Bundles (``GET /{type}/{id}/_history``, ``GET /{type}/_history``): every version.

Versions come newest first; a deletion is an entry with a DELETE request and no resource,
as FHIR's history interaction shows it.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sandbox.clock import now_instant
from sandbox.problems import status_line
from sandbox.store import StoredResource

__all__ = ["history_bundle"]


def _entry(version: StoredResource, fhir_base: str) -> dict[str, Any]:
    prefix = f"{fhir_base}/" if fhir_base else ""
    url = f"{version.reference}/_history/{version.version_id}"
    if not version.json:
        return {
            "fullUrl": f"{prefix}{version.reference}",
            "request": {"method": "DELETE", "url": version.reference},
            "response": {"status": status_line(204), "lastModified": version.last_updated},
        }
    created = version.version_id == 1
    return {
        "fullUrl": f"{prefix}{version.reference}",
        "resource": version.fragment,
        "request": {
            "method": "POST" if created else "PUT",
            "url": version.resource_type if created else version.reference,
        },
        "response": {
            "status": status_line(201 if created else 200),
            "location": f"{prefix}{url}",
            "etag": version.etag,
            "lastModified": version.last_updated,
        },
    }


def history_bundle(versions: list[StoredResource], *, fhir_base: str) -> dict[str, Any]:
    """A ``history`` Bundle of ``versions`` (already newest first)."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid4()),
        "meta": {"lastUpdated": now_instant()},
        "type": "history",
        "total": len(versions),
    }
    if versions:
        bundle["entry"] = [_entry(version, fhir_base) for version in versions]
    return bundle
