"""R4 Subscriptions with a rest-hook channel: tell an endpoint when a matching resource is written.

A Subscription resource stored in the sandbox with ``status`` requested or active,
``channel.type`` rest-hook and ``criteria`` such as ``Encounter?status=finished`` is live.
After each commit, every written resource of the criteria's type that the criteria match
is delivered: with ``channel.payload`` set, ``PUT {endpoint}/{type}/{id}`` with the resource;
without, an empty ``POST {endpoint}``; ``channel.header`` values are sent as given.
Deliveries run on the server's event loop, so a write's answer never waits for them. A
failed delivery is retried (:data:`RETRY_DELAYS`); when every try fails, the Subscription
is updated to ``status: error`` with the reason in ``error``, and a later success makes it
``active`` again. Nothing about the resources is logged. Subscriptions to the Backport IG's
``encounter-complete`` topic are served by :mod:`sandbox.topics` through the same channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson

from sandbox.criteria import IdCriterion
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
_TIMEOUT = httpx.Timeout(5.0)


def _fast_transport() -> httpx.AsyncBaseTransport:
    """The aiohttp transport: httpx's own spent a third of the sandbox's CPU on notifications."""
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - only once a Subscription fires

    return AiohttpTransport()


def _headers(channel: dict[str, Any], *, payload: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in channel.get("header") or []:
        name, _, value = str(line).partition(":")
        if name.strip() and value.strip():
            headers[name.strip()] = value.strip()
    if payload:
        headers["Content-Type"] = payload
    return headers


class SubscriptionNotifier:
    """Watches a store's commits and delivers rest-hook notifications."""

    def __init__(self, store: Store, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._cache: tuple[tuple[int, str], list[dict[str, Any]]] | None = None
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
            for stored in self._matches(subscription, candidates):
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
            finished = self._matches({**subscription, "criteria": narrowing}, finished)
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
        key = self.store.history_mark("Subscription")
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

    def _matches(
        self, subscription: dict[str, Any], written: list[StoredResource]
    ) -> list[StoredResource]:
        resource_type, _, query = str(subscription.get("criteria", "")).partition("?")
        of_type = [w for w in written if w.resource_type == resource_type]
        if not of_type:
            return []
        try:
            parsed = parse_search(resource_type, parse_qsl(query), fhir_base="")
        except FhirRequestError:
            return []  # criteria the sandbox cannot evaluate match nothing
        ids = IdCriterion(tuple(w.resource_id for w in of_type))
        page = self.store.search(resource_type, (*parsed.criteria, ids), count=len(of_type))
        matched = {stored.resource_id for stored in page.resources}
        return [w for w in of_type if w.resource_id in matched]

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
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport or _fast_transport(), timeout=_TIMEOUT
            )
        error = ""
        for delay in RETRY_DELAYS:
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self._client.request(method, url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                error = f"delivery failed: {type(exc).__name__}"
                continue
            if response.is_success:
                self._record(subscription, status="active", error=None)
                return
            error = f"the endpoint answered HTTP {response.status_code}"
        self._record(subscription, status="error", error=f"{error} after {len(RETRY_DELAYS)} tries")

    def _record(self, subscription: dict[str, Any], *, status: str, error: str | None) -> None:
        """Write the delivery outcome onto the Subscription, when it changes."""
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
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def pending(self) -> int:
        """How many deliveries are under way (for tests)."""
        return len(self._tasks)
