"""From a trigger to the ledger: enqueue, wake the workers, and recover missed events.

Every route of the service ends here and nothing here processes an encounter: the
notification's answer waits only for a SQLite insert, made in a thread so that the event
loop (every other request, the workers) never waits on the ledger's lock or its disk.
Recoveries that need the FHIR server (a re-query for a notification without payload,
``$events`` after a gap in a backport Subscription's event numbers) run as background tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from adapters.fhir.client import FhirClient
from adapters.jobs.doorbell import Doorbell
from adapters.jobs.ledger import Enqueued, JobLedger
from adapters.jobs.polling import poll_once
from adapters.service.backport import Notification, read_notification
from adapters.service.metrics import ServiceMetrics
from fhir_coder.errors import FhirError

__all__ = ["Intake"]

_log = logging.getLogger(__name__)


class Intake:
    """Enqueues for one source server; ``fhir`` (optional) is used to recover and re-query."""

    def __init__(
        self,
        ledger: JobLedger,
        source: str,
        metrics: ServiceMetrics,
        *,
        fhir: FhirClient | None = None,
        wake: Doorbell | None = None,
        overlap_seconds: float = 120.0,
    ) -> None:
        self.ledger = ledger
        self.source = source
        self.metrics = metrics
        self.fhir = fhir
        self.wake = wake
        self.overlap_seconds = overlap_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._polling = False  # one re-query at a time, however many notifications ask
        self._poll_again: str | None = None  # the trigger of a re-query asked for meanwhile

    async def accept(
        self, encounter_id: str, version: str, trigger: str, *, patient: str = ""
    ) -> Enqueued:
        """Queue one encounter (idempotent) and wake the workers.

        ``patient``: the subject's id when the trigger carried it (a gathering hint).
        """
        said = await asyncio.to_thread(
            self.ledger.enqueue,
            self.source,
            encounter_id,
            version,
            trigger=trigger,
            patient=patient,
        )
        self.metrics.notifications.labels(trigger=trigger, result=said.value).inc()
        if said is Enqueued.QUEUED and self.wake is not None:
            self.wake.ring()
        return said

    def requery(self, trigger: str) -> bool:
        """Look for finished encounters on the server (in the background); False if we cannot."""
        if self.fhir is None:
            return False
        self.metrics.notifications.labels(trigger=trigger, result="requery").inc()
        self._requery(trigger)
        return True

    def _requery(self, trigger: str) -> None:
        """Start a re-query, or, while one runs, ask for one more after it (never two at once).

        Every empty notification asks the server to search; a burst of them (or a stranger
        with the token) must not become a burst of searches. What changed while a search
        ran is found by the one run after it.
        """
        if self._polling:
            self._poll_again = trigger
            return
        self._polling = True
        self._background(self._polls(trigger))

    async def _polls(self, trigger: str) -> None:
        try:
            await self._poll(trigger)
            while self._poll_again is not None:
                again, self._poll_again = self._poll_again, None
                await self._poll(again)
        finally:
            self._polling = False

    async def backport(self, bundle: dict[str, Any]) -> Notification | None:
        """Take a backport notification: queue its focus, and recover any events missed."""
        notification = read_notification(bundle)
        if notification is None:
            return None
        trigger = f"backport-{notification.kind or 'unknown'}"
        for focus in notification.focus:
            await self.accept(focus.encounter_id, focus.version, trigger, patient=focus.patient)
        await self._check_gap(notification)
        return notification

    async def _check_gap(self, notification: Notification) -> None:
        """Compare the event numbers with the last one seen; recover the ones missing."""
        if not notification.subscription or notification.kind == "handshake":
            return
        name = f"backport:{self.source}:{notification.subscription}"
        stored = await asyncio.to_thread(self.ledger.checkpoint, name)
        last = int(stored or "0")
        numbers = sorted(notification.event_numbers)
        newest = max([*numbers, notification.events_since_start or 0])
        if newest < last:  # the server's count started again (a restart): look again
            await asyncio.to_thread(self.ledger.set_checkpoint, name, str(newest))
            self.metrics.notifications.labels(trigger="backport", result="reset").inc()
            self._requery("backport-recovery")
            return
        expected_first = last + 1
        first = numbers[0] if numbers else newest + 1
        if first > expected_first and newest >= expected_first:
            until = first - 1 if numbers else newest
            self.metrics.notifications.labels(trigger="backport", result="gap").inc()
            self._background(self._recover(notification.subscription, expected_first, until))
        if newest > last:
            await asyncio.to_thread(self.ledger.set_checkpoint, name, str(newest))

    async def _recover(self, subscription: str, since: int, until: int) -> None:
        """Ask ``$events`` for the missed numbers; when that fails, re-query instead."""
        if self.fhir is None:
            return
        try:
            _, body = await self.fhir.request(
                "GET",
                f"Subscription/{subscription}/$events",
                params={"eventsSinceNumber": str(since), "eventsUntilNumber": str(until)},
            )
        except FhirError as exc:
            _log.warning("$events failed (%s); re-querying instead", type(exc).__name__)
            self._requery("backport-recovery")
            return
        recovered = read_notification(body or {})
        if recovered is None or not recovered.focus:
            self._requery("backport-recovery")
            return
        for focus in recovered.focus:
            await self.accept(focus.encounter_id, focus.version, "backport-recovery")

    async def _poll(self, trigger: str) -> None:
        if self.fhir is None:
            return
        try:
            found = await poll_once(
                self.fhir,
                self.ledger,
                self.source,
                overlap_seconds=self.overlap_seconds,
                trigger=trigger,
            )
        except FhirError as exc:
            _log.warning("re-query failed: %s", type(exc).__name__)
            return
        if found.queued and self.wake is not None:
            self.wake.ring(found.queued)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Wait for recoveries under way."""
        while self._tasks:  # a recovery may start a re-query as it ends
            await asyncio.gather(*self._tasks, return_exceptions=True)
