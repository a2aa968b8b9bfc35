"""Parsed search criteria: what a search asks the store for, free of any HTTP or SQL detail.

Several criteria are joined with AND (repeated parameters); the matches inside one
criterion are joined with OR (comma-separated values), as FHIR search defines.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Criterion",
    "Cursor",
    "IdCriterion",
    "ReferenceCriterion",
    "ReferenceMatch",
    "TokenCriterion",
    "TokenMatch",
]


@dataclass(frozen=True, slots=True)
class IdCriterion:
    """``_id``: the resource's logical id is one of ``ids``."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """``system|value``; None means "any" (``value`` alone, or ``system|``)."""

    system: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class TokenCriterion:
    """A token parameter matches any of ``matches``; no matches means nothing matches."""

    param: str
    matches: tuple[TokenMatch, ...]


@dataclass(frozen=True, slots=True)
class ReferenceMatch:
    """A reference to ``target_id``, of ``target_type`` when it is given."""

    target_type: str | None
    target_id: str


@dataclass(frozen=True, slots=True)
class ReferenceCriterion:
    """A reference parameter matches any of ``matches``; no matches means nothing matches."""

    param: str
    matches: tuple[ReferenceMatch, ...]


Criterion = IdCriterion | TokenCriterion | ReferenceCriterion


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a result set: after (next page) or before (previous page) a sequence."""

    after: int | None = None
    before: int | None = None
