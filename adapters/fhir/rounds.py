"""Rounds of requests for gathering: one batch Bundle, or concurrent requests, per round.

A :class:`GatherSession` holds what gathering keeps for one run against one server: the
strategy (batch or not, include or not, decided once from ``/metadata`` and the vendor
profile) and the :class:`~adapters.fhir.references.ReferenceCache`. :func:`run_round` sends one
round: requests answered by name, and fetches answered into the cache, each key asked for
once however many encounters want it at the same moment.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from adapters.fhir.batch import batch_get
from adapters.fhir.client import FhirClient, matches
from adapters.fhir.profiles import Strategy, choose_strategy, detect_profile
from adapters.fhir.references import Fetch, ReferenceCache, Unresolvable, resource_key
from fhir_coder.errors import FhirError, FhirResponseError

__all__ = [
    "GatherSession",
    "ReadAlong",
    "as_literal",
    "fetch_plain",
    "resolved",
    "run_round",
    "session_for",
]

_BATCH_REFUSED = frozenset({400, 404, 405, 415, 501})  # "no batches here", whatever /metadata says


@dataclass(slots=True)
class ReadAlong:
    """One more read for the first round, asked by a room that is not gathering.

    The write-back must see a Claim its ledger does not know before writing it; on a
    server that is both source and destination, that read rides in the round that reads
    the Encounter, costing no round trip of its own. ``answer`` is the resource (or
    searchset), the error it met, or None when the round could not carry it (a server
    gathered without batches): the caller then reads it itself.
    """

    url: str
    answer: dict[str, Any] | FhirError | None = None


@dataclass(slots=True)
class GatherSession:
    """What gathering keeps for one run against one server: its strategy and a cache.

    The strategy is decided once, from ``/metadata`` and the vendor profile; a test or a
    user may force it with ``strategy``.
    """

    fhir: FhirClient
    cache: ReferenceCache = field(default_factory=ReferenceCache)
    strategy: Strategy | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def decide(self) -> Strategy:
        """The strategy for this server, read from its CapabilityStatement on first use.

        A server whose ``/metadata`` cannot be read is talked to plainly: reads and
        searches work everywhere; batches do not.
        """
        async with self._lock:
            if self.strategy is None:
                try:
                    statement = await self.fhir.metadata()
                except FhirError:
                    statement = {}
                caps = await self.fhir.capabilities() if statement else None
                profile = detect_profile(statement)
                self.strategy = (
                    choose_strategy(caps, profile)
                    if caps is not None
                    else Strategy(
                        profile,
                        batch=False,
                        include=False,
                        claim_write=False,
                        by_patient=profile.searches_by_patient,
                    )
                )
            return self.strategy


_sessions: weakref.WeakKeyDictionary[FhirClient, GatherSession] = weakref.WeakKeyDictionary()


def session_for(fhir: FhirClient) -> GatherSession:
    """The session of ``fhir``: one per client, so a run's cache lives as long as its client."""
    session = _sessions.get(fhir)
    if session is None:
        session = GatherSession(fhir)
        _sessions[fhir] = session
    return session


def search_params(url: str) -> tuple[str, list[tuple[str, str]]]:
    path, _, query = url.partition("?")
    return path, parse_qsl(query, keep_blank_values=True)


async def fetch_plain(fhir: FhirClient, url: str, *, search: bool) -> dict[str, Any]:
    """One fetch without a batch: a read, or every page of a search as one searchset."""
    if not search:
        _, body = await fhir.request("GET", url)
        return body or {}
    path, params = search_params(url)
    entries = [
        entry async for page in fhir.pages(path, params) for entry in page.get("entry") or []
    ]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


async def guarded(fhir: FhirClient, url: str, *, search: bool) -> dict[str, Any] | FhirError:
    try:
        return await fetch_plain(fhir, url, search=search)
    except FhirError as exc:
        return exc


def has_next(bundle: dict[str, Any]) -> bool:
    return any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in bundle.get("link") or []
    )


async def send(
    session: GatherSession, urls: Sequence[tuple[str, bool]], *, batch: bool
) -> list[dict[str, Any] | FhirError]:
    """Answers to ``urls`` (each with whether it is a search), by batch or concurrently."""
    fhir = session.fhir
    if not (batch and len(urls) > 1):
        return list(
            await asyncio.gather(*(guarded(fhir, url, search=search) for url, search in urls))
        )
    limit = session.strategy.profile.batch_limit if session.strategy else 50
    answers: list[dict[str, Any] | FhirError] = []
    try:
        for start in range(0, len(urls), limit):
            answers.extend(await batch_get(fhir, [url for url, _ in urls[start : start + limit]]))
    except FhirResponseError as exc:
        if exc.status_code not in _BATCH_REFUSED or session.strategy is None:
            raise
        # The server declared batches but refuses them: plain requests from now on.
        session.strategy = session.strategy.with_overrides(batch=False)
        return await send(session, urls, batch=False)
    # A searchset cut short by paging is fetched again in full, plainly: rare and exact.
    for index, ((url, search), answer) in enumerate(zip(urls, answers, strict=True)):
        if search and isinstance(answer, dict) and has_next(answer):
            answers[index] = await guarded(fhir, url, search=True)
    return answers


def one_match(bundle: dict[str, Any], resource_type: str) -> dict[str, Any] | str:
    """The single match of a conditional reference's search, or why there is not one."""
    found = list(matches(bundle, resource_type))
    if len(found) == 1:
        return found[0]
    return "no match" if not found else f"{len(found)} matches, not one"


async def run_round(
    session: GatherSession,
    direct: dict[str, tuple[str, bool]],
    fetches: Sequence[Fetch],
    *,
    batch: bool,
) -> dict[str, dict[str, Any] | FhirError]:
    """One round trip (or one round of concurrent requests).

    ``direct`` requests (name -> URL and whether to follow pages) are answered by name;
    ``fetches`` not yet known to the run's cache are answered into the cache. A failed
    searchset is answered by its key, not cached: a patient's Coverage that could not be
    searched now may be searchable for their next encounter.
    """
    cache = session.cache
    wanted: list[Fetch] = []
    waiting: list[asyncio.Future[None]] = []
    for fetch in dict.fromkeys(fetches):
        if cache.known(fetch):
            continue
        if fetch.key in cache.pending:
            waiting.append(cache.pending[fetch.key])
            continue
        wanted.append(fetch)
        cache.pending[fetch.key] = asyncio.get_running_loop().create_future()
    try:
        out = await ask(session, direct, wanted, batch=batch)
    finally:
        for fetch in wanted:
            done = cache.pending.pop(fetch.key)
            if not done.done():
                done.set_result(None)
    if waiting:
        await asyncio.gather(*waiting)
    return out


async def ask(
    session: GatherSession,
    direct: dict[str, tuple[str, bool]],
    wanted: Sequence[Fetch],
    *,
    batch: bool,
) -> dict[str, dict[str, Any] | FhirError]:
    urls = [*direct.values(), *((f.url, f.search or f.searchset) for f in wanted)]
    if not urls:
        return {}
    answers = await send(session, urls, batch=batch)
    out: dict[str, dict[str, Any] | FhirError] = dict(
        zip(direct, answers[: len(direct)], strict=True)
    )
    for fetch, answer in zip(wanted, answers[len(direct) :], strict=True):
        if isinstance(answer, FhirError):
            if fetch.searchset:
                out[fetch.key] = answer
            else:
                session.cache.fail(fetch, str(answer))
            continue
        found = one_match(answer, fetch.resource_type) if fetch.search else answer
        if isinstance(found, str):
            session.cache.fail(fetch, f"{fetch.url.split('?', 1)[0]} search found {found}")
        elif found.get("resourceType") != fetch.resource_type:
            session.cache.fail(fetch, f"{fetch.url} is a {found.get('resourceType')}")
        else:
            session.cache.put(fetch, found)
    return out


def resolved(
    session: GatherSession, plan: dict[str, Any] | Fetch | Unresolvable
) -> dict[str, Any] | str:
    """The resource a planned reference led to, or why it led nowhere."""
    if isinstance(plan, Unresolvable):
        return plan.reason
    if isinstance(plan, Fetch):
        found = session.cache.found.get(plan.key)
        if found is not None:
            return found
        return session.cache.failed.get(plan.key, "not fetched")
    return plan


def as_literal(session: GatherSession, plan: Fetch) -> dict[str, Any] | Fetch | Unresolvable:
    """A conditional reference, once searched, as the read of what it found."""
    found = resolved(session, plan)
    if isinstance(found, str):
        return Unresolvable(found)
    key = resource_key(found)
    return Fetch(key=key, url=key, resource_type=plan.resource_type)
