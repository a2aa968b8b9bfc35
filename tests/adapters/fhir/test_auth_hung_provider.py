"""A SMART identity provider that stops answering, on real loopback sockets.

The token endpoint here is an HTTP server on 127.0.0.1 that answers, or accepts the
request and never answers, as the test says. The FHIR server is the sandbox process
(without authentication, so it takes any bearer token). What must hold: every token
request ends within its timeout; requests waiting for one renewal fail together, after
one timeout, not one after another; a client of another server is not held up at all;
and while the current token is still valid, a provider that hangs costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.fhir.auth import SmartBackendAuth, load_signing_key
from adapters.fhir.client import FhirClient
from adapters.fhir.retry import RetryPolicy
from fhir_coder.errors import FhirTransportError
from tests.adapters.keys import write_pem

TIMEOUT = httpx.Timeout(0.5)


class IdentityProvider:
    """A token endpoint on loopback: ``hang`` makes it take requests and never answer."""

    def __init__(self) -> None:
        self.hang = False
        self.requests = 0
        self.issued = 0
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if owner.hang:
                    owner.release.wait(30)
                    return
                owner.issued += 1
                body = json.dumps(
                    {
                        "access_token": f"token-{owner.issued}",
                        "token_type": "bearer",
                        "expires_in": 300,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    running = IdentityProvider()
    yield running
    running.close()


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = write_pem(
        tmp_path_factory.mktemp("key") / "k.pem", ec.generate_private_key(ec.SECP384R1())
    )
    return load_signing_key(path, kid="k1")


def smart(key, provider, clock=time.time):
    return SmartBackendAuth(
        client_id="coder",
        key=key,
        scope="system/*.rs",
        token_url=provider.url,
        token_timeout=TIMEOUT,
        clock=clock,
    )


async def test_a_hung_provider_fails_waiting_requests_together_after_one_timeout(
    key, provider, loopback_base_url
):
    provider.hang = True
    once = RetryPolicy(attempts=1)
    async with (
        FhirClient(loopback_base_url, auth=smart(key, provider), retry=once) as fhir,
        FhirClient(loopback_base_url, retry=once) as other,  # another server's client
    ):
        started = time.monotonic()
        reads = [fhir.read("Patient", "pat-0001") for _ in range(8)]
        waiting = asyncio.gather(*reads, return_exceptions=True)
        await asyncio.sleep(0.05)
        meanwhile = time.monotonic()
        assert (await other.read("Patient", "pat-0001"))["id"] == "pat-0001"
        assert time.monotonic() - meanwhile < 0.4  # nobody else is held up
        failures = await waiting
        elapsed = time.monotonic() - started
    assert all(isinstance(f, FhirTransportError) for f in failures), failures
    assert "timed out" in str(failures[0])
    assert elapsed < 1.5, f"{elapsed:.2f} s: the waiting requests timed out one after another"
    assert provider.requests == 1  # one renewal, shared


async def test_a_valid_token_carries_on_while_the_provider_hangs(key, provider, loopback_base_url):
    now = [1_000_000.0]
    auth = smart(key, provider, clock=lambda: now[0])
    async with FhirClient(loopback_base_url, auth=auth, retry=RetryPolicy(attempts=1)) as fhir:
        await fhir.read("Patient", "pat-0001")
        assert provider.issued == 1
        now[0] += 280  # inside the renewal margin; the token is still good for 20 s
        provider.hang = True
        started = time.monotonic()
        read = await asyncio.gather(*(fhir.read("Patient", "pat-0001") for _ in range(6)))
        elapsed = time.monotonic() - started
    assert [r["id"] for r in read] == ["pat-0001"] * 6  # every request got its answer
    assert provider.requests == 2  # one renewal tried, and it timed out
    assert elapsed < 1.5
