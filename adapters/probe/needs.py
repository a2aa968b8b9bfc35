"""What the plugin needs from a server, in one table that the declared and tried checks share.

Gathering reads the Encounter and its Patient, and searches Conditions and Procedures by
encounter and Coverage by patient (:mod:`adapters.gathering.gather`); polling searches Encounters
by status and ``_lastUpdated``; write-back creates or updates Claims, with a Provenance,
and may raise Tasks for a coder. Only the reads and searches of gathering are required:
without the rest the plugin works with another trigger or another destination.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CLAIM_FIX", "READS", "SEARCHES", "WRITES", "Search"]

READS = ("Encounter", "Condition", "Procedure", "Patient", "Coverage")
"""Resource types the plugin reads by id (``Condition`` and ``Procedure`` from diagnoses)."""

REQUIRED_READS = frozenset({"Encounter", "Patient"})


@dataclass(frozen=True, slots=True)
class Search:
    """One search parameter the plugin uses, and what breaks without it."""

    resource_type: str
    param: str
    required: bool = field(kw_only=True)
    without: str = field(kw_only=True)


SEARCHES = (
    Search(
        "Condition",
        "encounter",
        required=True,
        without="diagnoses cannot be found from the encounter",
    ),
    Search(
        "Procedure",
        "encounter",
        required=True,
        without="procedures cannot be found from the encounter",
    ),
    Search("Coverage", "patient", required=True, without="claims cannot name the payer"),
    Search(
        "Encounter",
        "status",
        required=False,
        without="finished encounters cannot be polled server-wide: use a Subscription or CDS Hooks "
        "trigger, or name encounters (fhir-coder code ID)",
    ),
    Search(
        "Encounter",
        "_lastUpdated",
        required=False,
        without="polling cannot ask for what changed only: each poll reads every encounter",
    ),
)

WRITES = (
    ("Claim", True, ""),
    ("Provenance", False, "Claims are written without a Provenance saying who made them"),
    ("Task", False, "findings for a coder stay in the report; no worklist Task is raised"),
)
"""``(type, required for write-back to this server, what happens without it)``."""

CLAIM_FIX = (
    "Claims cannot be written here: configure an NDJSON or second-server destination for write-back"
)
