"""Parsed search criteria: what a search asks the store for, free of any HTTP or SQL detail.

Several criteria are joined with AND (repeated parameters); the matches inside one
criterion are joined with OR (comma-separated values), as FHIR search defines.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Criterion",
    "Cursor",
    "DateCriterion",
    "DateMatch",
    "IdCriterion",
    "Inclusion",
    "ReferenceCriterion",
    "ReferenceMatch",
    "SortKey",
    "StringCriterion",
    "StringMatch",
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


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date prefix (``eq``, ``ge``...) and the range ``[low, high]`` of its value."""

    prefix: str
    low: str
    high: str


@dataclass(frozen=True, slots=True)
class DateCriterion:
    """A date parameter (or ``_lastUpdated``) matches any of ``matches``."""

    param: str
    matches: tuple[DateMatch, ...]


@dataclass(frozen=True, slots=True)
class StringMatch:
    """A string value: ``exact`` compares as written, otherwise folded and as a prefix."""

    value: str
    exact: bool = False
    contains: bool = False


@dataclass(frozen=True, slots=True)
class StringCriterion:
    """A string parameter matches any of ``matches``."""

    param: str
    matches: tuple[StringMatch, ...]


@dataclass(frozen=True, slots=True)
class Inclusion:
    """``_include`` (forward) or ``_revinclude`` (reverse) of ``source_type:param[:target]``."""

    source_type: str
    param: str
    target_type: str | None
    reverse: bool


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``_sort`` key: a date or string parameter, ``_id`` or ``_lastUpdated``."""

    param: str
    descending: bool = False


Criterion = IdCriterion | TokenCriterion | ReferenceCriterion | DateCriterion | StringCriterion


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a result set: after (next page) or before (previous page) a sequence.

    A sorted search pages by ``offset`` instead: its order is not the sequence order.
    """

    after: int | None = None
    before: int | None = None
    offset: int | None = None
    issued: int | None = None  # when the link was made (Unix seconds); cursors expire
