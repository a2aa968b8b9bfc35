"""Jobs claimed and finished per second: SQLite beside PostgreSQL, with 1, 4 and 16 workers.

Each worker is a process with a ledger of its own (as machines are), claiming and
finishing jobs from one pre-filled queue until it is empty; the figure is jobs done per
second of wall time. PostgreSQL is a throwaway cluster on loopback with its durable
defaults (fsync and synchronous commit on: ``tests/postgres_cluster.py start --durable``),
or ``--postgres URL``; SQLite is a file in WAL mode with ``synchronous=NORMAL`` (durable
across a crash of the process, not of the machine: it fsyncs at checkpoints only).

    .venv/bin/python benchmarks/ledger_backends.py [--jobs 4000] [--workers 1 4 16]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
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

from adapters.jobs import JobLedger, JobState  # noqa: E402


def work(
    target: str, start: multiprocessing.synchronize.Event, done: multiprocessing.Queue
) -> None:
    with JobLedger(target, pool_size=1) as ledger:
        start.wait()
        count = 0
        while (job := ledger.claim(lease_seconds=60)) is not None:
            ledger.finish(job.id, JobState.DONE, outcome="written", claim_id=f"c-{job.id}")
            count += 1
    done.put(count)


def fill(target: str, jobs: int) -> None:
    with JobLedger(target) as ledger:
        for n in range(jobs):
            ledger.enqueue("ehr", f"e{n}", "1", trigger="benchmark")


def measure(target: str, jobs: int, workers: int) -> float:
    fill(target, jobs)
    start = multiprocessing.Event()
    done: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=work, args=(target, start, done)) for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # every worker connected and waiting
    began = time.perf_counter()
    start.set()
    total = sum(done.get() for _ in procs)
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join()
    if total != jobs:
        raise SystemExit(f"{total} jobs done of {jobs}: a claim was lost or doubled")
    return jobs / elapsed


def new_database(server: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    JobLedger.migrate(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--postgres", help="a server URL (default: a throwaway cluster)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    cluster = Path(tempfile.mkdtemp(prefix="ledger-bench-pg-"))  # its own: postgres owns it
    server = args.postgres
    if server is None:
        line = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests/postgres_cluster.py"),
                "start",
                "--durable",
                str(cluster),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        server = line.strip().split("=", 1)[1]
    try:
        print(f"{args.jobs} jobs, claim + finish each; jobs/s (wall)")
        print(f"{'workers':>8} {'sqlite':>10} {'postgresql':>12} {'pg, async commit':>18}")
        for workers in args.workers:
            sqlite_rate = measure(str(folder / f"jobs-{workers}.sqlite3"), args.jobs, workers)
            pg_rate = measure(new_database(server), args.jobs, workers)
            # synchronous_commit=off: a commit survives the process, not the machine (what
            # SQLite's WAL with synchronous=NORMAL promises), without an fsync per commit
            relaxed = new_database(server) + "?options=-csynchronous_commit%3Doff"
            async_rate = measure(relaxed, args.jobs, workers)
            print(
                f"{workers:>8} {sqlite_rate:>10,.0f} {pg_rate:>12,.0f} {async_rate:>18,.0f}",
                flush=True,
            )
    finally:
        if args.postgres is None:
            subprocess.run(
                [sys.executable, str(ROOT / "tests/postgres_cluster.py"), "stop", str(cluster)],
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
