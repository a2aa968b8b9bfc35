"""What the store indexes for a resource: one row per searchable value, computed on write.

Searches then become SQL lookups on small index tables instead of scans over stored JSON.
Pure functions of the resource, driven by :mod:`sandbox.searchparams`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sandbox.references import split_reference
from sandbox.searchparams import ParamKind, SearchParam, params_for
from sandbox.values import date_range, fold

__all__ = ["DateRow", "IndexRows", "ReferenceRow", "StringRow", "TokenRow", "index_rows"]


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
class DateRow:
    """A date value as the range of UTC instants it covers."""

    param: str
    low: str
    high: str


@dataclass(frozen=True, slots=True)
class StringRow:
    """A string value, folded (for the default match) and as written (for ``:exact``)."""

    param: str
    folded: str
    exact: str


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Every index row of one resource."""

    tokens: tuple[TokenRow, ...]
    references: tuple[ReferenceRow, ...]
    dates: tuple[DateRow, ...] = ()
    strings: tuple[StringRow, ...] = ()


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


def _dates(param: SearchParam, value: object) -> Iterator[DateRow]:
    """A date, dateTime or instant, or a Period (an open end is unbounded)."""
    if isinstance(value, str):
        found = date_range(value)
        if found is not None:
            yield DateRow(param.name, *found)
    elif isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(str(value["start"])) if "start" in value else None
        end = date_range(str(value["end"])) if "end" in value else None
        if start is not None or end is not None:
            low = start[0] if start else "0000"
            high = end[1] if end else "9999"
            yield DateRow(param.name, low, high)


def _strings(param: SearchParam, value: object) -> Iterator[StringRow]:
    if isinstance(value, str) and value:
        yield StringRow(param.name, fold(value), value)


@cache
def _plan(resource_type: str) -> tuple[tuple[SearchParam, tuple[str, ...]], ...]:
    """Each parameter of the type with each of its paths split: once per type, not per write."""
    return tuple(
        (param, tuple(path.split(".")))
        for param in params_for(resource_type).values()
        for path in param.paths
    )


def index_rows(resource_type: str, resource: dict[str, Any]) -> IndexRows:
    """The index rows of ``resource`` for every search parameter of its type."""
    tokens: dict[TokenRow, None] = {}
    references: dict[ReferenceRow, None] = {}
    dates: dict[DateRow, None] = {}
    strings: dict[StringRow, None] = {}
    for param, path in _plan(resource_type):
        if path[0] not in resource:
            continue
        for value in _values(resource, list(path)):
            if param.kind is ParamKind.TOKEN:
                tokens.update(dict.fromkeys(_tokens(param, value)))
            elif param.kind is ParamKind.REFERENCE:
                references.update(dict.fromkeys(_references(param, value)))
            elif param.kind is ParamKind.DATE:
                dates.update(dict.fromkeys(_dates(param, value)))
            else:
                strings.update(dict.fromkeys(_strings(param, value)))
    return IndexRows(tuple(tokens), tuple(references), tuple(dates), tuple(strings))
