"""When to send a failed request again, and how long to wait first.

Servers under load answer 429 or 503 and often say when to come back (``Retry-After`` in
seconds or as an HTTP date; Microsoft's FHIR service also sends ``x-ms-retry-after-ms``).
A client that retries at once, or all its tasks in step, makes the overload worse: waits
grow exponentially with full jitter, honour the server's hint, and stop when a per-request
time budget is spent. A request is repeated only when repeating it cannot do a thing twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRY_STATUSES", "RetryPolicy", "is_idempotent", "server_delay"]

RETRY_STATUSES = frozenset({429, 503})
"""Statuses that mean "not now" rather than "not this": the request may succeed later."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times, and for how long in all, one request may be tried.

    ``attempts`` counts the first try. ``budget`` caps the seconds spent waiting between
    tries: a server asking for more than what is left gets an error now rather than a
    caller blocked for minutes. ``RetryPolicy.none()`` turns retrying off. ``sleep`` is
    how waiting is done: tests pass a recorder instead of waiting for real.
    """

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    budget: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries (tests of a single failure, interactive tools)."""
        return cls(attempts=1, budget=0.0)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): full jitter.

        A random wait up to the exponential cap spreads clients that failed together
        (AWS's "full jitter"), instead of sending them back in a synchronised wave.
        """
        cap = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return random.uniform(0.0, cap)  # noqa: S311 - jitter, not cryptography


def server_delay(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait the server asked for, in seconds, or None when it named none.

    ``x-ms-retry-after-ms`` is preferred when present, being the more precise; a
    ``Retry-After`` date in the past means "now" (zero).
    """
    millis = headers.get("x-ms-retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_idempotent(method: str, path: str, headers: Mapping[str, str]) -> bool:
    """Whether sending this request twice has the effect of sending it once.

    ``path`` is relative to the server's base URL (``Claim/1``). Reads and deletes are
    idempotent. A PUT to ``Type/id`` is (the same content lands on the same id); a
    conditional create (``If-None-Exist``) is (the second finds the first). A plain POST,
    a transaction, a conditional update or an operation is not: it could act twice.
    """
    verb = method.upper()
    if verb in _SAFE_METHODS:
        return True
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    if verb == "PUT":
        return (
            "?" not in path
            and len(segments) == 2
            and segments[0][:1].isupper()
            and not segments[1].startswith("$")
        )
    if verb == "POST":
        return "if-none-exist" in {k.lower() for k in headers}
    return False
