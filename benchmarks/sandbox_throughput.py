"""Sandbox vs. the Medplum peer: requests per second on loopback, in the same run.

Both servers hold the sandbox's seed (the peer gets it through transactions). Each row
runs a bounded number of requests at concurrency 1 and 16 with the fast client transport
(httpx over aiohttp), so the figures measure the servers rather than httpx's own transport;
each figure is the best of three rounds with the servers alternating.

Run from the repository root: ``.venv/bin/python benchmarks/sandbox_throughput.py``
(needs ``node``; ``npm ci --prefix peer`` first on a fresh clone).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from httpx_aiohttp import AiohttpTransport

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.cli.sandbox_process import running_sandbox  # noqa: E402
from sandbox.seed import build_seed_bundle  # noqa: E402
from tests.peer_server import PEER_DIR, PEER_READY_PREFIX, load_transaction_chunks  # noqa: E402

REQUESTS = {1: 200, 16: 800}
ROUNDS = 3  # the best of three, servers alternating: other work on the machine only slows
Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@contextmanager
def running_peer() -> Iterator[str]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed: the Medplum peer needs it")
    process = subprocess.Popen(
        [node, str(PEER_DIR / "server.mjs"), "0"],
        cwd=PEER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
        line = process.stdout.readline()
        if not line.startswith(PEER_READY_PREFIX):
            raise SystemExit(f"the peer did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "gender": "female", "birthDate": "1980-01-01"}


def _transaction() -> dict[str, Any]:
    patient = f"urn:uuid:{uuid4()}"
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": patient},
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient,
                "resource": _patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": encounter, "request": {"method": "POST", "url": "Encounter"}},
        ],
    }


def _rows(encounter_ids: list[str], patient_ids: list[str]) -> dict[str, Request]:
    def read(http: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
        return http.get(f"Encounter/{encounter_ids[n % len(encounter_ids)]}")

    def search(http: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
        patient = patient_ids[n % len(patient_ids)]
        return http.get("Encounter", params={"patient": f"Patient/{patient}", "status": "finished"})

    def create(http: httpx.AsyncClient, _: int) -> Awaitable[httpx.Response]:
        return http.post("Patient", json=_patient())

    def transaction(http: httpx.AsyncClient, _: int) -> Awaitable[httpx.Response]:
        return http.post("", json=_transaction())

    return {
        "read Encounter": read,
        "search Encounter?patient=..&status=finished": search,
        "create Patient": create,
        "transaction of 2 entries": transaction,
    }


async def _measure(base_url: str, request: Request, concurrency: int) -> float:
    total = REQUESTS[concurrency]
    counter = itertools.count()
    transport = AiohttpTransport()
    headers = {"Content-Type": "application/fhir+json"}
    async with httpx.AsyncClient(
        base_url=base_url + "/", transport=transport, headers=headers, timeout=60
    ) as http:
        await request(http, 0)  # warm the connection

        async def worker() -> None:
            while (n := next(counter)) < total:
                response = await request(http, n)
                if response.status_code >= 400:
                    raise SystemExit(f"{response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def main() -> None:
    seed = build_seed_bundle()
    resources = [entry["resource"] for entry in seed["entry"]]
    encounters = [r["id"] for r in resources if r["resourceType"] == "Encounter"]
    patients = [r["id"] for r in resources if r["resourceType"] == "Patient"]
    rows = _rows(encounters, patients)
    results: dict[tuple[str, str, int], float] = {}
    with tempfile.TemporaryDirectory() as folder, running_peer() as peer_url:
        load_transaction_chunks(peer_url, seed)
        with running_sandbox(Path(folder) / "sandbox.sqlite3") as sandbox_url:
            for name, request in rows.items():
                for concurrency in REQUESTS:
                    for _ in range(ROUNDS):
                        for server, url in (("sandbox", sandbox_url), ("medplum", peer_url)):
                            rate = asyncio.run(_measure(url, request, concurrency))
                            key = (name, server, concurrency)
                            results[key] = max(rate, results.get(key, 0.0))
    print("| request | concurrency | sandbox req/s | Medplum peer req/s | sandbox / peer |")
    print("|---|---|---|---|---|")
    for name in rows:
        for concurrency in REQUESTS:
            ours = results[(name, "sandbox", concurrency)]
            theirs = results[(name, "medplum", concurrency)]
            print(f"| {name} | {concurrency} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
