"""Running one tried check: timed, its round trips counted, its exchanges kept.

Each step is a coroutine that returns how it went; a typed error from the client becomes
a failed check that carries the server's words (the client puts the OperationOutcome text
in the message) and the exchanges in short. Only typed errors are caught: anything else
is a bug in the probe, and shows as one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.fhir.client import count_round_trips
from adapters.probe.model import Check, Status
from adapters.probe.recorder import recording
from fhir_coder.errors import FhirCoderError

__all__ = ["MAX_EXCHANGES", "Outcome", "not_applicable", "run_step"]

MAX_EXCHANGES = 4
"""Exchanges kept per check: the last ones, where a failure shows."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a step went, when it went through without an error."""

    status: Status
    detail: str
    consequence: str = ""


def not_applicable(id_: str, title: str, why: str, *, required: bool = False) -> Check:
    """A check that was not tried, and why."""
    return Check(id_, title, Status.NOT_APPLICABLE, why, required=required)


async def run_step(
    id_: str,
    title: str,
    step: Callable[[], Awaitable[Outcome]],
    *,
    required: bool,
    consequence: str,
) -> Check:
    """Run ``step`` as the check ``id_``; ``consequence`` is what a failure means."""
    started = time.perf_counter()
    with recording() as exchanges, count_round_trips() as trips:
        try:
            outcome = await step()
        except FhirCoderError as exc:
            outcome = Outcome(Status.FAIL if required else Status.LIMITED, str(exc), consequence)
    status = outcome.status
    if status is Status.FAIL and not required:
        status = Status.LIMITED
    return Check(
        id_,
        title,
        status,
        outcome.detail,
        outcome.consequence if status is not Status.PASS else "",
        required=required,
        seconds=time.perf_counter() - started,
        round_trips=trips.count,
        exchanges=tuple(exchanges[-MAX_EXCHANGES:]),
    )
