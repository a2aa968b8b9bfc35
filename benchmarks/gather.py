"""Encounters gathered per second, and round trips per encounter, beside a plain fhirpy client.

Run from the repository root with the project's venv::

    .venv/bin/python benchmarks/gather.py [--runs 3]

Starts the sandbox on loopback with its seed plus the 6 Synthea bundles from
``../shared/data`` (when present), then gathers every finished encounter at concurrency
1 and 16 with fhir-coder's gatherer and with what a user would otherwise write: fhirpy's
async client reading the Encounter, then its Conditions, Procedures, Patient, Coverage,
practitioners and organisation concurrently. Both get the same server in the same run;
each figure is the best of ``--runs`` passes (a fresh client and cache every pass).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from fhirpy import AsyncFHIRClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.cli.sandbox_process import running_sandbox  # noqa: E402
from adapters.fhir.client import FhirClient, count_round_trips  # noqa: E402
from adapters.gathering.gather import GatherSession, gather_encounter  # noqa: E402

SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-bundles"


@dataclass
class Figure:
    encounters: int
    seconds: float
    cpu_seconds: float
    round_trips: int

    @property
    def per_second(self) -> float:
        return self.encounters / self.seconds

    @property
    def trips_per_encounter(self) -> float:
        return self.round_trips / self.encounters

    @property
    def cpu_ms_per_encounter(self) -> float:
        return 1000 * self.cpu_seconds / self.encounters


async def ours(base_url: str, ids: list[str], concurrency: int) -> Figure:
    gate = asyncio.Semaphore(concurrency)
    trips = 0
    async with FhirClient(base_url) as fhir:
        session = GatherSession(fhir)
        await session.decide()  # /metadata once per server, outside the timing

        async def one(encounter_id: str) -> None:
            nonlocal trips
            async with gate:
                with count_round_trips() as tally:
                    await gather_encounter(fhir, encounter_id, session=session)
                trips += tally.count

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in ids))
        return Figure(len(ids), time.perf_counter() - started, time.process_time() - cpu, trips)


async def fhirpy_gather(client: AsyncFHIRClient, encounter_id: str) -> int:
    """The same gathering as a fhirpy user writes it; returns the requests it made."""
    encounter = await client.reference("Encounter", encounter_id).to_resource()
    reference = f"Encounter/{encounter_id}"
    patient_ref = encounter["subject"]["reference"]
    others = [
        p["individual"]["reference"]
        for p in encounter.get("participant") or []
        if "reference" in (p.get("individual") or {})
    ]
    if encounter.get("serviceProvider"):
        others.append(encounter["serviceProvider"]["reference"])
    kind, pid = patient_ref.split("/")
    await asyncio.gather(
        client.resources("Condition").search(encounter=reference).limit(200).fetch_all(),
        client.resources("Procedure").search(encounter=reference).limit(200).fetch_all(),
        client.reference(kind, pid).to_resource(),
        client.resources("Coverage").search(patient=patient_ref).limit(200).fetch_all(),
        *(client.reference(*ref.split("/")).to_resource() for ref in others),
    )
    return 5 + len(others)


async def theirs(base_url: str, ids: list[str], concurrency: int) -> Figure:
    client = AsyncFHIRClient(base_url)
    gate = asyncio.Semaphore(concurrency)
    trips = 0

    async def one(encounter_id: str) -> None:
        nonlocal trips
        async with gate:
            made = await fhirpy_gather(client, encounter_id)
        trips += made

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in ids))
    return Figure(len(ids), time.perf_counter() - started, time.process_time() - cpu, trips)


def load_synthea(base_url: str) -> int:
    if not SYNTHEA.is_dir():
        return 0
    loaded = 0
    with httpx.Client(timeout=120) as http:
        for path in sorted(SYNTHEA.glob("*.json")):
            response = http.post(
                base_url + "/",
                content=path.read_bytes(),
                headers={"Content-Type": "application/fhir+json"},
            )
            response.raise_for_status()
            loaded += 1
    return loaded


def finished_ids(base_url: str) -> list[str]:
    ids: list[str] = []
    url: str | None = f"{base_url}/Encounter?status=finished&_count=500"
    with httpx.Client(timeout=60) as http:
        while url:
            bundle = orjson.loads(http.get(url).content)
            ids += [
                e["resource"]["id"]
                for e in bundle.get("entry") or []
                if e["resource"]["resourceType"] == "Encounter"
            ]
            url = next(
                (link["url"] for link in bundle.get("link") or [] if link["relation"] == "next"),
                None,
            )
    return ids


async def measure(base_url: str, ids: list[str], runs: int) -> list[tuple[str, int, Figure]]:
    rows = []
    for concurrency in (1, 16):
        for name, runner in (("fhir-coder", ours), ("fhirpy", theirs)):
            figures = [await runner(base_url, ids, concurrency) for _ in range(runs)]
            rows.append((name, concurrency, min(figures, key=lambda f: f.seconds)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        running_sandbox(Path(folder) / "sandbox.sqlite3") as base_url,
    ):
        bundles = load_synthea(base_url)
        ids = finished_ids(base_url)
        rows = asyncio.run(measure(base_url, ids, args.runs))
    print(
        f"# gather: {len(ids)} finished encounters (sandbox seed + {bundles} Synthea bundles), "
        f"sandbox on loopback, best of {args.runs}; Python {platform.python_version()}"
    )
    print(
        "| client | concurrency | encounters/s | round trips/encounter | client CPU ms/encounter |"
    )
    print("|---|---|---|---|---|")
    for name, concurrency, figure in rows:
        print(
            f"| {name} | {concurrency} | {figure.per_second:.0f} | "
            f"{figure.trips_per_encounter:.2f} | {figure.cpu_ms_per_encounter:.2f} |"
        )
    by = {(name, c): f for name, c, f in rows}
    for concurrency in (1, 16):
        ratio = by[("fhir-coder", concurrency)].per_second / by[("fhirpy", concurrency)].per_second
        print(f"speed-up over fhirpy at concurrency {concurrency}: {ratio:.1f}x")


if __name__ == "__main__":
    main()
