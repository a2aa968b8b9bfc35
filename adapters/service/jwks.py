"""JSON Web Key Sets of the CDS clients (EHRs) that may call the service.

A CDS client publishes the public keys it signs with as a JWK Set at a URL (configured
for its issuer, or named by a JWT's ``jku`` header when that URL is on the issuer's
allow-list), or hands it over out of band (a file). Fetched sets are kept for
``ttl_seconds``; a ``kid`` not in a set fetches it again (keys rotate), at most every
``refresh_seconds`` per URL, so a stranger sending made-up ``kid`` values cannot make
the service hammer an EHR's key server.

No lock is held across a fetch: concurrent callers needing the same URL share one
fetch (a future), and a fetch that hangs ends after ``timeout_seconds`` for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson

from adapters.fhir.plain_http import check_url
from fhir_coder.errors import ConfigurationError

__all__ = ["KeySetError", "KeySets", "read_key_set"]

MAX_KEY_SET_BYTES = 256 * 1024
"""A JWK Set holds a handful of public keys; anything far larger is not one."""


class KeySetError(Exception):
    """A key set could not be fetched or read (the reason names the URL, never a key)."""


def read_key_set(data: object, where: str) -> dict[str, Any]:
    """The public keys of a JWK Set by ``kid`` (keys without a usable ``kid`` are skipped)."""
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise KeySetError(f"{where} is not a JWK Set (no keys list)")
    found: dict[str, Any] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or "d" in jwk:  # encryption keys; private keys
            continue
        try:
            found[jwk["kid"]] = jwt.PyJWK(jwk).key
        except jwt.PyJWTError:
            continue  # a key type this service cannot verify with: not usable, not fatal
    return found


def key_set_file(path: Path) -> dict[str, Any]:
    """The keys of a JWK Set file handed over out of band; ConfigurationError if unreadable."""
    try:
        return read_key_set(orjson.loads(path.read_bytes()), str(path))
    except (OSError, orjson.JSONDecodeError, KeySetError) as exc:
        raise ConfigurationError(f"{path}: cannot read a JWK Set ({exc})") from exc


@dataclass(slots=True)
class _Fetched:
    keys: dict[str, Any]
    at: float


class KeySets:
    """Fetches and keeps the JWK Sets at allow-listed URLs."""

    def __init__(
        self,
        *,
        allow_insecure_http: Collection[str] = (),
        timeout_seconds: float = 5.0,
        ttl_seconds: float = 600.0,
        refresh_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow = tuple(allow_insecure_http)
        self._timeout = timeout_seconds
        self._ttl = ttl_seconds
        self._refresh = refresh_seconds
        self._clock = clock
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,  # a redirect could lead off the allow-list
        )
        self._cache: dict[str, _Fetched] = {}
        self._pending: dict[str, asyncio.Task[dict[str, Any]]] = {}

    async def keys(self, url: str, *, refresh: bool = False) -> dict[str, Any]:
        """The keys at ``url`` by ``kid``; ``refresh`` fetches again unless fetched just now."""
        now = self._clock()
        cached = self._cache.get(url)
        if cached is not None:
            age = now - cached.at
            if age < self._ttl and not (refresh and age >= self._refresh):
                return cached.keys
        task = self._pending.get(url)
        if task is None:  # the first caller starts the fetch; later ones share it
            task = asyncio.get_running_loop().create_task(self._fetch_and_keep(url))
            self._pending[url] = task
            task.add_done_callback(lambda done: self._settled(url, done))
        # shielded: a caller that gives up (its client went away) does not end the fetch
        return await asyncio.shield(task)

    def _settled(self, url: str, task: asyncio.Task[dict[str, Any]]) -> None:
        self._pending.pop(url, None)
        if not task.cancelled():
            task.exception()  # retrieved here too: every caller may have given up

    async def _fetch_and_keep(self, url: str) -> dict[str, Any]:
        keys = await self._fetch(url)
        self._cache[url] = _Fetched(keys, self._clock())
        return keys

    async def _fetch(self, url: str) -> dict[str, Any]:
        check_url(url, allow_insecure_http=self._allow, what="JWK Set URL")
        body = bytearray()
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._http.stream("GET", url, headers={"Accept": "application/json"}) as answer,
            ):
                if answer.status_code != 200:
                    raise KeySetError(f"{url} answered HTTP {answer.status_code}")
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_KEY_SET_BYTES:
                        raise KeySetError(f"{url} sent more than {MAX_KEY_SET_BYTES} bytes")
        except TimeoutError as exc:
            raise KeySetError(f"{url} did not answer within {self._timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise KeySetError(f"cannot reach {url} ({type(exc).__name__})") from exc
        try:
            return read_key_set(orjson.loads(body), url)
        except orjson.JSONDecodeError as exc:
            raise KeySetError(f"{url} did not send JSON") from exc

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()
