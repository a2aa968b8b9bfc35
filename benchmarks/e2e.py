"""End to end on loopback: sandbox Subscription -> serve -> gather, code, validate, write.

Starts the sandbox (``--patients``) and ``fhir-coder serve`` as processes, creates the
rest-hook Subscription with ``fhir-coder subscribe``, then updates every finished encounter
at once (each update is a notification) and waits until the ledger has ended every job.
Prints encounters/s, round trips per encounter (from ``/metrics``) and the
notification-to-Claim latency (job queued -> Claim written) p50/p99.

    .venv/bin/python benchmarks/e2e.py --patients 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

from adapters.commands.serve import READY_PREFIX
from adapters.jobs import JobLedger, JobState
from adapters.sandbox_process import read_ready_line, running_sandbox

TOKEN = "bench-token"  # noqa: S105 - a throwaway token for a local run


def start_serve(fhir: str, jobs_db: Path, concurrency: int) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "serve",
            "--server",
            fhir,
            "--source-id",
            "sb",
            "--jobs-db",
            str(jobs_db),
            "--port",
            "0",
            "--concurrency",
            str(concurrency),
        ],
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


async def notify_all(fhir: str) -> int:
    # aiohttp's transport: the load generator shares the 2 cores with what it measures, and
    # httpx's own transport costs about 6x the CPU per request (docs/benchmarks.md)
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=16))
    async with httpx.AsyncClient(timeout=60, transport=transport) as client:
        encounters = []
        url: str | None = f"{fhir}/Encounter?status=finished&_count=500"
        while url:
            bundle = (await client.get(url)).json()
            encounters += [e["resource"] for e in bundle.get("entry", [])]
            url = next((k["url"] for k in bundle.get("link", []) if k["relation"] == "next"), None)
        gate = asyncio.Semaphore(16)

        async def put(resource: dict[str, object]) -> None:
            async with gate:
                await client.put(f"{fhir}/Encounter/{resource['id']}", json=resource)

        await asyncio.gather(*(put(resource) for resource in encounters))
        return len(encounters)


def crash_run(fhir: str, jobs_db: Path, kills: int) -> None:
    """``fhir-coder run`` SIGKILLed ``kills`` times at random points, then run to the end."""
    rng = random.Random()  # noqa: S311 - when to kill, not a secret
    command = [
        sys.executable, "-m", "adapters.cli", "run", "--server", fhir, "--source-id", "sb",
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--crash", type=int, metavar="KILLS", help="instead: `run` SIGKILLed KILLS times, resumed"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fhir-coder-e2e-"))
    jobs_db = folder / "jobs.sqlite3"
    extra = ("--patients", str(args.patients))
    if args.crash:
        with running_sandbox(folder / "sandbox.sqlite3", extra_args=extra) as fhir:
            crash_run(fhir, jobs_db, args.crash)
        return
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=extra) as fhir:
        process, service = start_serve(fhir, jobs_db, args.concurrency)
        try:
            env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN}
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "adapters.cli",
                    "subscribe",
                    "--server",
                    fhir,
                    "--endpoint",
                    f"{service}/notify",
                ],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            started = time.perf_counter()
            count = asyncio.run(notify_all(fhir))
            with JobLedger(jobs_db) as ledger:
                # counts, not every row: the poll shares the cores with what it measures
                while sum(ledger.counts().values()) < count or ledger.pending():
                    time.sleep(0.05)
                seconds = time.perf_counter() - started
                jobs = ledger.jobs(limit=100_000)
            metrics = httpx.get(f"{service}/metrics", timeout=10).text
        finally:
            process.terminate()
            process.wait(30)
    trips = next(
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("fhir_coder_round_trips_total ")
    )
    latencies = sorted(j.updated - j.created for j in jobs if j.state is JobState.DONE)
    done = len(latencies)
    p99 = latencies[min(done - 1, int(done * 0.99))] if done else 0.0
    print(f"encounters notified: {count}; claims written: {done}; held: "
          f"{sum(j.state is JobState.HELD for j in jobs)}; failed: "
          f"{sum(j.state in (JobState.FAILED, JobState.PARKED) for j in jobs)}")  # fmt: skip
    print(f"wall time {seconds:.2f} s: {count / seconds:.1f} encounters/s")
    print(f"round trips per encounter: {trips / max(1, len(jobs)):.2f}")
    print(
        f"notification-to-Claim latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
