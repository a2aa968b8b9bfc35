"""What the body limit costs a request, in the sandbox and in ``serve`` (issue 22).

Both put every request through a middleware that reads the body (up to the limit) before
the route runs (``sandbox/limits.py``, ``adapters/service/limits.py``). This measures its CPU
per request the only way that is not drowned by a shared machine's noise: the same ASGI
app, called in process (no sockets) alternately as it ships and wrapped in one *more*
body-limit layer; the difference is what one layer costs. Requests: the sandbox's read, its
create (a Patient, ~400 bytes) and a 40 KB transaction; ``serve``'s rest-hook notification
(``PUT /notify/Encounter/{id}``, a duplicate after the first, so no job is queued).

    .venv/bin/python benchmarks/body_limit.py [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.types import ASGIApp, Message

from adapters.service.limits import BodyLimit as ServiceBodyLimit
from sandbox.app import create_app
from sandbox.limits import BodyLimit as SandboxBodyLimit
from sandbox.seed import seed_store

Call = Callable[[], Awaitable[None]]


def _caller(app: ASGIApp, method: str, path: str, body: bytes, headers: list[Any]) -> Call:
    scope_headers = [(b"host", b"bench.test"), *headers]
    if body:
        scope_headers.append((b"content-length", str(len(body)).encode()))

    async def call() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": scope_headers,
            "server": ("bench.test", 80),
            "client": ("127.0.0.1", 1),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}")

    return call


async def _cpu_per_call(call: Call, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        await call()
    return (time.process_time() - started) / requests * 1e6


async def _compare(name: str, plain: Call, wrapped: Call, requests: int) -> None:
    for _ in range(200):  # warm both up
        await plain()
        await wrapped()
    shipped, doubled = [], []
    for _ in range(5):  # alternate, so drifts of the machine fall on both
        shipped.append(await _cpu_per_call(plain, requests // 5))
        doubled.append(await _cpu_per_call(wrapped, requests // 5))
    a, b = statistics.median(shipped), statistics.median(doubled)
    print(f"| {name} | {a:,.1f} | {b:,.1f} | {b - a:+,.1f} |")


def _transaction(entries: int) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"request": {"method": "GET", "url": f"Patient/pat-{n % 50 + 1:04d}"}}
                for n in range(entries)
            ],
        }
    )


async def _sandbox(folder: Path, requests: int) -> None:
    app = create_app(folder / "bench.sqlite3")
    seed_store(app.state.store, patients=50)
    patient = orjson.dumps({"resourceType": "Patient", "name": [{"family": "Bench"}]})
    batch = _transaction(400)
    json_type = [(b"content-type", b"application/fhir+json")]
    for name, method, path, body in (
        ("sandbox: read Patient", "GET", "/fhir/Patient/pat-0001", b""),
        ("sandbox: create Patient", "POST", "/fhir/Patient", patient),
        (f"sandbox: batch of 400 reads ({len(batch) // 1024} KB)", "POST", "/fhir", batch),
    ):
        plain = _caller(app, method, path, body, json_type)
        wrapped = _caller(
            SandboxBodyLimit(app, limit=8 * 1024 * 1024), method, path, body, json_type
        )
        count = requests // 40 if "batch" in name else requests
        await _compare(name, plain, wrapped, count)
    app.state.store.close()


async def _serve(folder: Path, requests: int) -> None:
    import httpx  # noqa: PLC0415

    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415
    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.workers import WorkerPool  # noqa: PLC0415
    from adapters.pipeline import Pipeline  # noqa: PLC0415
    from adapters.service.app import create_service  # noqa: PLC0415
    from adapters.settings import TriggerSettings  # noqa: PLC0415

    sandbox = create_app(folder / "serve-source.sqlite3")
    seed_store(sandbox.state.store, patients=3)
    settings = TriggerSettings(server="http://sandbox.test/fhir", jobs_db=folder / "jobs.sqlite3")
    encounter = sandbox.state.store.read("Encounter", "enc-0001-1").resource
    body = orjson.dumps({**encounter, "status": "finished"})
    async with FhirClient(settings.server, transport=httpx.ASGITransport(app=sandbox)) as fhir:
        with JobLedger(settings.jobs_db) as ledger:
            pool = WorkerPool(ledger, Pipeline(fhir, default_coding()), "bench")
            app = create_service(settings, pool, fhir=fhir, run_workers=False)
            json_type = [(b"content-type", b"application/json")]
            path = "/notify/Encounter/enc-0001-1"
            plain = _caller(app, "PUT", path, body, json_type)
            wrapped = _caller(
                ServiceBodyLimit(app, limit=8 * 1024 * 1024), "PUT", path, body, json_type
            )
            await plain()  # queued once; every later one is a duplicate: no job, no work
            await _compare(
                f"serve: rest-hook notification ({len(body)} B)", plain, wrapped, requests
            )
    sandbox.state.store.close()


async def _main(requests: int) -> None:
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python "
        f"{platform.python_version()}, {requests} requests each\n\n"
        "| request | CPU us, as shipped | with one more body-limit layer | one layer |\n"
        "|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory() as folder:
        await _sandbox(Path(folder), requests)
        await _serve(Path(folder), requests)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=4000)
    asyncio.run(_main(parser.parse_args().requests))


if __name__ == "__main__":
    main()
