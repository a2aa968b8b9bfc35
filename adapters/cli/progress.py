"""The one-line progress of ``run`` and ``watch --once``, on a terminal only.

A carriage return keeps the counts on one line where a person watches; a log captured by a
service manager or a pipe would get hundreds of lines instead, so the line is drawn only
when stderr is a terminal (and never with ``--quiet`` or ``--json``). Redrawn at most ten
times a second: counting the ledger after every job of a fast run costs more than it shows.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.pipeline import EncounterResult

__all__ = ["Progress"]

_REDRAW_SECONDS = 0.1


@dataclass(slots=True)
class Progress:
    """Counts of the ledger's jobs, redrawn on one terminal line after jobs finish."""

    ledger: JobLedger
    source: str
    enabled: bool = True
    stream: TextIO | None = None
    shown: int = 0
    _last: float = 0.0

    def __post_init__(self) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        self.stream = stream
        self.enabled = self.enabled and stream.isatty()

    def __call__(self, job: Job, result: EncounterResult | None, state: JobState) -> None:
        """Show the counts after a finished job (at most every tenth of a second)."""
        del job, result, state
        now = time.monotonic()
        if not self.enabled or now - self._last < _REDRAW_SECONDS:
            return
        self._last = now
        self._draw()

    def _draw(self) -> None:
        assert self.stream is not None  # noqa: S101 - set in __post_init__
        self.shown += 1
        counts = self.ledger.counts()
        waiting = counts[JobState.QUEUED] + counts[JobState.RUNNING]
        self.stream.write(
            f"\rfhir-coder: {counts[JobState.DONE]} done, {counts[JobState.HELD]} held, "
            f"{counts[JobState.FAILED] + counts[JobState.PARKED]} failed, {waiting} waiting"
        )
        self.stream.flush()

    def end(self) -> None:
        """Draw the final counts and end the line."""
        if self.enabled and self.stream is not None:
            self._draw()
            self.stream.write("\n")
