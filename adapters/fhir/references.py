"""Following every form of FHIR reference servers send, with one cache per run.

References come as ``Type/id``, absolute URLs, ``#contained`` ids, ``urn:uuid:`` (in
Bundles), conditional searches (``Practitioner?identifier=...|999``: 44% of references
in recent Synthea exports) and identifier-only (Epic CSNs). :func:`plan_reference` turns
each into either the resource at hand, the request that fetches it, or the reason it
cannot be followed; :class:`ReferenceCache` keeps what was fetched, so the practitioner
seen on a hundred encounters is read once per run.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = [
    "Fetch",
    "ReferenceCache",
    "Unresolvable",
    "literal_reference",
    "plan_reference",
    "resource_key",
]


@dataclass(frozen=True, slots=True)
class Fetch:
    """A request whose answer the run may keep: a read, a one-match search, or a searchset.

    ``search`` marks a conditional reference (exactly one match expected); ``searchset``
    a search kept whole (a patient's Coverage, the same for each of their encounters).
    """

    key: str  # the cache key: "Practitioner/1" or "Practitioner?identifier=..."
    url: str  # relative to the base URL
    resource_type: str
    search: bool = False
    searchset: bool = False


@dataclass(frozen=True, slots=True)
class Unresolvable:
    """Why a reference cannot be followed, in words for the user."""

    reason: str


def literal_reference(reference: str, base_url: str) -> tuple[str, str] | None:
    """``(type, id)`` for ``Type/id``, ``Type/id/_history/v`` or an absolute URL on ``base_url``."""
    ref = reference.strip()
    base = base_url.rstrip("/") + "/"
    if ref.startswith(base):
        ref = ref[len(base) :]
    elif "://" in ref or ref.startswith(("#", "urn:")) or "?" in ref:
        return None
    parts = ref.split("/")
    if len(parts) in (2, 4) and parts[0][:1].isupper() and parts[1]:
        if len(parts) == 4 and parts[2] != "_history":
            return None
        return parts[0], parts[1]
    return None


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def subject_patient_id(encounter: Mapping[str, Any]) -> str:
    """The id of the Encounter's subject when it is a relative ``Patient/id`` reference, else "".

    A trigger that carries the Encounter (a rest-hook payload, a poll's search) passes it
    on, so gathering can ask for the patient and their Coverage in its first round; the
    Encounter read in that round still decides, so a wrong hint costs two reads, no more.
    """
    subject = encounter.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    found = literal_reference(reference, "") if isinstance(reference, str) else None
    if found is None or found[0] != "Patient":
        return ""
    return valid_id(found[1])


def valid_id(value: str) -> str:
    """``value`` when it is a FHIR id (safe to put in a URL path), else ""."""
    return value if _FHIR_ID.fullmatch(value) else ""


def resource_key(resource: Mapping[str, Any]) -> str:
    """``Type/id`` of a resource."""
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _conditional(reference: str, base_url: str) -> str | None:
    """``Type?query`` for a conditional reference (relative, or absolute on ``base_url``)."""
    head, mark, query = reference.partition("?")
    if not mark:
        return None
    base = base_url.rstrip("/") + "/"
    head = head.removeprefix(base)
    if "/" in head or not head[:1].isupper() or not query:
        return None
    return f"{head}?{query}"


def _contained(container: Mapping[str, Any] | None, local_id: str) -> dict[str, Any] | None:
    for item in (container or {}).get("contained") or []:
        if isinstance(item, dict) and item.get("id") == local_id:
            return item
    return None


def plan_reference(  # noqa: PLR0911 - one return per reference form reads best
    value: object,
    base_url: str,
    *,
    container: Mapping[str, Any] | None = None,
    expected_type: str | None = None,
    bundle_index: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any] | Fetch | Unresolvable:
    """What it takes to follow the Reference ``value``.

    A resource when the reference points inside the container (``#id``) or at a
    ``fullUrl`` of ``bundle_index``; a :class:`Fetch` when the server must be asked; an
    :class:`Unresolvable` otherwise (another server, a dangling ``urn:uuid:``, no
    reference at all).
    """
    if not isinstance(value, dict):
        return Unresolvable("no reference")
    ref = value.get("reference")
    declared = value.get("type") if isinstance(value.get("type"), str) else expected_type
    if isinstance(ref, str) and ref.strip():
        ref = ref.strip()
        if ref.startswith("#"):
            found = _contained(container, ref[1:])
            return found if found is not None else Unresolvable(f"no contained resource {ref}")
        if bundle_index is not None and ref in bundle_index:
            return bundle_index[ref]
        if ref.startswith("urn:"):
            return Unresolvable(f"{ref[:9]}... is a Bundle-local id the server did not rewrite")
        literal = literal_reference(ref, base_url)
        if literal is not None:
            key = f"{literal[0]}/{literal[1]}"
            return Fetch(key=key, url=key, resource_type=literal[0])
        conditional = _conditional(ref, base_url)
        if conditional is not None:
            return Fetch(
                key=conditional,
                url=conditional,
                resource_type=conditional.split("?", 1)[0],
                search=True,
            )
        return Unresolvable("a reference to another server is not followed")
    identifier = value.get("identifier")
    if isinstance(identifier, dict) and identifier.get("value") and declared:
        system = identifier.get("system") or ""
        token = f"{system}|{identifier['value']}" if system else str(identifier["value"])
        url = f"{declared}?identifier={quote(token, safe='|:/')}"
        return Fetch(key=url, url=url, resource_type=declared, search=True)
    return Unresolvable("no reference and no identifier with a known type")


FOUND_SECONDS = 600.0
"""How long a fetched resource is reused: a patient's Coverage may change any day."""
FAILED_SECONDS = 60.0
"""How long a failure is remembered before the resource is asked for again."""
MAX_ENTRIES = 50_000
"""Entries kept at most; the oldest go first."""


@dataclass(slots=True)
class ReferenceCache:
    """Resources fetched recently, by :attr:`Fetch.key`; failures are kept too.

    A failure is kept as its message so that a practitioner who cannot be read is not asked
    for again by every encounter of a run. A key being fetched is ``pending``: another
    encounter that needs it waits for that answer instead of asking again.

    Entries age out (:data:`FOUND_SECONDS`, :data:`FAILED_SECONDS`) and are bounded
    (:data:`MAX_ENTRIES`): ``fhir-coder serve`` keeps one cache for as long as it runs, and a
    Coverage read last month, or a failure from last week, must not decide today's claim.
    """

    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Fetches in flight, so that encounters gathered at once share one request per key.
    pending: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    found_seconds: float = FOUND_SECONDS
    failed_seconds: float = FAILED_SECONDS
    max_entries: int = MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic
    # When each key was kept, oldest first (a key kept again moves to the end).
    _kept_at: dict[str, float] = field(default_factory=dict, repr=False)

    def known(self, fetch: Fetch) -> bool:
        """Whether ``fetch`` has been answered, one way or the other, recently enough."""
        key = fetch.key
        if key in self.found:
            limit = self.found_seconds
        elif key in self.failed:
            limit = self.failed_seconds
        else:
            return False
        if self.clock() - self._kept_at.get(key, float("-inf")) <= limit:
            return True
        self._forget(key)
        return False

    def put(self, fetch: Fetch, resource: dict[str, Any]) -> None:
        """Keep ``resource`` under the fetch's key and under its own ``Type/id``."""
        self.failed.pop(fetch.key, None)
        self._keep(self.found, fetch.key, resource)
        if not fetch.searchset:
            self._keep(self.found, resource_key(resource), resource)

    def fail(self, fetch: Fetch, reason: str) -> None:
        """Remember that ``fetch`` could not be answered, and why."""
        self.found.pop(fetch.key, None)
        self._keep(self.failed, fetch.key, reason)

    def _keep(self, table: dict[str, Any], key: str, value: object) -> None:
        self._kept_at.pop(key, None)
        self._kept_at[key] = self.clock()
        table[key] = value
        while len(self._kept_at) > self.max_entries:
            self._forget(next(iter(self._kept_at)))

    def _forget(self, key: str) -> None:
        self._kept_at.pop(key, None)
        self.found.pop(key, None)
        self.failed.pop(key, None)
