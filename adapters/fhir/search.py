"""An immutable FHIR search: each refinement returns a new query, so a base query is shared safely.

``Query("Encounter").where(status="finished").limit(200)`` reads as the request it makes,
and because no method changes the query in place, one built at start-up can be refined
per encounter by concurrent tasks without one task's parameters leaking into another's.
Parameters are kept as ordered pairs: FHIR repeats names (``_include`` twice, ``date``
twice for a range) where a dict would keep only the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["Query"]


@dataclass(frozen=True, slots=True)
class Query:
    """A search on one resource type: ``GET [base]/{resource_type}?{params}``."""

    resource_type: str
    params: tuple[tuple[str, str], ...] = ()

    def where(self, *pairs: tuple[str, str], **criteria: str) -> Query:
        """A query with more criteria: ``where(status="finished")``.

        Names that are not Python identifiers (``date``-ranges, ``_has:``, chained
        ``subject:Patient.name``) go as pairs: ``where(("subject:Patient.name", "x"))``.
        """
        added = tuple(pairs) + tuple((name, value) for name, value in criteria.items())
        return Query(self.resource_type, self.params + added)

    def include(self, *targets: str) -> Query:
        """A query that also returns the resources these references point at."""
        return Query(self.resource_type, self.params + tuple(("_include", t) for t in targets))

    def revinclude(self, *targets: str) -> Query:
        """A query that also returns the resources that point at the matches."""
        return Query(self.resource_type, self.params + tuple(("_revinclude", t) for t in targets))

    def limit(self, count: int) -> Query:
        """A query asking for ``count`` entries per page (a hint: servers cap it)."""
        kept = tuple(p for p in self.params if p[0] != "_count")
        return Query(self.resource_type, (*kept, ("_count", str(count))))

    def elements(self, names: Sequence[str]) -> Query:
        """A query asking only for these elements (``_elements``) of each match."""
        return Query(self.resource_type, (*self.params, ("_elements", ",".join(names))))

    def url(self) -> str:
        """The query as a relative URL, for a batch entry or a log line."""
        return (
            f"{self.resource_type}?{urlencode(self.params)}" if self.params else self.resource_type
        )
