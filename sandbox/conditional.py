"""Conditional create (``If-None-Exist``) and update (``PUT Type?search``).

The search and the create run inside one store transaction, and the store's lock keeps
every other write out meanwhile, so concurrent conditional creates with the same criteria
leave exactly one resource.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fhir_coder.outcome import IssueCode
from sandbox import operations
from sandbox.problems import problem
from sandbox.search import parse_search
from sandbox.store import Store, StoredResource

__all__ = [
    "conditional_reference_types",
    "conditional_update",
    "create_if_none_exist",
    "match_one",
    "resolve_conditional_references",
]


def match_one(
    store: Store, resource_type: str, query: str, *, fhir_base: str
) -> StoredResource | None:
    """The one resource ``query`` matches, None when none does; 412 when several do."""
    parsed = parse_search(resource_type, parse_qsl(query), fhir_base=fhir_base, strict=True)
    if not parsed.criteria:
        raise problem(412, IssueCode.INVALID, f"The condition {query!r} has no search criteria")
    page = store.search(resource_type, parsed.criteria, count=2)
    if page.total > 1:
        raise problem(
            412,
            IssueCode.DUPLICATE,
            f"The condition {query!r} matches {page.total} {resource_type} resources, not one",
        )
    return page.resources[0] if page.resources else None


def create_if_none_exist(
    store: Store,
    resource_type: str,
    resource: dict[str, Any],
    query: str,
    *,
    fhir_base: str,
    resource_id: str | None = None,
) -> tuple[StoredResource, bool]:
    """The existing match of ``query``, or ``resource`` created; says whether it was created."""
    operations.check_type(resource_type)
    operations.check_resource(resource, resource_type)
    with store.transaction():
        existing = match_one(store, resource_type, query, fhir_base=fhir_base)
        if existing is not None:
            return existing, False
        return operations.save_new(store, resource, resource_id=resource_id), True


def conditional_update(
    store: Store,
    resource_type: str,
    resource: dict[str, Any],
    query: str,
    *,
    fhir_base: str,
) -> tuple[StoredResource, bool]:
    """``PUT Type?search``: update the one match, or create when none; says if created.

    A body id that differs from the match's is a 400; several matches a 412.
    """
    operations.check_type(resource_type)
    with store.transaction():
        existing = match_one(store, resource_type, query, fhir_base=fhir_base)
        if existing is None:
            body_id = resource.get("id")
            resource_id = body_id if isinstance(body_id, str) else None
            if resource_id is not None:
                operations.check_id(resource_id)
            operations.check_resource(resource, resource_type)
            return operations.save_new(store, resource, resource_id=resource_id), True
        if resource.get("id") not in {None, existing.resource_id}:
            raise problem(
                400,
                IssueCode.INVALID,
                f"The body's id {resource.get('id')!r} is not the matching {existing.reference}",
            )
        body = {**resource, "id": existing.resource_id}
        operations.check_resource(body, resource_type, resource_id=existing.resource_id)
        return operations.save_version(store, existing.resource_id, body)


def _conditional_target(reference: str) -> tuple[str, str] | None:
    """``("Practitioner", "identifier=...")`` from ``Practitioner?identifier=...``, else None."""
    head, question, query = reference.partition("?")
    if not question or "/" in head or not head:
        return None
    return head, query


def _has_conditional(node: object) -> bool:
    if isinstance(node, list):
        return any(_has_conditional(item) for item in node)
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and _conditional_target(reference) is not None:
            return True
        return any(_has_conditional(value) for value in node.values())
    return False


def conditional_reference_types(node: object) -> set[str]:
    """The resource types that ``node``'s conditional references (``Type?search``) search."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= conditional_reference_types(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            target = (
                _conditional_target(value)
                if key == "reference" and isinstance(value, str)
                else None
            )
            if target is not None:
                found.add(target[0])
            elif isinstance(value, dict | list):
                found |= conditional_reference_types(value)
    return found


def resolve_conditional_references(
    store: Store, node: object, *, fhir_base: str, where: str
) -> Any:  # noqa: ANN401 - the same JSON value, rewritten
    """``node`` with each ``Type?search`` reference replaced by the ``Type/id`` it matches.

    A conditional reference that matches no resource, or several, fails the transaction
    (412), as FHIR's transaction rules require. ``node`` comes back as it is when it holds
    none (most resources: no copy made).
    """
    if not _has_conditional(node):
        return node
    if isinstance(node, list):
        return [
            resolve_conditional_references(store, i, fhir_base=fhir_base, where=where) for i in node
        ]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        target = (
            _conditional_target(value) if key == "reference" and isinstance(value, str) else None
        )
        if target is None:
            out[key] = resolve_conditional_references(
                store, value, fhir_base=fhir_base, where=where
            )
            continue
        operations.check_type(target[0])
        found = match_one(store, target[0], target[1], fhir_base=fhir_base)
        if found is None:
            raise problem(
                412,
                IssueCode.NOT_FOUND,
                f"{where}: the conditional reference {value!r} matches no resource",
                expression=(where,),
            )
        out[key] = found.reference
    return out
