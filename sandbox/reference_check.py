"""Reference validation on write: which relative references name nothing on this server.

Under ``Prefer: handling=strict`` a write with such a reference is refused (422, one issue
per reference) and a transaction is checked after all its entries are written, so entries
may refer to each other. Without it (FHIR's default, lenient) the write is stored as sent,
and a transaction reports the references in each entry's ``response.outcome`` as warnings.
Absolute URLs, contained (``#x``), ``urn:`` and logical (identifier-only) references are not
checked: they may rightly name things elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir_coder.outcome import Issue, IssueCode, Severity
from sandbox.references import split_reference
from sandbox.store import Store

__all__ = ["unresolved_issues"]


def _references(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from _references(value, f"{path}.{key}")


def unresolved_issues(
    store: Store, resource: dict[str, Any], *, root: str, severity: Severity = Severity.ERROR
) -> list[Issue]:
    """One issue per relative ``Type/id`` reference in ``resource`` that the store lacks."""
    relative: list[tuple[str, str, tuple[str, str]]] = []
    for path, reference in _references(resource, root):
        if reference.startswith(("http://", "https://")):
            continue
        target = split_reference(reference)
        if target is not None:
            relative.append((path, reference, target))
    found = store.existing([target for _, _, target in relative])  # one query, not one each
    return [
        Issue(
            severity=severity,
            code=IssueCode.NOT_FOUND,
            message=f"{path}: the reference {reference} names no resource on this server",
            expression=(path,),
        )
        for path, reference, target in relative
        if target not in found
    ]
