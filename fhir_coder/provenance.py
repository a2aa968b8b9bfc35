"""The Provenance written with every Claim: who built it, from which versions of what.

A Claim alone cannot say which Encounter version or Condition versions it was coded
from; an auditor or a recoding run needs exactly that. The Provenance names fhir-coder
and its version as the agent and each source resource, versioned where the source
server gave a version, as an entity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from fhir_coder import __version__
from fhir_coder.model import CodedEncounter, SourceRef
from fhir_coder.systems import FHIR_CODER_NS

__all__ = [
    "GUIDELINE_POLICY",
    "SOFTWARE_IDENTIFIER_SYSTEM",
    "build_provenance",
    "provenance_id_for",
]

SOFTWARE_IDENTIFIER_SYSTEM: Final = f"{FHIR_CODER_NS}:software"
"""Identifier system naming the software agent (R4 has no Device for us to point at)."""

GUIDELINE_POLICY: Final = f"{FHIR_CODER_NS}:guideline:"
"""Prefix of the ``Provenance.policy`` URIs naming each encounter-level rule that acted."""

_DATA_OPERATION: Final = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
_PARTICIPANT: Final = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def provenance_id_for(claim_id: str) -> str:
    """The Provenance id for the Claim ``claim_id``: one per Claim, rewritten with it."""
    return "pv-" + claim_id.removeprefix("fc-")


def _versioned(source: SourceRef) -> str:
    if source.version_id:
        return f"{source.reference}/_history/{source.version_id}"
    return source.reference


def _entities(coded: CodedEncounter) -> list[dict[str, Any]]:
    encounter = coded.encounter
    sources = [SourceRef(encounter.reference, encounter.version_id)]
    sources.append(SourceRef(encounter.patient.reference))
    sources.extend(line.source for line in coded.lines)
    sources.extend(SourceRef(coverage.reference) for coverage in encounter.coverages)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for source in sources:
        reference = _versioned(source)
        if source.reference and reference not in seen:
            seen.add(reference)
            out.append({"role": "source", "what": {"reference": reference}})
    return out


def build_provenance(
    claim: dict[str, Any],
    coded: CodedEncounter,
    *,
    recorded: datetime,
    target: str | None = None,
    updated: bool = False,
    author: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Provenance of ``claim``, built from ``coded``.

    ``target`` is the reference to the Claim as the write will know it (``Claim/{id}``
    by default; a ``urn:uuid:`` placeholder when the server assigns the id in the same
    transaction). ``updated`` records the write as an update of an existing Claim.
    ``author`` is the ``who`` of the person who finished the coding (a coder releasing it
    from the workbench): named first, as the author, with fhir-coder as the assembler.
    """
    claim_id = str(claim["id"])
    agents: list[dict[str, Any]] = []
    if author is not None:
        agents.append(
            {"type": {"coding": [{"system": _PARTICIPANT, "code": "author"}]}, "who": author}
        )
    agents.append(
        {
            "type": {"coding": [{"system": _PARTICIPANT, "code": "assembler"}]},
            "who": {
                "identifier": {"system": SOFTWARE_IDENTIFIER_SYSTEM, "value": "fhir-coder"},
                "display": f"fhir-coder {__version__}",
            },
        }
    )
    policies = sorted(
        {f"{GUIDELINE_POLICY}{change.rule}" for line in coded.lines for change in line.changes}
    )
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": provenance_id_for(claim_id),
        "target": [{"reference": target or f"Claim/{claim_id}"}],
        "recorded": recorded.isoformat(timespec="seconds"),
        "activity": {
            "coding": [{"system": _DATA_OPERATION, "code": "UPDATE" if updated else "CREATE"}]
        },
        "agent": agents,
        "entity": _entities(coded),
    }
    if policies:
        # The rules of the Official Guidelines the coding followed (each Claim.diagnosis
        # says which of them made it, with the citation and the lines it replaced).
        provenance["policy"] = policies
    return provenance
