"""How workers behave: concurrency, rate, attempts, leases (kept apart so settings load light)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkerSettings"]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the workers behave."""

    concurrency: int = 4
    rate_per_second: float = 0.0  # per source server; 0: no limit
    burst: int = 4
    max_attempts: int = 5
    lease_seconds: float = 120.0
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    idle_poll_seconds: float = 1.0
    grace_seconds: float = 30.0  # a graceful stop waits this long for jobs in flight
