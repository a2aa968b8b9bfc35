"""The probe's findings as data: checks with a status, a consequence, and what was sent.

A check is about one need of the plugin (``Condition?encounter=`` works, Claims can be
written...). ``required`` needs decide the exit code; the others degrade the plugin
gracefully (no batches: more round trips), so they are shown as ``limited`` rather than
failed. Every text here is already free of secrets and patient data: the recorder
(:mod:`adapters.probe.recorder`) keeps no header and no query value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Check", "Exchange", "ProbeReport", "Status"]


class Status(StrEnum):
    """How one check ended."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    LIMITED = "limited"  # missing or broken, and the plugin works around it
    FAIL = "fail"  # a need of the plugin does not work here
    NOT_APPLICABLE = "n/a"  # not tried: nothing to try it on, or not asked for


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request in short: method, path with parameter names only, and the answer."""

    method: str
    url: str
    status: int | None
    answer: str  # "HTTP 403 application/fhir+json" or "timed out"

    def line(self) -> str:
        """``GET /Condition?encounter=… -> HTTP 200 application/fhir+json``."""
        return f"{self.method} {self.url} -> {self.answer}"

    def as_json(self) -> dict[str, Any]:
        """The exchange as JSON."""
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "answer": self.answer,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One need of the plugin, checked against what the server declares or does."""

    id: str
    title: str
    status: Status
    detail: str = ""
    consequence: str = ""  # what it means for the plugin, and the fix when there is one
    required: bool = False
    declared: bool = False  # read from /metadata, not tried
    seconds: float | None = None
    round_trips: int | None = None
    exchanges: tuple[Exchange, ...] = ()

    @property
    def blocking(self) -> bool:
        """Whether this check makes the probe's verdict a failure."""
        return self.status is Status.FAIL

    def as_json(self) -> dict[str, Any]:
        """The check as JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "kind": "declared" if self.declared else "tried",
            "required": self.required,
            "detail": self.detail,
            "consequence": self.consequence,
            "seconds": None if self.seconds is None else round(self.seconds, 4),
            "round_trips": self.round_trips,
            "exchanges": [exchange.as_json() for exchange in self.exchanges],
        }


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Everything one probe found about one server."""

    server: str
    checks: tuple[Check, ...]
    software: str = ""
    fhir_version: str = ""
    profile: str = "generic"
    profile_reason: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    limits: tuple[str, ...] = ()
    wrote: bool = False
    unreachable: str = ""  # why the server could not be probed at all
    exit_code: int = 0

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(check for check in self.checks if check.blocking)

    @property
    def untried(self) -> tuple[Check, ...]:
        """Required checks that could not be tried (no encounter to try them on)."""
        return tuple(c for c in self.checks if c.required and c.status is Status.NOT_APPLICABLE)

    @property
    def verdict(self) -> str:
        """One sentence that says whether the plugin can work against this server."""
        if self.unreachable:
            return f"cannot be probed: {self.unreachable}"
        failed = self.failures
        limited = sum(1 for check in self.checks if check.status is Status.LIMITED)
        untried = self.untried
        parts = []
        if failed:
            names = ", ".join(check.title for check in failed)
            parts.append(f"{len(failed)} need(s) of the plugin fail here: {names}")
        if untried:
            parts.append(
                f"{len(untried)} need(s) could not be tried: name a finished encounter "
                "with --encounter ID"
            )
        if parts:
            return "; ".join(parts)
        tail = f", with {limited} limit(s) the plugin works around" if limited else ""
        return f"every need of the plugin works here{tail}"

    def as_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "server": self.server,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "software": self.software,
            "fhir_version": self.fhir_version,
            "profile": self.profile,
            "profile_reason": self.profile_reason,
            "settings": dict(self.settings),
            "limits": list(self.limits),
            "wrote": self.wrote,
            "checks": [check.as_json() for check in self.checks],
        }
