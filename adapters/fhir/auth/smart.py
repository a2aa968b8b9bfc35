"""SMART Backend Services: a signed JWT exchanged for a short-lived access token.

The flow (https://hl7.org/fhir/smart-app-launch/backend-services.html): find the token
endpoint in ``{base}/.well-known/smart-configuration``; sign a client assertion (``iss``
= ``sub`` = client id, ``aud`` = token URL, a fresh ``jti``, ``exp`` at most five minutes
ahead, ``kid`` in the header) with RS384 or ES384; POST it as ``client_credentials``; use
the token until shortly before it expires. Tokens last minutes and come with no refresh
token, so a new assertion is signed before expiry, and once more when a request gets 401
(the server may have revoked or restarted).

Concurrent requests share one renewal without a lock held across it: the first request
that needs a token renews (its token request has a timeout, ``token_timeout``) and the
others wait for that renewal's outcome, so a hung identity provider fails them all once,
after one timeout, rather than one after another. While the current token is still
valid (the renewal starts ``renew_before`` seconds ahead of expiry), other requests go
on with it, and a renewal that fails falls back to it: an identity provider that is down
for less than that margin costs nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx
import jwt
import orjson

from adapters.fhir.auth.keys import SigningKey
from fhir_coder.errors import (
    ConfigurationError,
    FhirError,
    FhirResponseError,
    NotFhirError,
)

__all__ = ["ASSERTION_TYPE", "DEFAULT_TOKEN_TIMEOUT", "MAX_ASSERTION_SECONDS", "SmartBackendAuth"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_SECONDS = 300
"""The specification's ceiling on a client assertion's lifetime."""
DEFAULT_TOKEN_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
"""For discovery and token requests: an identity provider answers in well under a second."""
_EXPIRY_MARGIN = 5.0
"""A token this close to its expiry is not sent any more: it could expire on the way."""


class SmartBackendAuth(httpx.Auth):
    """An ``httpx.Auth`` flow that keeps a SMART Backend Services token fresh.

    Give ``fhir_base_url`` to discover the token endpoint, or ``token_url`` to skip
    discovery. ``renew_before`` is how many seconds before expiry a token is replaced;
    ``token_timeout`` bounds each discovery and token request; ``check_token_url`` is
    called with a discovered token endpoint before anything is sent there (it raises to
    refuse one, such as plain ``http://`` to another host).
    """

    def __init__(  # noqa: PLR0913 - keyword-only settings, each with a default but three
        self,
        *,
        client_id: str,
        key: SigningKey,
        scope: str,
        fhir_base_url: str | None = None,
        token_url: str | None = None,
        assertion_seconds: int = MAX_ASSERTION_SECONDS,
        renew_before: float = 30.0,
        clock: Callable[[], float] = time.time,
        token_timeout: httpx.Timeout = DEFAULT_TOKEN_TIMEOUT,
        check_token_url: Callable[[str], object] | None = None,
    ) -> None:
        if fhir_base_url is None and token_url is None:
            raise ConfigurationError("SMART backend auth needs fhir_base_url or token_url")
        if not 0 < assertion_seconds <= MAX_ASSERTION_SECONDS:
            raise ConfigurationError(
                f"a client assertion may live at most {MAX_ASSERTION_SECONDS} seconds"
            )
        self.client_id = client_id
        self.scope = scope
        self.token_url = token_url
        self._key = key
        self._base = fhir_base_url.rstrip("/") if fhir_base_url else None
        self._assertion_seconds = assertion_seconds
        self._renew_before = renew_before
        self._clock = clock
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._timeout = {"timeout": token_timeout.as_dict()}
        self._check_token_url = check_token_url
        # the renewal under way, if any: it ends True (renewed) or False (abandoned: the
        # request renewing was cancelled, so a waiting one takes over), or with the error
        self._renewal: asyncio.Future[bool] | None = None
        self.tokens_issued = 0  # for tests and reports: how many token requests succeeded

    def __repr__(self) -> str:
        return (
            f"SmartBackendAuth(client_id={self.client_id!r}, token_url={self.token_url!r}, "
            f"kid={self._key.kid!r})"
        )

    def _fresh(self) -> bool:
        return (
            self._access_token is not None and self._clock() < self._expires_at - self._renew_before
        )

    def _usable(self) -> bool:
        return self._access_token is not None and self._clock() < self._expires_at - _EXPIRY_MARGIN

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with a valid token; on 401, renew once and send it again.

        The token requests are yielded like the request itself, so they go over the same
        pool and transport (:class:`adapters.fhir.client.FhirClient` throws a failed
        exchange's transport error back in here, so a renewal knows it failed).
        """
        stale: str | None = None  # a token the server refused
        for attempt in (1, 2):
            while not self._fresh() or self._access_token == stale:
                renewal = self._renewal
                if renewal is not None:  # someone renews: wait, unless the token still serves
                    if self._usable() and self._access_token != stale:
                        break
                    await asyncio.shield(renewal)  # the renewal's error is ours too
                    continue
                renewal = asyncio.get_running_loop().create_future()
                self._renewal = renewal
                outcome: bool | BaseException = False  # cancelled: a waiting request takes over
                try:
                    if self.token_url is None:
                        response = yield self._discovery_request()
                        await response.aread()
                        self.token_url = self._token_endpoint(response)
                    response = yield self._token_request(self.token_url)
                    await response.aread()
                    self._store(response, self.token_url)
                    outcome = True
                except (FhirError, httpx.TransportError) as exc:
                    if not (self._usable() and self._access_token != stale):
                        outcome = exc
                        raise
                    outcome = True  # keep the current token; the next request tries again
                finally:
                    self._settle(renewal, outcome)
                break
            used = self._access_token
            request.headers["Authorization"] = f"Bearer {used}"
            response = yield request
            if response.status_code != 401 or attempt == 2:
                return
            stale = used

    def _settle(self, renewal: asyncio.Future[bool], outcome: bool | BaseException) -> None:
        """End a renewal: the requests waiting on it go on, or fail with its error."""
        self._renewal = None
        if isinstance(outcome, BaseException):
            renewal.set_exception(outcome)
            renewal.exception()  # retrieved here: nobody may be waiting
        else:
            renewal.set_result(outcome)

    def _discovery_request(self) -> httpx.Request:
        return httpx.Request(
            "GET",
            f"{self._base}/.well-known/smart-configuration",
            headers={"Accept": "application/json"},
            extensions=self._timeout,
        )

    def _token_request(self, token_url: str) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(token_url),
        }
        return httpx.Request(
            "POST",
            token_url,
            data=form,
            headers={"Accept": "application/json"},
            extensions=self._timeout,
        )

    def assertion(self, token_url: str) -> str:
        """A signed client assertion for ``token_url``, unique by its ``jti``."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self._assertion_seconds,
        }
        return jwt.encode(
            claims,
            self._key.key,
            algorithm=self._key.algorithm,
            headers={"kid": self._key.kid, "typ": "JWT"},
        )

    def _token_endpoint(self, response: httpx.Response) -> str:
        url = _redact(response.request.url)
        config = _json_object(response, url)
        if response.status_code != 200:
            raise FhirResponseError(
                f"SMART discovery at {url} failed with HTTP {response.status_code}",
                url=url,
                status_code=response.status_code,
            )
        endpoint = config.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise NotFhirError(f"{url} names no token_endpoint", url=url)
        if self._check_token_url is not None:
            self._check_token_url(endpoint)
        algorithms = config.get("token_endpoint_auth_signing_alg_values_supported")
        if isinstance(algorithms, list) and self._key.algorithm not in algorithms:
            raise ConfigurationError(
                f"{url} accepts client assertions signed with {', '.join(map(str, algorithms))}"
                f", not {self._key.algorithm}: register a key of a supported kind"
            )
        return endpoint

    def _store(self, response: httpx.Response, url: str) -> None:
        body = _json_object(response, url)
        if response.status_code != 200:
            said = (
                " ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
                or f"HTTP {response.status_code}"
            )
            raise FhirResponseError(
                f"the token endpoint {url} refused the client {self.client_id!r}: {said}",
                url=url,
                status_code=response.status_code,
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise NotFhirError(f"{url} answered without an access_token", url=url)
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 300.0
        self._access_token = token
        self._expires_at = self._clock() + seconds
        self.tokens_issued += 1


def _redact(url: httpx.URL) -> str:
    return str(url.copy_with(query=None))


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError as exc:
        raise NotFhirError(
            f"{url} answered HTTP {response.status_code} with a body that is not JSON", url=url
        ) from exc
    if not isinstance(body, dict):
        raise NotFhirError(f"{url} answered with JSON that is not an object", url=url)
    return body
