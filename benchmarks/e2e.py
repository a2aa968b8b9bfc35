"""End to end on loopback: an encounter is finished -> notification -> serve -> Claim written.

Issue 9's benchmark. For each server (the sandbox, then the Medplum peer) it starts the
server with the sandbox's synthetic data and ``fhir-coder serve`` against it, then finishes
encounters again (a PUT of each finished Encounter, so a new version) in two shapes:

* **burst**: ``--encounters`` updates at once (16 in flight): the throughput, encounters
  per second from the first update to the last Claim written;
* **paced**: ``--encounters`` more updates at ``--rate`` per second, open loop (each one
  sent at its time, whatever the others are doing): the latency from the update to its
  Claim, p50 and p99, at that offered load, and whether the pipeline kept up.

A burst cannot measure latency honestly: the last of 1,000 updates sent at once waits
behind the 999 before it, so its latency is the burst's size over the throughput. The
paced shape is what an EHR sends: encounters close at some rate.

The sandbox notifies ``serve`` through a rest-hook Subscription made by
``fhir-coder subscribe``. Medplum's router has no subscription engine, so against the peer
the load generator sends the same notification itself (a HAPI-style ``PUT
{endpoint}/Encounter/{id}`` with the updated resource) right after each update.

Figures per phase: encounters/s, Claims written and held, round trips per encounter (from
serve's ``/metrics``), latency p50/p99, and the CPU milliseconds per encounter of the FHIR
server, of ``serve`` and of this load generator (all share the machine's cores).

    .venv/bin/python benchmarks/e2e.py [--encounters 1000] [--rate 200] [--servers sandbox,peer]
    .venv/bin/python benchmarks/e2e.py --crash 3      # crash safety of ``fhir-coder run``
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_throughput import running_peer  # noqa: E402

from adapters.cli.commands.serve import READY_PREFIX  # noqa: E402
from adapters.cli.sandbox_process import read_ready_line, running_sandbox  # noqa: E402
from adapters.jobs import JobLedger, JobState  # noqa: E402
from sandbox.seed import DEFAULT_SEED, build_seed_bundle  # noqa: E402
from tests.peer_server import load_transaction_chunks  # noqa: E402

TOKEN = "bench-token"  # noqa: S105 - a throwaway token for a local run
FINISHED_PER_PATIENT = 2.6
"""Finished encounters per patient in the sandbox's generator (about 2.64)."""
Resource = dict[str, Any]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> dict[str, int]:
    """This process's children by role: ``server`` (sandbox or node) and ``serve``."""
    found: dict[str, int] = {}
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if parent != me:
            continue
        words = [w.decode(errors="replace") for w in command]
        if "serve" in words:
            found["serve"] = int(entry.name)
        elif "sandbox" in words or any(w.endswith("server.mjs") for w in words):
            found["server"] = int(entry.name)
    return found


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_serve(fhir: str, jobs_db: Path, concurrency: int) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN}
    command = [
        sys.executable, "-m", "adapters.cli.main", "serve", "--server", fhir,
        "--source-id", "sb", "--jobs-db", str(jobs_db), "--port", "0",
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    url = read_ready_line(process, READY_PREFIX, 60)
    if url is None:
        process.kill()
        raise SystemExit("serve did not start")
    return process, url


@contextmanager
def running_serve(fhir: str, jobs_db: Path, concurrency: int) -> Iterator[str]:
    process, url = start_serve(fhir, jobs_db, concurrency)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def seeded_peer(patients: int) -> Iterator[str]:
    """The Medplum peer holding the same synthetic data as ``sandbox --patients``."""
    with running_peer() as url:
        load_transaction_chunks(url, build_seed_bundle(DEFAULT_SEED, patients))
        yield url


def finished_encounters(fhir: str) -> list[Resource]:
    encounters: list[Resource] = []
    url: str | None = f"{fhir}/Encounter?status=finished&_count=500"
    with httpx.Client(timeout=60) as client:
        while url:
            bundle = client.get(url).json()
            encounters += [e["resource"] for e in bundle.get("entry", [])]
            url = next((k["url"] for k in bundle.get("link", []) if k["relation"] == "next"), None)
    return encounters


@dataclass(slots=True)
class Phase:
    """What one shape of load did."""

    server: str
    shape: str
    sent: int
    claims: int
    held: int
    failed: int
    seconds: float
    trips: float
    latencies: list[float]
    cpu_ms: dict[str, float]

    def row(self) -> str:
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else 0.0
        done = len(self.latencies)
        p99 = self.latencies[min(done - 1, int(done * 0.99))] * 1000 if done else 0.0
        cpu = " / ".join(f"{self.cpu_ms.get(k, 0):.1f}" for k in ("server", "serve", "load"))
        return (
            f"| {self.server} | {self.shape} | {self.sent} | {self.claims} | {self.held} | "
            f"{self.failed} | {self.sent / self.seconds:,.1f} | {self.trips:.2f} | "
            f"{p50:,.0f} / {p99:,.0f} | {cpu} |"
        )


HEADER = (
    "| server | load | encounters | Claims | held | failed | encounters/s | round trips "
    "per encounter | update to Claim p50 / p99 ms | CPU ms per encounter: server / serve / "
    "load |\n|---|---|---|---|---|---|---|---|---|---|"
)


class Load:
    """Finishes encounters on ``fhir`` and, for a server without subscriptions, notifies."""

    def __init__(self, fhir: str, notify: str | None) -> None:
        self.fhir = fhir
        self.notify = notify
        self.sent: dict[str, float] = {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # plain aiohttp: the load generator stands in for the EHR's users and shares the
        # two cores with what it measures, so it should cost as little as it can
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32), raise_for_status=True
            )
        return self._session

    async def finish(self, encounter: Resource) -> None:
        self.sent[str(encounter["id"])] = time.time()
        url = f"{self.fhir}/Encounter/{encounter['id']}"
        json = {"Content-Type": "application/fhir+json"}
        async with self.session.put(url, data=orjson.dumps(encounter), headers=json) as answer:
            body = await answer.read()
        if self.notify is not None:  # what a rest-hook Subscription would have sent
            headers = {**json, "Authorization": f"Bearer {TOKEN}"}
            async with self.session.put(
                f"{self.notify}/Encounter/{encounter['id']}", data=body, headers=headers
            ) as said:
                await said.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def burst(self, encounters: list[Resource], in_flight: int = 16) -> None:
        gate = asyncio.Semaphore(in_flight)

        async def one(encounter: Resource) -> None:
            async with gate:
                await self.finish(encounter)

        await asyncio.gather(*(one(e) for e in encounters))

    async def paced(self, encounters: list[Resource], rate: float) -> None:
        start = time.perf_counter()
        tasks = []
        for index, encounter in enumerate(encounters):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.finish(encounter)))
        await asyncio.gather(*tasks)


def _round_trips(service: str) -> float:
    metrics = httpx.get(f"{service}/metrics", timeout=10).text
    return next(
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("fhir_coder_round_trips_total ")
    )


def run_phase(
    server: str,
    shape: str,
    drive: Callable[[Load], Any],
    load: Load,
    encounters: list[Resource],
    *,
    service: str,
    jobs_db: Path,
    expected_jobs: int,
) -> Phase:
    encounter_ids = {str(e["id"]) for e in encounters}
    count = len(encounters)
    pids = _children()
    before = {role: _cpu_seconds(pid) for role, pid in pids.items()}
    before["load"] = _self_cpu()
    trips_before = _round_trips(service)
    started = time.time()
    asyncio.get_event_loop().run_until_complete(drive(load))
    with JobLedger(jobs_db) as ledger:
        # counts, not every row: the poll shares the cores with what it measures
        while sum(ledger.counts().values()) < expected_jobs or ledger.pending():
            time.sleep(0.02)
        jobs = [
            j
            for j in ledger.jobs(limit=1_000_000)
            if j.encounter_id in encounter_ids and j.created >= started
        ]
    after = {role: _cpu_seconds(pid) for role, pid in pids.items()}
    after["load"] = _self_cpu()
    ended = max((j.updated for j in jobs), default=time.time())
    done = [j for j in jobs if j.state is JobState.DONE]
    latencies = sorted(j.updated - load.sent[j.encounter_id] for j in done)
    return Phase(
        server=server,
        shape=shape,
        sent=count,
        claims=len(done),
        held=sum(j.state is JobState.HELD for j in jobs),
        failed=sum(j.state in (JobState.FAILED, JobState.PARKED) for j in jobs),
        seconds=ended - started,
        trips=(_round_trips(service) - trips_before) / max(1, len(jobs)),
        latencies=latencies,
        cpu_ms={role: (after[role] - before[role]) * 1000 / count for role in after},
    )


def measure(server: str, fhir: str, folder: Path, args: argparse.Namespace) -> list[Phase]:
    jobs_db = folder / f"jobs-{server}.sqlite3"
    encounters = finished_encounters(fhir)
    if len(encounters) < 2 * args.encounters:
        needed = 2 * args.encounters
        raise SystemExit(f"{server}: {len(encounters)} finished encounters, need {needed}")
    burst, paced = encounters[: args.encounters], encounters[args.encounters : 2 * args.encounters]
    with running_serve(fhir, jobs_db, args.concurrency) as service:
        if server == "sandbox":
            subprocess.run(
                [sys.executable, "-m", "adapters.cli.main", "subscribe", "--server", fhir,
                 "--endpoint", f"{service}/notify"],
                check=True, env={**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN},
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        load = Load(fhir, None if server == "sandbox" else f"{service}/notify")
        phases = [
            run_phase(server, "burst", lambda ld: ld.burst(burst), load, burst,
                      service=service, jobs_db=jobs_db, expected_jobs=args.encounters),
            run_phase(server, f"paced {args.rate:g}/s", lambda ld: ld.paced(paced, args.rate),
                      load, paced, service=service, jobs_db=jobs_db,
                      expected_jobs=2 * args.encounters),
        ]  # fmt: skip
        asyncio.get_event_loop().run_until_complete(load.close())
    return phases


def crash_run(fhir: str, jobs_db: Path, kills: int) -> None:
    """``fhir-coder run`` SIGKILLed ``kills`` times at random points, then run to the end."""
    rng = random.Random()  # noqa: S311 - when to kill, not a secret
    command = [
        sys.executable, "-m", "adapters.cli.main", "run", "--server", fhir, "--source-id", "sb",
        "--jobs-db", str(jobs_db), "--quiet", "--concurrency", "8",
    ]  # fmt: skip
    env = {**os.environ, "FHIR_CODER_LEASE_SECONDS": "2"}
    started = time.perf_counter()
    total = 0
    for _ in range(kills):
        before = 0
        if jobs_db.exists():
            with JobLedger(jobs_db) as ledger:
                counts = ledger.counts()
            before = counts[JobState.DONE] + counts[JobState.HELD]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
        share = rng.uniform(0.1, 0.5)  # of what is left
        while process.poll() is None:
            if jobs_db.exists():
                with JobLedger(jobs_db) as ledger:
                    counts = ledger.counts()
                total = max(total, sum(counts.values()))
                ended = counts[JobState.DONE] + counts[JobState.HELD]
                if total and ended >= before + share * (total - before):
                    process.send_signal(signal.SIGKILL)
                    print(f"killed at {ended}/{total} jobs ended")
                    break
            time.sleep(0.01)
        process.wait()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    with JobLedger(jobs_db) as ledger:
        done = {job.claim_id for job in ledger.jobs(state=JobState.DONE, limit=100_000)}
        counts = ledger.counts()
    claims: list[dict[str, object]] = []
    url: str | None = f"{fhir}/Claim?_count=500"
    while url:
        bundle = httpx.get(url, timeout=60).json()
        claims += [e["resource"] for e in bundle.get("entry", [])]
        url = next((k["url"] for k in bundle.get("link", []) if k["relation"] == "next"), None)
    ids = [str(c["id"]) for c in claims]
    replaced = sum(1 for c in claims if c.get("related"))
    verdict = "OK" if set(ids) == done and len(ids) == len(set(ids)) and not replaced else "WRONG"
    print(
        f"{kills} kills, {seconds:.1f} s: {len(ids)} Claims for {len(done)} jobs done "
        f"({counts[JobState.HELD]} held, {counts[JobState.PARKED]} parked), "
        f"{replaced} replaced: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=1000, help="per phase")
    parser.add_argument("--rate", type=float, default=200.0, help="paced updates per second")
    parser.add_argument("--concurrency", type=int, default=16, help="serve's workers")
    parser.add_argument("--servers", default="sandbox,peer", help="sandbox, peer or both")
    parser.add_argument("--patients", type=int, help="default: enough for two phases")
    parser.add_argument(
        "--crash", type=int, metavar="KILLS", help="instead: `run` SIGKILLed KILLS times, resumed"
    )
    args = parser.parse_args()
    patients = args.patients or math.ceil(2 * args.encounters / FINISHED_PER_PATIENT)
    folder = Path(tempfile.mkdtemp(prefix="fhir-coder-e2e-"))
    extra = ("--patients", str(patients))
    if args.crash:
        with running_sandbox(folder / "sandbox.sqlite3", extra_args=extra) as fhir:
            crash_run(fhir, folder / "jobs.sqlite3", args.crash)
        return
    asyncio.set_event_loop(asyncio.new_event_loop())
    phases: list[Phase] = []
    for server in args.servers.split(","):
        if server == "sandbox":
            with running_sandbox(folder / "sandbox.sqlite3", extra_args=extra) as fhir:
                phases += measure(server, fhir, folder, args)
        elif server == "peer":
            with seeded_peer(patients) as fhir:
                phases += measure("Medplum peer", fhir, folder, args)
        else:
            raise SystemExit(f"unknown server {server!r}: sandbox or peer")
    print(
        f"nproc {os.cpu_count()} | Python {platform.python_version()} | "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC | {patients} patients | serve "
        f"--concurrency {args.concurrency}"
    )
    print(HEADER)
    for phase in phases:
        print(phase.row())


if __name__ == "__main__":
    main()
