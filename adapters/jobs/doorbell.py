"""Waking idle workers one per queued job.

An ``asyncio.Event`` woke every idle worker for each notification, and each of them then
asked the ledger for a job (a SQLite write transaction) that only one could get: with 16
workers, 15 wasted claims per encounter, about a tenth of ``serve``'s CPU. The bell wakes
as many workers as there are new jobs; a ring when nobody waits is dropped, because a
worker that is busy asks the ledger again as soon as it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["Doorbell"]


class Doorbell:
    """Idle workers wait here; each ring wakes one of them, oldest first."""

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()

    def ring(self, times: int = 1) -> None:
        """Wake up to ``times`` idle workers."""
        while times > 0 and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                times -= 1

    def ring_all(self) -> None:
        """Wake every idle worker (to stop, or to look again)."""
        self.ring(len(self._waiting))

    async def wait(self, at_most: float) -> None:
        """Until a ring, or ``at_most`` seconds."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, at_most)
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiter)
