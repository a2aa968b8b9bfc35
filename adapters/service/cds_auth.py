"""Who may call the CDS Hooks service: the JWT every CDS client signs (CDS Hooks 2.0, Security).

Each call carries ``Authorization: Bearer <JWT>`` signed by the EHR with an asymmetric key
(the specification names ES384 and RS384; the RSA, EC and PSS families are taken, never
``none`` or a shared-secret HMAC). The service checks, in order: the issuer (``iss``) is on
its allow-list; the key: its ``kid`` is in the issuer's JWK Set, fetched from the issuer's
configured URL, a file, or the ``jku`` header only when that URL is one the issuer lists;
the signature; ``aud`` is this service's own URL (from configuration, never from the Host
header); ``exp`` has not passed and is at most an hour ahead; ``iat`` and ``jti`` are
present; ``sub`` is an allowed client id when the issuer lists them; ``tenant`` is one of the
issuer's organisations when it lists them (a JWT naming none is then refused); and the
``jti`` has not been seen within the token's lifetime (a replay;
:mod:`adapters.service.replay` shares what was seen between the ``serve`` processes of one
ledger, on any machine). Every refusal is a 401 that says which check failed and nothing of
the token. Unsigned calls are accepted only when the operator allows it
(``cds_allow_unsigned``), which :meth:`TriggerSettings.check_serving` refuses off
loopback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.service.jwks import KeySetError, KeySets, key_set_file
from adapters.service.replay import SeenTokens
from adapters.settings import CdsIssuer

__all__ = ["ALGORITHMS", "MAX_LIFETIME_SECONDS", "CdsCaller", "CdsGate", "CdsVerifier"]

ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
MAX_LIFETIME_SECONDS = 3600
"""A CDS client's JWT lives minutes (the specification's examples: five); an hour bounds
how long each ``jti`` must be remembered."""
_LEEWAY_SECONDS = 30


class CdsCaller:
    """Who called: the verified issuer and client id (empty for an allowed unsigned call)."""

    __slots__ = ("issuer", "subject")

    def __init__(self, issuer: str = "", subject: str = "") -> None:
        self.issuer = issuer
        self.subject = subject


def _refused(reason: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=f"CDS Hooks authorization refused: {reason}",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class CdsVerifier:
    """Checks the JWT of each CDS Hooks call (a FastAPI dependency) for one service URL."""

    def __init__(
        self,
        issuers: Sequence[CdsIssuer],
        *,
        audience: str,
        allow_unsigned: bool = False,
        key_sets: KeySets | None = None,
        seen: SeenTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience.rstrip("/")
        self.allow_unsigned = allow_unsigned
        self._issuers = {issuer.iss: issuer for issuer in issuers}
        self._files = {
            issuer.iss: key_set_file(issuer.jwks_file)
            for issuer in issuers
            if issuer.jwks_file is not None
        }
        self.key_sets = key_sets if key_sets is not None else KeySets()
        self._clock = clock
        self.seen = seen if seen is not None else SeenTokens()

    async def __call__(self, request: Request) -> CdsCaller:
        """The verified caller; a 401 for anything short of a valid, fresh, unreplayed JWT."""
        header = request.headers.get("authorization")
        if header is None:
            if self.allow_unsigned:
                return CdsCaller()
            raise _refused("no JWT (Authorization: Bearer) on the call")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _refused("the Authorization header is not Bearer <JWT>")
        return await self.verify(token.strip())

    async def verify(self, token: str) -> CdsCaller:
        """The caller ``token`` proves, or a 401 :class:`HTTPException`."""
        try:
            head = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _refused("the bearer token is not a JWT") from exc
        algorithm = head.get("alg")
        if algorithm not in ALGORITHMS:
            raise _refused(f"alg must be one of {', '.join(ALGORITHMS)}")
        issuer = self._issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise _refused("the issuer (iss) is not one this service trusts")
        kid = head.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused("the JWT header names no kid")
        key = await self._key(issuer, head.get("jku"), kid)
        claims = self._claims(token, key, str(algorithm), issuer)
        until = float(claims["exp"]) + _LEEWAY_SECONDS
        now = self._clock()
        if not await self.seen.first_use(issuer.iss, str(claims["jti"]), until=until, now=now):
            raise _refused("the JWT has been used before (jti replayed)")
        return CdsCaller(issuer.iss, str(claims.get("sub") or ""))

    async def _key(self, issuer: CdsIssuer, jku: object, kid: str) -> Any:  # noqa: ANN401 - a public key
        if jku is not None:
            if jku not in issuer.jku:
                raise _refused("the jku header is not a key set URL listed for this issuer")
            urls = [str(jku)]
        else:
            found = self._files.get(issuer.iss, {}).get(kid)
            if found is not None:
                return found
            urls = [issuer.jwks_url] if issuer.jwks_url else []
        try:
            for url in urls:
                keys = await self.key_sets.keys(url)
                if kid not in keys:  # keys rotate: look again (at most every half minute)
                    keys = await self.key_sets.keys(url, refresh=True)
                if kid in keys:
                    return keys[kid]
        except KeySetError as exc:
            raise HTTPException(
                status_code=503, detail=f"the issuer's key set is unavailable: {exc}"
            ) from exc
        raise _refused("no key of the issuer has the JWT's kid")

    def _claims(
        self,
        token: str,
        key: Any,  # noqa: ANN401 - a public key
        algorithm: str,
        issuer: CdsIssuer,
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=[self.audience, self.audience + "/"],
                issuer=issuer.iss,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refused("the JWT has expired (exp)") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused(f"the JWT's aud is not this service ({self.audience})") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"the JWT lacks the {exc.claim} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise _refused("the signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise _refused(f"the JWT is invalid ({type(exc).__name__})") from exc
        if float(claims["exp"]) > self._clock() + MAX_LIFETIME_SECONDS + _LEEWAY_SECONDS:
            raise _refused("the JWT lives longer than an hour (exp)")
        if issuer.sub and claims.get("sub") not in issuer.sub:
            raise _refused("the client id (sub) is not one allowed for this issuer")
        if issuer.tenant and claims.get("tenant") not in issuer.tenant:
            raise _refused("the organisation (tenant) is not one this service codes for")
        return claims

    async def aclose(self) -> None:
        """Close the key sets' connections and the record of used JWTs."""
        await self.key_sets.aclose()
        self.seen.close()


class CdsGate:
    """The JWT check in front of the CDS service route, before its body is parsed.

    As an ASGI middleware rather than a route dependency: FastAPI reads and parses a
    route's body before its dependencies run, and a caller who cannot prove who it is
    should not get the service to parse megabytes of JSON. (The body limit stays in
    front of it: an oversized body is a 413 whoever sends it.)
    """

    def __init__(self, app: ASGIApp, *, verifier: CdsVerifier, path: str) -> None:
        self.app = app
        self.verifier = verifier
        self.path = path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a call to the service whose JWT does not verify; pass anything else on."""
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") == self.path
        ):
            try:
                await self.verifier(Request(scope))
            except HTTPException as exc:
                answer = JSONResponse(
                    {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
