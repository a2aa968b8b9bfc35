"""Fault injection: make the sandbox misbehave the way real servers do, on purpose.

Off by default. When configured (``--fault-*`` flags, or the ``FHIR_CODER_SANDBOX_FAULTS``
environment variable holding the same settings as JSON), requests may be delayed
(``latency_ms``), and a share of them (``rate``, or every request whose path contains one of
``paths``) fails in one of the chosen ways: ``429`` (with ``Retry-After``), ``503``, or
``drop`` (the response is cut short and the connection closed, as a crashed proxy does).
``/metadata`` and the SMART discovery document are never faulted, so a client can always
find out what the server is. A ``seed`` makes the sequence of faults repeatable.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome

__all__ = ["ENV_VAR", "FAULT_KINDS", "FaultConfig", "FaultMiddleware", "faults_from_env"]

ENV_VAR = "FHIR_CODER_SANDBOX_FAULTS"
FAULT_KINDS = ("429", "503", "drop")
_SPARED = ("/metadata", "/.well-known/smart-configuration")


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to inject; see the module docstring."""

    latency_ms: float = 0.0
    rate: float = 0.0
    kinds: tuple[str, ...] = ("503",)
    paths: tuple[str, ...] = ()
    retry_after_seconds: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ConfigurationError(f"fault rate must be between 0 and 1, not {self.rate}")
        if self.latency_ms < 0:
            raise ConfigurationError("fault latency must not be negative")
        unknown = [kind for kind in self.kinds if kind not in FAULT_KINDS]
        if unknown or not self.kinds:
            raise ConfigurationError(f"fault kinds must be among {', '.join(FAULT_KINDS)}")

    @property
    def active(self) -> bool:
        """Whether anything is injected at all."""
        return self.latency_ms > 0 or self.rate > 0 or bool(self.paths)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        """Settings from JSON (``{"rate": 0.2, "kinds": ["429"], ...}``)."""
        try:
            return cls(
                latency_ms=float(data.get("latency_ms", 0)),
                rate=float(data.get("rate", 0)),
                kinds=tuple(str(k) for k in data.get("kinds", ["503"])),
                paths=tuple(str(p) for p in data.get("paths", [])),
                retry_after_seconds=int(data.get("retry_after_seconds", 1)),
                seed=None if data.get("seed") is None else int(data["seed"]),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"bad fault settings: {exc}") from exc


def faults_from_env() -> FaultConfig | None:
    """The settings in ``FHIR_CODER_SANDBOX_FAULTS``, or None when it is unset."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{ENV_VAR} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{ENV_VAR} must hold a JSON object")
    return FaultConfig.from_json(data)


def _outcome_body(status: int) -> bytes:
    code = IssueCode.THROTTLED if status == 429 else IssueCode.EXCEPTION
    issue = Issue(severity=Severity.ERROR, code=code, message=f"Injected fault: HTTP {status}")
    return json.dumps(operation_outcome(issue)).encode()


class FaultMiddleware:
    """Delay and fail requests as a :class:`FaultConfig` says."""

    def __init__(self, app: ASGIApp, config: FaultConfig) -> None:
        self.app = app
        self.config = config
        self.random = random.Random(config.seed)  # noqa: S311 - test faults, not security

    def _fault(self, path: str) -> str | None:
        if path.rstrip("/").endswith(_SPARED):
            return None
        if self.config.paths:
            named = any(fragment in path for fragment in self.config.paths)
            if not named:
                return None
            if self.config.rate == 0:
                return self.random.choice(self.config.kinds)
        if self.config.rate > 0 and self.random.random() < self.config.rate:
            return self.random.choice(self.config.kinds)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, perhaps late, perhaps not at all."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000)
        kind = self._fault(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "drop":
            await _drop(send)
        else:
            await self._fail(int(kind), send)

    async def _fail(self, status: int, send: Send) -> None:
        body = _outcome_body(status)
        headers = [
            (b"content-type", b"application/fhir+json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status in {429, 503}:
            headers.append((b"retry-after", str(self.config.retry_after_seconds).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Promise a body, send part of it, and stop: the server then closes the connection."""
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/fhir+json"), (b"content-length", b"1000")],
    }
    await send(start)
    await send({"type": "http.response.body", "body": b'{"resourceType":', "more_body": True})
    # Returning now leaves the response incomplete; the server closes the connection.
