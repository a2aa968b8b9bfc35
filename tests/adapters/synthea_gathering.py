"""Helpers the gathering tests share: loading bundles, gathering every finished encounter."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson

from adapters.fhir.client import FhirClient, count_round_trips
from adapters.gathering.gather import GatherSession, gather_encounter
from fhir_coder.model import Encounter
from tests.shared_data import shared_data_dir


def synthea_bundles() -> list[dict]:
    folder = shared_data_dir("synthea-bundles")
    return [orjson.loads(path.read_bytes()) for path in sorted(folder.glob("*.json"))]


@dataclass
class Gathered:
    encounters: dict[str, Encounter] = field(default_factory=dict)
    round_trips: dict[str, int] = field(default_factory=dict)

    @property
    def mean_round_trips(self) -> float:
        return sum(self.round_trips.values()) / len(self.round_trips)


async def gather_finished(
    fhir: FhirClient, *, session: GatherSession | None = None, concurrency: int = 16
) -> Gathered:
    """Every finished encounter on ``fhir``, gathered ``concurrency`` at a time."""
    ids = [
        str(r["id"])
        async for r in fhir.search("Encounter", {"status": "finished", "_count": "200"})
    ]
    gate = asyncio.Semaphore(concurrency)
    out = Gathered()

    async def one(encounter_id: str) -> None:
        async with gate:
            with count_round_trips() as trips:
                out.encounters[encounter_id] = await gather_encounter(
                    fhir, encounter_id, session=session
                )
            out.round_trips[encounter_id] = trips.count

    await asyncio.gather(*(one(i) for i in ids))
    return out
