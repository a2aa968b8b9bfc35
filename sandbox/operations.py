"""The FHIR interactions on one resource (read, vread, create, update, delete), their rules.

The HTTP routes and the entries of transaction and batch Bundles both call these, so a
resource is checked the same way whichever path it comes by: the type must be served,
``resourceType`` must match the URL, an update must carry the URL's id, and the resource
must validate as R4. Every refusal is a :class:`~sandbox.problems.FhirRequestError`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from fhir_coder.outcome import IssueCode
from sandbox.problems import FhirRequestError, problem
from sandbox.references import is_valid_id
from sandbox.resource_types import is_resource_type
from sandbox.store import (
    AlreadyExistsError,
    Store,
    StoredResource,
    VersionConflictError,
)
from sandbox.validation import resource_issues

__all__ = [
    "check_id",
    "check_resource",
    "check_type",
    "create",
    "delete",
    "parse_if_match",
    "read",
    "save_new",
    "save_version",
    "update",
    "vread",
]

_IF_MATCH = re.compile(r'(?:W/)?"(?P<version>[0-9]+)"')


def check_type(resource_type: str) -> None:
    """Refuse a resource type the sandbox does not serve (404, as for an unknown route)."""
    if not is_resource_type(resource_type):
        raise problem(
            404,
            IssueCode.NOT_SUPPORTED,
            f"Resource type {resource_type!r} is not supported by this server",
        )


def check_resource(
    resource: dict[str, Any],
    resource_type: str,
    *,
    resource_id: str | None = None,
    root: str | None = None,
) -> None:
    """Refuse a body that does not belong at the URL (400) or is not valid R4 (422).

    ``resource_id`` is the URL's id on an update: the body must carry the same one.
    ``root`` is where the resource sits, for issue expressions inside a Bundle.
    """
    where = root or resource_type
    actual_type = resource.get("resourceType")
    if actual_type != resource_type:
        raise problem(
            400,
            IssueCode.INVALID,
            f"The body is a {actual_type!r} resource but the URL names {resource_type}",
            expression=(f"{where}.resourceType",),
        )
    if resource_id is not None:
        body_id = resource.get("id")
        if body_id is None:
            raise problem(
                400,
                IssueCode.REQUIRED,
                f"An update must carry the id of the URL ({resource_id!r}) in the body",
                expression=(f"{where}.id",),
            )
        if body_id != resource_id:
            raise problem(
                400,
                IssueCode.INVALID,
                f"The body's id {body_id!r} differs from the URL's id {resource_id!r}",
                expression=(f"{where}.id",),
            )
    issues = resource_issues(resource, root=where)
    if issues:
        raise FhirRequestError(422, *issues)


def parse_if_match(value: str | None) -> int | None:
    """The version an ``If-Match`` header asks for (``W/"3"`` or ``"3"``), or None."""
    if value is None or not value.strip():
        return None
    match = _IF_MATCH.fullmatch(value.strip())
    if match is None:
        raise problem(
            400,
            IssueCode.INVALID,
            f'If-Match must be a version ETag such as W/"1", not {value!r}',
        )
    return int(match["version"])


def _not_found(resource_type: str, resource_id: str, version: str = "") -> FhirRequestError:
    what = f"{resource_type}/{resource_id}" + (f"/_history/{version}" if version else "")
    return problem(404, IssueCode.NOT_FOUND, f"{what} is not known to this server")


def read(store: Store, resource_type: str, resource_id: str) -> StoredResource:
    """The current version of a resource, or a 404."""
    check_type(resource_type)
    stored = store.read(resource_type, resource_id) if is_valid_id(resource_id) else None
    if stored is None:
        if is_valid_id(resource_id) and store.is_deleted(resource_type, resource_id):
            raise problem(
                410, IssueCode.NOT_FOUND, f"{resource_type}/{resource_id} has been deleted"
            )
        raise _not_found(resource_type, resource_id)
    return stored


def delete(store: Store, resource_type: str, resource_id: str) -> int | None:
    """Delete a resource; the deletion's version, or None when there was nothing to delete.

    Deleting what does not exist succeeds too (FHIR lets servers answer 200 or 204 then):
    the outcome a client wants, no resource, holds either way.
    """
    check_type(resource_type)
    check_id(resource_id)
    return store.delete(resource_type, resource_id)


def vread(store: Store, resource_type: str, resource_id: str, version: str) -> StoredResource:
    """One version of a resource, or a 404."""
    check_type(resource_type)
    stored = None
    if is_valid_id(resource_id) and version.isdigit():
        stored = store.read_version(resource_type, resource_id, int(version))
    if stored is None:
        raise _not_found(resource_type, resource_id, version)
    return stored


def create(store: Store, resource_type: str, resource: dict[str, Any]) -> StoredResource:
    """Check and store a new resource under an id the server chooses (the create interaction).

    An id in the body is replaced, as FHIR's create requires.
    """
    check_type(resource_type)
    check_resource(resource, resource_type)
    return save_new(store, resource)


def update(
    store: Store,
    resource_type: str,
    resource_id: str,
    resource: dict[str, Any],
    *,
    if_match: int | None = None,
) -> tuple[StoredResource, bool]:
    """Check and store a new version (or the first, with the client's id); says if created.

    A body identical to the current version (a client writing back what it read) is not
    validated again: those bytes passed validation when they were stored.
    """
    check_type(resource_type)
    check_id(resource_id)
    current = store.read(resource_type, resource_id)
    if current is None or orjson.dumps(resource) != current.json:
        check_resource(resource, resource_type, resource_id=resource_id)
    return save_version(store, resource_id, resource, if_match=if_match)


def check_id(resource_id: str) -> None:
    """Refuse an id that FHIR's ``id`` datatype does not allow (400)."""
    if not is_valid_id(resource_id):
        raise problem(
            400,
            IssueCode.INVALID,
            f"{resource_id!r} is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-', '.')",
        )


def save_new(
    store: Store, resource: dict[str, Any], *, resource_id: str | None = None
) -> StoredResource:
    """Store an already checked resource as version 1 (a 409 if ``resource_id`` is taken)."""
    try:
        return store.create(resource, resource_id=resource_id)
    except AlreadyExistsError as exc:
        raise problem(409, IssueCode.DUPLICATE, str(exc)) from exc


def save_version(
    store: Store,
    resource_id: str,
    resource: dict[str, Any],
    *,
    if_match: int | None = None,
) -> tuple[StoredResource, bool]:
    """Store an already checked resource as its next version (a 412 on a stale If-Match)."""
    try:
        return store.update(resource_id, resource, if_match=if_match)
    except VersionConflictError as exc:
        raise problem(412, IssueCode.CONFLICT, str(exc)) from exc
