"""The embedded default: every finished encounter on a server coded and written back.

``fhir-coder demo`` runs this against the sandbox it starts; the same function serves
any server, which is how the end-to-end tests drive it through ``ASGITransport`` too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from adapters.coding_setup import CodingSetup
from adapters.fhir.client import FhirClient
from adapters.pipeline import EncounterResult, Outcome, Pipeline
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter
from adapters.writeback.destinations import FhirDestination
from fhir_coder.claim import ClaimOptions
from fhir_coder.outcome import count_by_severity

__all__ = ["SANDBOX_SOURCE_ID", "DemoSummary", "code_all_finished"]


@dataclass(slots=True)
class DemoSummary:
    """What a run over every finished encounter did."""

    encounters: int = 0
    results: list[EncounterResult] = field(default_factory=list)
    claims_on_server: int = 0
    seconds: float = 0.0

    def by_outcome(self, outcome: Outcome) -> list[EncounterResult]:
        """The results that ended in ``outcome``."""
        return [r for r in self.results if r.outcome is outcome]

    def to_json(self) -> dict[str, Any]:
        """The summary ``fhir-coder demo --json`` prints."""
        coded = [r for r in self.results if r.coded is not None and r.coded.diagnoses]
        issues = [issue for r in self.results for issue in r.issues]
        trips = [r.round_trips for r in self.results]
        return {
            "encounters": self.encounters,
            "encounters_coded": len(coded),
            "claims_written": len(self.by_outcome(Outcome.WRITTEN)),
            "claims_draft": sum(
                1
                for r in self.by_outcome(Outcome.WRITTEN)
                if (r.claim or {}).get("status") == "draft"
            ),
            "held": len(self.by_outcome(Outcome.HELD)),
            "failed": len(self.by_outcome(Outcome.FAILED)),
            "claims_on_server": self.claims_on_server,
            "lines": sum(len(r.coded.lines) for r in self.results if r.coded is not None),
            "issues": count_by_severity(issues),
            "round_trips_per_encounter": round(sum(trips) / len(trips), 2) if trips else 0,
            "seconds": round(self.seconds, 3),
        }


SANDBOX_SOURCE_ID = "fhir-coder-sandbox"
"""The demo's name for its sandbox: the port changes every run, the Claim ids must not."""


async def code_all_finished(
    fhir: FhirClient,
    coding: CodingSetup,
    *,
    write: bool = True,
    concurrency: int = 8,
    source_id: str | None = None,
    ledger: ClaimLedger | None = None,
    claim_options: ClaimOptions | None = None,
) -> DemoSummary:
    """Code every finished encounter on ``fhir`` and write the Claims back to it.

    ``ledger`` keeps what was written (the demo's beside its sandbox file), under the
    destination name ``source_id`` when given: the sandbox's port changes every run.
    ``claim_options`` (a chargemaster, the DRG grouper) default to the production ones.
    """
    started = time.perf_counter()
    summary = DemoSummary()
    writer = ClaimWriter(FhirDestination(fhir, name=source_id), ledger=ledger)
    pipeline = Pipeline(
        fhir, coding, source_id=source_id, write=write, writer=writer, claim_options=claim_options
    )
    async for result in pipeline.process_finished(concurrency=concurrency):
        summary.results.append(result)
    summary.results.sort(key=lambda r: r.encounter_id)
    summary.encounters = len(summary.results)
    summary.claims_on_server = await fhir.count("Claim")
    summary.seconds = time.perf_counter() - started
    return summary
