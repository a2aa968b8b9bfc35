"""R4 Subscriptions with a rest-hook channel: tell an endpoint when a matching resource is written.

A Subscription resource stored in the sandbox with ``status`` requested or active,
``channel.type`` rest-hook and ``criteria`` such as ``Encounter?status=finished`` is live.
After each commit, every written resource of the criteria's type that the criteria match
(evaluated in memory by :mod:`sandbox.matching`, not by a search per commit) is delivered:
with ``channel.payload`` set, ``PUT {endpoint}/{type}/{id}`` with the resource; without,
an empty ``POST {endpoint}``; ``channel.header`` values are sent as given. Deliveries run
on the server's event loop (through :mod:`sandbox.delivery`), so a write's answer never
waits for them. A failed delivery is retried (:data:`RETRY_DELAYS`); when every try fails,
the Subscription is updated to ``status: error`` with the reason in ``error``, and a later
success makes it ``active`` again. Nothing about the resources is logged. Subscriptions to
the Backport IG's ``encounter-complete`` topic are served by :mod:`sandbox.topics` through
the same channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson

from sandbox.criteria import Criterion
from sandbox.delivery import Courier, DeliveryError, courier_for
from sandbox.matching import matches
from sandbox.problems import FhirRequestError
from sandbox.search import parse_search
from sandbox.store import Store, StoredResource
from sandbox.topics import (
    TopicLog,
    completes_encounter,
    filter_criteria,
    is_encounter_complete,
    notification_bundle,
)

__all__ = ["RETRY_DELAYS", "SubscriptionNotifier"]

RETRY_DELAYS = (0.0, 0.2, 0.5, 1.0)
"""Seconds to wait before each try: four tries over ~2 s."""
_LIVE = frozenset({"requested", "active", "error"})


def _headers(channel: dict[str, Any], *, payload: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in channel.get("header") or []:
        name, _, value = str(line).partition(":")
        if name.strip() and value.strip():
            headers[name.strip()] = value.strip()
    if payload:
        headers["Content-Type"] = payload
    return headers


@lru_cache(maxsize=256)
def _criteria(text: str) -> tuple[str, tuple[Criterion, ...]] | None:
    """``Type?query`` parsed once: its type and criteria; None when it cannot be evaluated."""
    resource_type, _, query = text.partition("?")
    try:
        parsed = parse_search(resource_type, parse_qsl(query), fhir_base="")
    except FhirRequestError:
        return None  # criteria the sandbox cannot evaluate match nothing
    return resource_type, parsed.criteria


def _matching(criteria: str, written: list[StoredResource]) -> list[StoredResource]:
    """The written resources that ``criteria`` (``Type?query``) matches, checked in memory."""
    parsed = _criteria(criteria)
    if parsed is None:
        return []
    resource_type, found = parsed
    return [w for w in written if w.resource_type == resource_type and matches(w, found)]


class SubscriptionNotifier:
    """Watches a store's commits and delivers rest-hook notifications."""

    def __init__(self, store: Store, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self._transport = transport
        self._courier: Courier | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._cache: tuple[int, list[dict[str, Any]]] | None = None
        self.topics = TopicLog()
        store.add_write_listener(self._on_commit)

    def _on_commit(self, written: list[StoredResource]) -> None:
        """Find the deliveries a commit owes and schedule them; quick, with the lock held."""
        candidates = [w for w in written if w.resource_type != "Subscription"]
        if not candidates:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a write outside the server (the seeder, a loader): nobody to notify
        for subscription in self._live():
            if is_encounter_complete(subscription):
                self._topic_events(loop, subscription, candidates)
                continue
            for stored in _matching(str(subscription.get("criteria", "")), candidates):
                self._schedule(loop, self._deliver(subscription, stored))

    def _schedule(
        self, loop: asyncio.AbstractEventLoop, delivery: Coroutine[Any, Any, None]
    ) -> None:
        task = loop.create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _topic_events(
        self,
        loop: asyncio.AbstractEventLoop,
        subscription: dict[str, Any],
        written: list[StoredResource],
    ) -> None:
        """Record and send an ``encounter-complete`` event per Encounter this commit finished."""
        finished = [w for w in written if completes_encounter(self.store, w)]
        narrowing = filter_criteria(subscription)
        if finished and narrowing:
            finished = _matching(narrowing, finished)
        for stored in finished:
            event = self.topics.record(str(subscription["id"]), stored.reference)
            bundle = notification_bundle(
                subscription,
                kind="event-notification",
                total=event.number,
                events=[event],
                focus={stored.reference: stored.resource},
            )
            self._schedule(loop, self._deliver_bundle(subscription, bundle))

    def _live(self) -> list[dict[str, Any]]:
        """The live Subscriptions, re-read only when a Subscription has changed."""
        key = self.store.changes("Subscription")
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        page = self.store.search("Subscription", (), count=1000)
        live = []
        for stored in page.resources:
            subscription = stored.resource
            channel = subscription.get("channel") or {}
            if subscription.get("status") in _LIVE and channel.get("type") == "rest-hook":
                live.append(subscription)
        self._cache = (key, live)
        return live

    async def _deliver(self, subscription: dict[str, Any], stored: StoredResource) -> None:
        channel = subscription.get("channel") or {}
        endpoint = str(channel.get("endpoint", "")).rstrip("/")
        if channel.get("payload"):
            url, method, content = f"{endpoint}/{stored.reference}", "PUT", stored.json
        else:
            url, method, content = endpoint, "POST", b""
        await self._send(subscription, method, url, content)

    async def _deliver_bundle(self, subscription: dict[str, Any], bundle: dict[str, Any]) -> None:
        channel = subscription.get("channel") or {}
        endpoint = str(channel.get("endpoint", "")).rstrip("/")
        await self._send(subscription, "POST", endpoint, orjson.dumps(bundle))

    async def _send(
        self, subscription: dict[str, Any], method: str, url: str, content: bytes
    ) -> None:
        """Deliver with retries; record the outcome on the Subscription."""
        channel = subscription.get("channel") or {}
        headers = _headers(channel, payload=channel.get("payload") if content else None)
        if self._courier is None:
            self._courier = courier_for(self._transport)
        error = ""
        for delay in RETRY_DELAYS:
            if delay:
                await asyncio.sleep(delay)
            try:
                status = await self._courier.send(method, url, content, headers)
            except DeliveryError as exc:
                error = str(exc)
                continue
            if 200 <= status < 300:
                self._record(subscription, status="active", error=None)
                return
            error = f"the endpoint answered HTTP {status}"
        self._record(subscription, status="error", error=f"{error} after {len(RETRY_DELAYS)} tries")

    def _record(self, subscription: dict[str, Any], *, status: str, error: str | None) -> None:
        """Write the delivery outcome onto the Subscription, when it changes."""
        known = next((s for s in self._live() if s.get("id") == subscription.get("id")), None)
        if known is not None and known.get("status") == status and known.get("error") == error:
            return  # the usual case, answered from the cache without reading the store
        current = self.store.read("Subscription", str(subscription.get("id")))
        if current is None:
            return
        resource = current.resource
        if resource.get("status") == status and resource.get("error") == error:
            return
        resource["status"] = status
        if error is None:
            resource.pop("error", None)
        else:
            resource["error"] = error
        self.store.update(current.resource_id, resource)

    async def aclose(self) -> None:
        """Wait for deliveries under way, then close the HTTP client."""
        while self._tasks:  # a delivery may start another (a retry): wait until none is left
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._courier is not None:
            await self._courier.aclose()

    def pending(self) -> int:
        """How many deliveries are under way (for tests)."""
        return len(self._tasks)
