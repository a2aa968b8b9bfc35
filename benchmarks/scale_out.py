"""Four ``fhir-coder serve`` on one PostgreSQL, 2,000 notifications, two of them SIGKILLed.

The acceptance run of issue 21 at full size (``tests/adapters/service/test_service_postgres.py``
is the bounded one): the sandbox on loopback, four ``serve`` processes on one PostgreSQL
job ledger (a throwaway durable cluster, or ``--postgres URL``), notifications with
duplicates and late versions sent to any live process, two processes killed while they
hold jobs. Prints the counts the acceptance asks for and the time to drain.

    .venv/bin/python benchmarks/scale_out.py [--notifications 2000] [--patients 280]
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.cli.sandbox_process import running_sandbox  # noqa: E402
from adapters.jobs import JobLedger, JobState  # noqa: E402
from adapters.writeback.claim_ledger import ClaimLedger  # noqa: E402
from tests.adapters.conftest import search_all_sync  # noqa: E402
from tests.adapters.service.test_service_loopback import Service, wait_for  # noqa: E402
from tests.adapters.service.test_service_postgres import Sender, held_by, notifications  # noqa: E402


def database(server: str) -> str:
    name = f"scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    JobLedger.migrate(url)
    ClaimLedger.migrate(url)
    return url


def main() -> None:  # noqa: PLR0915 - one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--patients", type=int, default=280)
    parser.add_argument("--serves", type=int, default=4)
    parser.add_argument("--killed", type=int, default=2)
    parser.add_argument("--postgres", help="a server URL (default: a throwaway cluster)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="scale-out-"))
    cluster = Path(tempfile.mkdtemp(prefix="scale-out-pg-"))  # its own: postgres owns it
    server = args.postgres
    if server is None:
        line = subprocess.run(
            [sys.executable, str(ROOT / "tests/postgres_cluster.py"), "start", "--durable",
             str(cluster)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        server = line.strip().split("=", 1)[1]
    seed = random.randrange(1 << 30)  # noqa: S311 - order and kills, not secrets
    rng = random.Random(seed)  # noqa: S311
    try:
        url = database(server)
        with running_sandbox(
            folder / "sandbox.sqlite3", extra_args=("--patients", str(args.patients))
        ) as fhir:
            encounters = search_all_sync(fhir, "Encounter?status=finished&_count=200")
            sends = notifications(encounters, rng)[: args.notifications]
            notified = {r["id"] for r in sends}
            log = (folder / "serve.log").open("w")
            services = [Service(fhir, url, log) for _ in range(args.serves)]
            alive = list(services)
            sender = Sender(sends, alive, random.Random(seed))  # noqa: S311
            killed: list[int] = []
            orphaned: set[int] = set()
            started = time.perf_counter()
            try:
                with JobLedger(url) as ledger:
                    sender.start()
                    for victim in services[: args.killed]:
                        time.sleep(rng.uniform(2, 8))
                        wait_for(lambda v=victim: held_by(ledger, v.process.pid), timeout=300)
                        alive.remove(victim)
                        victim.stop(signal.SIGKILL)
                        killed.append(victim.process.pid)
                        orphaned |= held_by(ledger, victim.process.pid)
                    sender.join()
                    sent_s = time.perf_counter() - started
                    wait_for(lambda: ledger.pending() == 0, timeout=1800)
                    drained_s = time.perf_counter() - started
                    counts = ledger.counts()
                    jobs = ledger.jobs(limit=1_000_000)
            finally:
                for service in alive:
                    service.stop()
                log.close()
            written = search_all_sync(fhir, "Claim?_count=500")
        ids = [c["id"] for c in written]
        ended = (JobState.DONE, JobState.HELD)
        coded = {j.encounter_id for j in jobs if j.state in ended}
        by_id = {j.id: j for j in jobs}
        done_claims = {j.claim_id for j in jobs if j.state is JobState.DONE and j.claim_id}
        rewritten = [c["id"] for c in written if c["meta"]["versionId"] != "1"]
        taken_over = [i for i in orphaned if by_id[i].state in ended and by_id[i].attempts >= 2]
        print(f"seed {seed}; {args.serves} serve processes on {url.rsplit('@', 1)[-1]}")
        print(f"notifications sent: {sender.sent} ({len(notified)} encounters), "
              f"failures {len(sender.failures)}, in {sent_s:.1f} s")  # fmt: skip
        print(f"killed with SIGKILL: {len(killed)} processes holding {len(orphaned)} jobs; "
              f"finished by the others: {len(taken_over)}")  # fmt: skip
        print(f"drained after {drained_s:.1f} s: {counts[JobState.DONE]} done, "
              f"{counts[JobState.HELD]} held, {counts[JobState.FAILED]} failed, "
              f"{counts[JobState.PARKED]} parked")  # fmt: skip
        print(f"encounters notified and coded: {len(notified & coded)}/{len(notified)} "
              f"(lost {len(notified - coded)})")  # fmt: skip
        print(
            f"Claims: {len(ids)}, duplicate ids {len(ids) - len(set(ids))}, "
            f"written more than once {len(rewritten)}, missing {len(done_claims - set(ids))}"
        )
    finally:
        if args.postgres is None:
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "tests/postgres_cluster.py"),
                    "stop",
                    str(folder / "pg"),
                ],
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
