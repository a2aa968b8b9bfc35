"""A per-server rate limit: a token bucket, so a burst of notifications cannot flood the EHR.

Workers share one bucket per source server; each encounter takes one token before it is
gathered. ``rate`` tokens come back per second, up to ``burst`` in hand.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["RateLimit"]


class RateLimit:
    """At most ``rate`` encounters a second on average, ``burst`` at once; 0 means no limit."""

    def __init__(self, rate: float, *, burst: int = 1) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for a token."""
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)
