"""Optional authentication: static bearer tokens and SMART Backend Services clients.

Off unless configured (``create_app(..., auth=AuthConfig)``, ``--auth-config FILE``). When
on, every route but ``/metadata`` and ``/.well-known/smart-configuration`` needs
``Authorization: Bearer <token>`` (401 otherwise), and the token's scopes must allow the
resource type and interaction (403 otherwise). Scopes are SMART's ``system/Type.rs`` (v2
letters c, r, u, d, s) or ``system/Type.read|write|*`` (v1); ``patient/`` and ``user/``
scopes are read the same way, since the sandbox has no launch context to narrow them.

Clients get tokens from ``POST {base}/auth/token`` with a ``client_credentials`` grant and a
``private_key_jwt`` assertion (RS384 or ES384) signed by a key of their registered JWKS.
Tokens and seen ``jti`` values live in memory: a restart forgets them.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from fhir_coder.errors import ConfigurationError

__all__ = [
    "ALGORITHMS",
    "AuthConfig",
    "ClientRegistration",
    "Scopes",
    "TokenError",
    "TokenService",
    "load_auth_config",
]

ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME_SECONDS = 300
_CLOCK_SKEW_SECONDS = 30
_SCOPE = re.compile(r"(?:system|patient|user)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<access>[a-z*]+)")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


class TokenError(Exception):
    """A refused token request: the OAuth ``error`` code, a description and the status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The OAuth error JSON."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True, slots=True)
class Scopes:
    """What a token allows: resource type (or ``*``) to the interaction letters granted."""

    text: str
    grants: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def parse(cls, text: str) -> Scopes:
        """Read a space-separated scope string; scopes it does not understand grant nothing."""
        grants: list[tuple[str, frozenset[str]]] = []
        for scope in text.split():
            match = _SCOPE.fullmatch(scope)
            if match is None:
                continue
            access = match["access"]
            letters = _V1.get(access, access if set(access) <= set("cruds") else "")
            grants.append((match["type"], frozenset(letters)))
        return cls(text, tuple(grants))

    def allows(self, resource_type: str, letter: str) -> bool:
        """Whether ``letter`` (c, r, u, d or s) on ``resource_type`` is granted."""
        return any(
            kind in {"*", resource_type} and letter in letters for kind, letters in self.grants
        )


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """A backend client: its id, the public keys it signs with, the scopes it may get."""

    client_id: str
    jwks: dict[str, Any]
    scope: str


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Who may call the sandbox, read from JSON (see the module docstring)."""

    bearer_tokens: dict[str, str] = field(default_factory=dict)
    clients: tuple[ClientRegistration, ...] = ()
    token_lifetime_seconds: int = 300
    token_url: str | None = None  # the assertions' aud (default: the server's public URL)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthConfig:
        """The configuration in ``data``; ConfigurationError when it is malformed."""
        tokens = data.get("bearer_tokens") or {}
        clients = data.get("clients") or []
        if not isinstance(tokens, dict) or not isinstance(clients, list):
            raise ConfigurationError("bearer_tokens must be an object and clients a list")
        registrations = []
        for client in clients:
            if not isinstance(client, dict) or not isinstance(client.get("client_id"), str):
                raise ConfigurationError("every client needs a client_id")
            jwks = client.get("jwks")
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise ConfigurationError(f"client {client['client_id']!r} needs a jwks with keys")
            registrations.append(
                ClientRegistration(client["client_id"], jwks, str(client.get("scope", "")))
            )
        lifetime = int(data.get("token_lifetime_seconds", 300))
        if lifetime <= 0:
            raise ConfigurationError("token_lifetime_seconds must be positive")
        token_url = data.get("token_url")
        if token_url is not None and not isinstance(token_url, str):
            raise ConfigurationError("token_url must be a URL")
        return cls(
            {str(k): str(v) for k, v in tokens.items()}, tuple(registrations), lifetime, token_url
        )

    def scopes_supported(self) -> list[str]:
        """Every scope some client or token may hold, for the SMART configuration."""
        found: dict[str, None] = {}
        for text in [*self.bearer_tokens.values(), *(c.scope for c in self.clients)]:
            found.update(dict.fromkeys(text.split()))
        return list(found)


def load_auth_config(path: Path) -> AuthConfig:
    """Read an auth configuration file; ConfigurationError when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read an auth configuration ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: an auth configuration is a JSON object")
    return AuthConfig.from_json(data)


class TokenService:
    """Issues and checks access tokens for one :class:`AuthConfig`."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self._clients = {client.client_id: client for client in config.clients}
        self._issued: dict[str, tuple[Scopes, float]] = {}
        self._seen_jti: dict[str, float] = {}
        self._lock = threading.Lock()
        self._static = {token: Scopes.parse(text) for token, text in config.bearer_tokens.items()}

    def scopes_for(self, token: str) -> Scopes | None:
        """The scopes of a valid token, or None (unknown or expired)."""
        static = self._static.get(token)
        if static is not None:
            return static
        with self._lock:
            issued = self._issued.get(token)
            if issued is None:
                return None
            if issued[1] <= time.time():
                del self._issued[token]
                return None
            return issued[0]

    def issue(self, form: dict[str, str], *, token_url: str) -> dict[str, Any]:
        """Answer a client_credentials request; raises :class:`TokenError` when refused."""
        if form.get("grant_type") != "client_credentials":
            raise TokenError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            raise TokenError(400, "invalid_request", "client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion")
        if not assertion:
            raise TokenError(400, "invalid_request", "client_assertion is required")
        client = self._verify(assertion, token_url=token_url)
        registered = client.scope.split()
        requested = form.get("scope", "").split()
        granted = [scope for scope in requested if scope in registered]
        if not granted:
            raise TokenError(400, "invalid_scope", "none of the requested scopes is allowed")
        scope = " ".join(granted)
        token = secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime_seconds
        with self._lock:
            self._issued[token] = (Scopes.parse(scope), time.time() + lifetime)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "scope": scope,
        }

    def _verify(self, assertion: str, *, token_url: str) -> ClientRegistration:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenError(401, "invalid_client", f"the assertion is not a JWT ({exc})") from exc
        client = self._clients.get(str(unverified.get("iss", "")))
        if client is None:
            raise TokenError(401, "invalid_client", "the assertion's iss is not a known client")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenError(401, "invalid_client", f"alg must be one of {', '.join(ALGORITHMS)}")
        keys = [
            k
            for k in client.jwks["keys"]
            if isinstance(k, dict) and k.get("kid") == header.get("kid")
        ]
        if not keys:
            raise TokenError(
                401, "invalid_client", "the assertion's kid is not in the client's JWKS"
            )
        try:
            key = jwt.PyJWK(keys[0], algorithm=algorithm)
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=[algorithm],
                audience=token_url,
                issuer=client.client_id,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                leeway=_CLOCK_SKEW_SECONDS,
            )
        except jwt.PyJWTError as exc:
            raise TokenError(401, "invalid_client", f"the assertion is refused ({exc})") from exc
        now = time.time()
        if claims["sub"] != client.client_id:
            raise TokenError(401, "invalid_client", "the assertion's sub must be the client_id")
        if float(claims["exp"]) > now + MAX_ASSERTION_LIFETIME_SECONDS + _CLOCK_SKEW_SECONDS:
            raise TokenError(
                401, "invalid_client", "the assertion's exp is more than 5 minutes ahead"
            )
        jti = f"{client.client_id}\x00{claims['jti']}"
        with self._lock:
            self._seen_jti = {k: v for k, v in self._seen_jti.items() if v > now}
            if jti in self._seen_jti:
                raise TokenError(401, "invalid_client", "the assertion's jti has been used before")
            self._seen_jti[jti] = float(claims["exp"]) + _CLOCK_SKEW_SECONDS
        return client
