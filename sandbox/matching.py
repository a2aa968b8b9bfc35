"""Search criteria evaluated against one resource in memory, as the store's SQL would.

A rest-hook Subscription asks, after every commit, whether the resources just written
match its criteria. Asking SQLite meant a search per commit whose cost grew with the
store (``status=finished`` reads every finished Encounter's index row), half the cost of
an Encounter update. Here the resource's own index rows (:func:`sandbox.indexing.index_rows`,
the rows the store wrote for it) are compared with each criterion, with the same rules as
the SQL fragments in :mod:`sandbox.store`: several criteria AND, the matches of one OR,
a criterion with no matches matches nothing. ``tests/sandbox/test_sandbox_matching.py``
holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.criteria import (
    Criterion,
    DateCriterion,
    DateMatch,
    IdCriterion,
    ReferenceCriterion,
    StringMatch,
    TokenCriterion,
)
from sandbox.indexing import IndexRows, index_rows
from sandbox.store import StoredResource

__all__ = ["matches"]

_STRING_END = "\U0010ffff"


def _date_meets(match: DateMatch, low: str, high: str) -> bool:  # noqa: PLR0911 - one per prefix
    """Whether a value covering ``[low, high]`` meets ``match`` (as ``_DATE_TESTS``)."""
    prefix = match.prefix
    if prefix == "eq":
        return low >= match.low and high <= match.high
    if prefix == "ne":
        return not (low >= match.low and high <= match.high)
    if prefix == "gt":
        return high > match.high
    if prefix == "lt":
        return low < match.low
    if prefix == "ge":
        return high >= match.low
    if prefix == "le":
        return low <= match.high
    if prefix == "sa":
        return low > match.high
    if prefix == "eb":
        return high < match.low
    return high >= match.low and low <= match.high  # ap


def _meets(criterion: Criterion, stored: StoredResource, rows: IndexRows) -> bool:
    if isinstance(criterion, IdCriterion):
        return stored.resource_id in criterion.ids
    if isinstance(criterion, DateCriterion):
        if criterion.param == "_lastUpdated":
            moment = stored.last_updated
            return any(_date_meets(m, moment, moment) for m in criterion.matches)
        ranges = [(r.low, r.high) for r in rows.dates if r.param == criterion.param]
        return any(_date_meets(m, low, high) for m in criterion.matches for low, high in ranges)
    if isinstance(criterion, TokenCriterion):
        tokens = [(r.system, r.value) for r in rows.tokens if r.param == criterion.param]
        return any(
            (m.system is None or system == m.system) and (m.value is None or value == m.value)
            for m in criterion.matches
            for system, value in tokens
        )
    if isinstance(criterion, ReferenceCriterion):
        targets = [
            (r.target_type, r.target_id) for r in rows.references if r.param == criterion.param
        ]
        return any(
            target_id == m.target_id and (m.target_type is None or target_type == m.target_type)
            for m in criterion.matches
            for target_type, target_id in targets
        )
    strings = [r for r in rows.strings if r.param == criterion.param]
    return any(
        _string_meets(m, row.folded, row.exact) for m in criterion.matches for row in strings
    )


def _string_meets(match: StringMatch, folded: str, exact: str) -> bool:
    """As ``_STRING_EXACT``, ``_STRING_CONTAINS`` and ``_STRING_PREFIX``."""
    if match.exact:
        return exact == match.value
    if match.contains:
        return match.value in folded
    return match.value <= folded < match.value + _STRING_END


def matches(stored: StoredResource, criteria: Sequence[Criterion]) -> bool:
    """Whether ``stored`` meets every criterion (a search of its type would return it)."""
    rows = index_rows(stored.resource_type, stored.resource)
    return all(_meets(criterion, stored, rows) for criterion in criteria)
