"""What the store indexes for a resource: one row per searchable value, computed on write.

Searches then become SQL lookups on small index tables instead of scans over stored JSON.
Pure functions of the resource, driven by :mod:`sandbox.searchparams`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.references import split_reference
from sandbox.searchparams import ParamKind, SearchParam, params_for

__all__ = ["IndexRows", "ReferenceRow", "TokenRow", "index_rows"]


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token value: ``system`` is empty when the element has none."""

    param: str
    system: str
    value: str


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """A reference value, resolved to the (type, id) it points to."""

    param: str
    target_type: str
    target_id: str


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Every index row of one resource."""

    tokens: tuple[TokenRow, ...]
    references: tuple[ReferenceRow, ...]


def _values(node: object, path: list[str]) -> Iterator[Any]:
    """The values at ``path`` under ``node``, flattening lists at every step."""
    if isinstance(node, list):
        for item in node:
            yield from _values(item, path)
        return
    if not path:
        yield node
        return
    if isinstance(node, dict) and path[0] in node:
        yield from _values(node[path[0]], path[1:])


def _tokens(param: SearchParam, value: object) -> Iterator[TokenRow]:
    if isinstance(value, str):
        yield TokenRow(param.name, "", value)
    elif isinstance(value, dict):
        if isinstance(value.get("value"), str):  # Identifier
            yield TokenRow(param.name, str(value.get("system") or ""), value["value"])
        elif isinstance(value.get("code"), str):  # Coding
            yield TokenRow(param.name, str(value.get("system") or ""), value["code"])
        for coding in value.get("coding") or ():  # CodeableConcept
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                yield TokenRow(param.name, str(coding.get("system") or ""), coding["code"])


def _references(param: SearchParam, value: object) -> Iterator[ReferenceRow]:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return
    target = split_reference(value["reference"])
    if target is None:
        return
    if param.targets and target[0] not in param.targets:
        return
    yield ReferenceRow(param.name, target[0], target[1])


def index_rows(resource_type: str, resource: dict[str, Any]) -> IndexRows:
    """The index rows of ``resource`` for every search parameter of its type."""
    tokens: dict[TokenRow, None] = {}
    references: dict[ReferenceRow, None] = {}
    for param in params_for(resource_type).values():
        for path in param.paths:
            for value in _values(resource, path.split(".")):
                if param.kind is ParamKind.TOKEN:
                    tokens.update(dict.fromkeys(_tokens(param, value)))
                else:
                    references.update(dict.fromkeys(_references(param, value)))
    return IndexRows(tuple(tokens), tuple(references))
