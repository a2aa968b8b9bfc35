"""The pipeline: pull an encounter, code it, validate it, and write its Claim back.

One encounter's outcome is an :class:`EncounterResult` whatever happens: a written
Claim, a Claim held back with the reasons, or the failure that stopped it. Batches
report every encounter; none is skipped silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from adapters.claim_options import default_claim_options
from adapters.coding_setup import CodingSetup
from adapters.fhir.client import FhirClient, count_round_trips
from adapters.fhir.references import subject_patient_id
from adapters.fhir.rounds import ReadAlong
from adapters.gathering.gather import gather_encounter
from adapters.processing import code_and_build
from adapters.writeback.claim_writer import ClaimWriter, WriteAction, WriteReceipt
from adapters.writeback.conformance import check_r4
from adapters.writeback.destinations import FhirDestination
from fhir_coder.claim import ClaimOptions, claim_id_of
from fhir_coder.errors import CodingError, ConfigurationError, FhirError
from fhir_coder.model import CodedEncounter, Encounter
from fhir_coder.outcome import Issue
from fhir_coder.validation import Scrubber

__all__ = ["EncounterResult", "Gatherer", "Outcome", "Pipeline"]

Gatherer = Callable[..., Awaitable[Encounter]]
"""Where encounters come from: called ``(encounter_id, patient_hint=...)``.

The default gathers from the source server; ``run --from-ndjson`` and ``run --bulk``
assemble them from an export's index (:meth:`adapters.bulk.NdjsonEncounters.gather`).
"""


class Outcome(StrEnum):
    """What became of one encounter."""

    WRITTEN = "written"  # the Claim is on the destination
    BUILT = "built"  # the Claim was built but not written (dry run)
    HELD = "held"  # no Claim could be built, or a draft is held back: see the issues
    BUSY = "busy"  # another run is writing this encounter's Claim right now
    FAILED = "failed"  # the encounter could not be processed: see ``error``


@dataclass(slots=True)
class EncounterResult:
    """The outcome of processing one encounter, with everything needed to report it."""

    encounter_id: str
    outcome: Outcome
    coded: CodedEncounter | None = None
    issues: tuple[Issue, ...] = ()
    claim: dict[str, Any] | None = None
    error: FhirError | CodingError | None = None
    round_trips: int = 0
    seconds: float = 0.0
    write_status: int | None = None
    receipt: WriteReceipt | None = None  # what the writer did (created, updated, unchanged...)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Encounters from ``source`` coded with ``coding``, Claims written to ``destination``.

    ``source`` is the server encounters are gathered from (None when a ``gatherer``
    assembles them from files and a ``writer`` says where Claims go).
    ``destination`` defaults to the source server. ``source_id`` names the source EHR
    for the Claim ids (default: its base URL). With ``write`` false, Claims are built and
    checked but not written (a dry run). ``check_model`` parses every Claim with the
    ``fhir.resources`` R4 model before writing: worth it for one encounter, too slow for a
    batch (the tests prove the builder's Claims conform, so batches leave it off).
    ``writer`` decides where and how Claims are written (default: to ``destination``
    with an in-memory ledger, drafts written with a Task); ``claim_options`` carries the
    fee schedule and the DRG grouper (default: the grouper, no prices). ``scrubber``
    defaults to the one ``fhir-coder validate`` uses without flags: Medicare's profile with
    the NCCI/MUE tables the environment configures (``docs/validation.md``).
    """

    source: FhirClient | None
    coding: CodingSetup
    destination: FhirClient | None = None
    source_id: str | None = None
    write: bool = True
    # None: adapters.scrubbing.pipeline_scrubber (coding's code sets, the MCE, the NCCI/MUE
    # tables FHIR_CODER_NCCI_PTP_DIR / FHIR_CODER_MUE_DIR configure, Medicare's profile)
    scrubber: Scrubber | None = None
    check_model: bool = False  # also parse each Claim with fhir.resources (~2 ms a Claim)
    writer: ClaimWriter | None = None
    claim_options: ClaimOptions | None = None
    gatherer: Gatherer | None = None  # None: gather_encounter from ``source``

    def __post_init__(self) -> None:
        if self.source is None and self.gatherer is None:
            raise ConfigurationError("a pipeline needs a source server or a gatherer")
        if self.writer is None:
            target = self.destination or self.source
            if target is None:
                raise ConfigurationError("no destination for Claims: name a server or a folder")
            object.__setattr__(self, "writer", ClaimWriter(FhirDestination(target)))
        if self.claim_options is None:
            object.__setattr__(self, "claim_options", default_claim_options())

    async def start(self) -> None:
        """Check the destination before the first encounter: clear error if it takes no Claims."""
        if self.write and self.writer is not None:
            await self.writer.start()

    async def process(self, encounter_id: str, *, patient_hint: str = "") -> EncounterResult:
        """Gather, code, validate and write one encounter's Claim.

        Errors of the server or the data are returned in the result, never raised, so
        that a batch goes on; an unknown encounter id is the caller's to report.
        ``patient_hint``: the subject's id when the trigger carried the Encounter (it saves
        gathering a round trip for a patient not seen before).
        """
        started = time.perf_counter()
        with count_round_trips() as trips:
            try:
                result = await self._process(encounter_id, patient_hint)
            except (FhirError, CodingError) as exc:
                result = EncounterResult(encounter_id, Outcome.FAILED, error=exc)
        result.round_trips = trips.count
        result.seconds = time.perf_counter() - started
        return result

    async def _process(self, encounter_id: str, patient_hint: str) -> EncounterResult:
        along = None
        if self.gatherer is not None:
            encounter = await self.gatherer(encounter_id, patient_hint=patient_hint)
        elif self.source is not None:
            along = await self._claim_along(self.source, encounter_id)
            encounter = await gather_encounter(
                self.source,
                encounter_id,
                source_id=self.source_id,
                patient_hint=patient_hint,
                along=along,
            )
        else:  # pragma: no cover - __post_init__ refuses a pipeline with neither
            raise AssertionError("no source")
        created = datetime.now(UTC)
        processed = code_and_build(
            encounter,
            self.coding,
            created=created,
            scrubber=self.scrubber,
            options=self.claim_options,
        )
        coded, issues, claim = processed.coded, processed.issues, processed.claim
        if claim is None:
            return EncounterResult(encounter_id, Outcome.HELD, coded=coded, issues=issues)
        if self.check_model and (structure := check_r4(claim)):
            return EncounterResult(
                encounter_id, Outcome.HELD, coded=coded, issues=issues + structure
            )
        if not self.write:
            return EncounterResult(
                encounter_id, Outcome.BUILT, coded=coded, issues=issues, claim=claim
            )
        writer = self.writer
        if writer is None:  # pragma: no cover - __post_init__ always sets one
            raise AssertionError("no writer")
        receipt = await writer.write(claim, coded, issues, created=created, along=along)
        if receipt.action is WriteAction.HELD:
            return EncounterResult(
                encounter_id, Outcome.HELD, coded=coded, issues=issues, receipt=receipt
            )
        return EncounterResult(
            encounter_id,
            Outcome.BUSY if receipt.action is WriteAction.BUSY else Outcome.WRITTEN,
            coded=coded,
            issues=issues,
            claim=receipt.claim,
            write_status=receipt.status,
            receipt=receipt,
        )

    async def _claim_along(self, source: FhirClient, encounter_id: str) -> ReadAlong | None:
        """The encounter's Claim, to be read with it when it goes back to the same server."""
        if not self.write or self.writer is None:
            return None
        name = self.source_id or source.base_url
        return await self.writer.read_along(claim_id_of(name, f"Encounter/{encounter_id}"), source)

    async def process_finished(self, *, concurrency: int = 8) -> AsyncIterator[EncounterResult]:
        """Process every finished encounter on the source, ``concurrency`` at a time.

        Results come in completion order. The search itself failing raises, and so does a
        destination that cannot take Claims (checked first); a single encounter failing is
        reported in its result.
        """
        if self.source is None:
            raise ConfigurationError("no source server to search for finished encounters")
        await self.start()
        found = [
            (str(resource["id"]), subject_patient_id(resource))
            async for resource in self.source.search(
                "Encounter", {"status": "finished", "_count": "200"}
            )
        ]
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(encounter_id: str, patient: str) -> EncounterResult:
            async with gate:
                return await self.process(encounter_id, patient_hint=patient)

        for task in asyncio.as_completed([one(*pair) for pair in found]):
            yield await task
