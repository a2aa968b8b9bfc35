"""Stopping a long-running command gracefully on SIGTERM or SIGINT.

A service manager (systemd, Kubernetes) stops a process with SIGTERM and kills it a
while later; Ctrl-C sends SIGINT. Either sets one event the command's workers watch: each
finishes the encounter it is on (or hands it back to the queue after its grace), the
ledgers are closed, and the command exits with the shell's code for the signal (128 + n).
"""

from __future__ import annotations

import asyncio
import signal
from types import TracebackType
from typing import Self

__all__ = ["STOP_SIGNALS", "GracefulStop"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    """``async with GracefulStop() as stop:`` sets ``stop.event`` on SIGTERM or SIGINT."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal: signal.Signals | None = None

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._stop, signum)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)

    def _stop(self, signum: signal.Signals) -> None:
        self.signal = signum
        self.event.set()

    @property
    def stopped(self) -> bool:
        """Whether a signal asked the command to stop."""
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process a signal ended."""
        return 128 + int(self.signal) if self.signal is not None else 0
