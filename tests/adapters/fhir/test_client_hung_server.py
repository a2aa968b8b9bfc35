"""A FHIR server that takes connections and never answers, on a real loopback socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.fhir.retry import RetryPolicy
from fhir_coder.errors import FhirTransportError


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # held open, never answered
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/fhir", accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


async def test_callers_waiting_for_metadata_share_one_read_and_its_timeout(silent_server):
    base, accepted = silent_server
    timeout = httpx.Timeout(0.4)
    async with FhirClient(base, timeout=timeout, retry=RetryPolicy(attempts=1)) as fhir:
        started = time.monotonic()
        failures = await asyncio.gather(
            *(fhir.metadata() for _ in range(6)), return_exceptions=True
        )
        elapsed = time.monotonic() - started
    assert all(isinstance(f, FhirTransportError) for f in failures), failures
    assert elapsed < 1.2, f"{elapsed:.2f} s: the callers waited one after another"
    assert len(accepted) == 1  # one read, shared
