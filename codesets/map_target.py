"""One target of a crosswalk entry, as every crosswalk file form reads it.

Shared by the ConceptMap and CSV reader (:mod:`codesets.conceptmap`) and the curated
tables (:mod:`codesets.curated_tables`), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["AGE", "ANSWER", "ANSWERS", "MAP_GROUP", "PAYER", "SETTING", "SEX", "MapTarget"]

SEX: Final = "urn:fhir-coder:patient-sex"
AGE: Final = "urn:fhir-coder:patient-age"
PAYER: Final = "urn:fhir-coder:payer-type"
"""A target for one payer type only (``medicare``): the engine decides from the Coverage."""
SETTING: Final = "urn:fhir-coder:setting"
"""A target for one care setting only (``primary-care``: a Medicare screening whose NCD covers
it only there); the engine decides from the encounter's class."""
MAP_GROUP: Final = "urn:fhir-coder:map-group"
ANSWER: Final = "urn:fhir-coder:answer"
ANSWERS: Final = frozenset({"not-reported", "needs-coder"})
"""What an ``unmatched`` entry means: never reported (not a coder's task), or a person codes it."""


@dataclass(frozen=True, slots=True)
class MapTarget:
    """One target of one source code, as read from the file."""

    system: str
    code: str
    display: str
    equivalence: str
    comment: str
    conditions: tuple[tuple[str, str], ...]
    map_group: int
    answer: str = "needs-coder"
    """For an ``unmatched`` target: ``not-reported`` or ``needs-coder`` (see :data:`ANSWERS`)."""
