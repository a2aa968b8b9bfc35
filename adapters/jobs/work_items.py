"""Work items: every encounter that needs a person, kept in the job ledger until one finishes it.

An encounter the engine cannot finish (held, a draft with blocking findings, lines marked
for review, a payer's denial) becomes one work item per (source, encounter): its findings,
suggestions and evidence (the encounter as coding saw it), the reason codes a worklist
filters on, and the encounter version it was coded from. A new version of the encounter
updates the item (a coder's work in progress is kept and flagged); a version the engine
then finishes closes it. Everything is in the ledger file, so nothing is lost on restart.

The API is :class:`WorkItemStore`; :class:`adapters.jobs.work_store.WorkItems` implements
it once over the job ledger's store (its SQLite file or PostgreSQL database). Items carry no
patient name or identifier beyond the FHIR ids the EHR uses (``Patient/123``); nothing here
is logged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

__all__ = [
    "REASON_RULES",
    "ItemKind",
    "ItemLockedError",
    "ItemState",
    "RevisionConflictError",
    "WorkEvent",
    "WorkItem",
    "WorkItemDraft",
    "WorkItemStore",
    "WorkReason",
    "Worklist",
    "WorklistQuery",
    "reasons_for_rules",
]


class ItemKind(StrEnum):
    """Why the item exists, in the terms of a coding manager's worklist."""

    HELD = "held"  # no Claim could be built (or a draft was held back by configuration)
    DRAFT = "draft"  # a draft Claim was written: its blocking findings need a coder
    REVIEW = "review"  # a Claim went out with lines a person must confirm
    DENIAL = "denial"  # the payer denied the Claim (from remittance: adapters/x12)


class ItemState(StrEnum):
    """Where an item stands."""

    OPEN = "open"  # on the worklist
    RELEASED = "released"  # a coder finished it and released the Claim
    RESOLVED = "resolved"  # a later version of the encounter was finished by the engine
    CLOSED = "closed"  # closed without a release (a query answered elsewhere, a void)


class WorkReason(StrEnum):
    """The reason codes a worklist filters on (an item has one or more)."""

    NO_COVERAGE = "no-coverage"
    NO_PROVIDER = "no-provider"
    NO_CODABLE_DIAGNOSIS = "no-codable-diagnosis"
    NO_DATE = "no-date"
    HEADER_CODE = "header-code"  # a category header or a code lacking its 7th character
    INVALID_CODE = "invalid-code"  # not a code on the date of service
    NEEDS_CODER = "needs-coder"  # words only, an unmapped concept, an uncertain diagnosis
    LINE_REVIEW = "line-review"  # a line the engine marked for a person to confirm
    SCRUBBER_EDIT = "scrubber-edit"  # another blocking finding of the scrubber
    DENIAL = "denial"  # the payer denied the Claim


REASON_RULES: Final[dict[str, WorkReason]] = {
    "CLAIM-MISSING-COVERAGE": WorkReason.NO_COVERAGE,
    "COVERAGE-NOT-IN-FORCE": WorkReason.NO_COVERAGE,
    "CLAIM-MISSING-PROVIDER": WorkReason.NO_PROVIDER,
    "CLAIM-NO-DIAGNOSIS": WorkReason.NO_CODABLE_DIAGNOSIS,
    "ENCOUNTER-NO-DATE": WorkReason.NO_DATE,
    "ICD10CM-NOT-BILLABLE": WorkReason.HEADER_CODE,
    "CODE-NOT-BILLABLE": WorkReason.HEADER_CODE,
    "ICD10CM-7TH-CHARACTER": WorkReason.HEADER_CODE,
    "ICD10CM-SEVENTH-CHARACTER": WorkReason.HEADER_CODE,
    "ICD10CM-INVALID": WorkReason.INVALID_CODE,
    "ICD10CM-INVALID-ON-DATE": WorkReason.INVALID_CODE,
    "CODE-INVALID-ON-DATE": WorkReason.INVALID_CODE,
    "ICD10CM-MALFORMED": WorkReason.INVALID_CODE,
    "ICD10CM-NOT-FOR-INPATIENT": WorkReason.NEEDS_CODER,  # T30.0 on a stay: site and degree
    "NEEDS-CODER-REVIEW": WorkReason.LINE_REVIEW,
    "VISIT-LEVEL-UNCONFIRMED": WorkReason.LINE_REVIEW,
}
"""Finding rule ids to reason codes; other ``NEEDS-CODER-*`` rules are ``needs-coder``."""


def reasons_for_rules(rules: Iterable[str], *, blocking: Iterable[str] = ()) -> list[WorkReason]:
    """The reason codes for findings: ``rules`` that need a person, ``blocking`` ones too.

    A rule of :data:`REASON_RULES` gives its reason; another ``NEEDS-CODER-`` rule gives
    ``needs-coder``; any other rule among ``blocking`` is a ``scrubber-edit``.
    """
    found: dict[WorkReason, None] = {}
    blocked = set(blocking)
    for rule in [*rules, *blocked]:
        reason = REASON_RULES.get(rule)
        if reason is None and rule.startswith("NEEDS-CODER-"):
            reason = WorkReason.NEEDS_CODER
        if reason is None and rule in blocked:
            reason = WorkReason.SCRUBBER_EDIT
        if reason is not None:
            found[reason] = None
    return list(found)


@dataclass(frozen=True, slots=True)
class WorkItemDraft:
    """What a producer (the workers, remittance intake) hands the store for one encounter.

    ``payload`` is JSON-ready: the encounter as coded (``encounter``, ``lines``,
    ``issues`` from :func:`fhir_coder.snapshot.to_plain`), ``suggestions`` and, for a
    denial, ``denial``. ``summary`` is one line for the worklist (no patient data).
    """

    source: str
    encounter_id: str
    version: str
    kind: ItemKind
    reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()
    summary: str = ""
    job_id: int = 0
    encounter_class: str = ""
    payer: str = ""
    patient: str = ""
    service_date: str = ""  # ISO date
    claim_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One row of the worklist, with its payload and the coder's working copy."""

    id: int
    source: str
    encounter_id: str
    version: str
    job_id: int
    kind: ItemKind
    state: ItemState
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    summary: str
    encounter_class: str
    payer: str
    patient: str
    service_date: str
    claim_id: str
    created: float
    updated: float
    revision: int  # bumped by every change: a save names the revision it was made on
    locked_by: str
    locked_until: float
    closed_by: str
    closed_at: float
    payload: dict[str, Any]
    work: dict[str, Any] | None  # the coder's working copy, None until someone edits

    def locked_for(self, user: str, now: float | None = None) -> bool:
        """Whether someone other than ``user`` holds the item now."""
        moment = time.time() if now is None else now
        return bool(self.locked_by) and self.locked_by != user and self.locked_until > moment


@dataclass(frozen=True, slots=True)
class WorkEvent:
    """One action on an item: who, when, what, with its details (codes, never patient data)."""

    id: int
    item_id: int
    at: float
    actor: str
    action: str
    detail: dict[str, Any]


class ItemLockedError(Exception):
    """Another coder holds the item."""

    def __init__(self, item_id: int, holder: str, until: float) -> None:
        super().__init__(f"work item {item_id} is being worked by {holder}")
        self.item_id = item_id
        self.holder = holder
        self.until = until


class RevisionConflictError(Exception):
    """A save was made on a revision of the item that is no longer the current one."""

    def __init__(self, item_id: int, expected: int, current: int, by: str) -> None:
        super().__init__(
            f"work item {item_id} changed since you opened it (revision {expected}, now "
            f"{current}{f', by {by}' if by else ''}): your change was not saved"
        )
        self.item_id = item_id
        self.expected = expected
        self.current = current
        self.by = by


SORTS: Final = {
    "oldest": "created ASC, id ASC",
    "newest": "created DESC, id DESC",
    "service": "service_date ASC, id ASC",
    "service-desc": "service_date DESC, id DESC",
    "encounter": "encounter_id ASC, id ASC",
}
"""The worklist's sort orders (the key is what the page and the API name)."""


@dataclass(frozen=True, slots=True)
class WorklistQuery:
    """A worklist page: filters (all optional), sort order and paging.

    ``payer`` matches a part of the payer's name, in any case;
    ``older_than_days`` filters on the item's age (time on the worklist); ``service_from``
    and ``service_to`` on the date of service (ISO dates, inclusive); ``search`` matches an
    encounter id or a patient id (``123`` or ``Patient/123``) exactly or as a prefix.
    """

    state: ItemState | None = ItemState.OPEN
    reason: str = ""
    kind: str = ""
    encounter_class: str = ""
    payer: str = ""
    older_than_days: float | None = None
    service_from: str = ""
    service_to: str = ""
    search: str = ""
    sort: str = "oldest"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class Worklist:
    """One page of items (payloads left out) and the totals the page shows."""

    items: tuple[WorkItem, ...]
    total: int
    by_reason: dict[str, int]
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the filters give."""
        return max(1, -(-self.total // self.per_page))


class WorkItemStore(Protocol):
    """The work-item API every ledger backend offers (SQLite here; PostgreSQL beside it).

    Producers call :meth:`record` (an encounter needs a person), :meth:`settle` (the engine
    finished a version: an open item for it is resolved) and :meth:`record_denial`. The
    workbench calls the rest. Each method is one transaction.
    """

    def record(self, draft: WorkItemDraft) -> WorkItem:
        """Create the encounter's item or update it with a newer (or the same) version."""
        ...

    def settle(self, source: str, encounter_id: str, version: str, *, outcome: str) -> bool:
        """Resolve the encounter's open item: a newer version went through without a person."""
        ...

    def record_denial(
        self,
        source: str,
        encounter_id: str,
        *,
        claim_id: str,
        reasons: Sequence[str],
        detail: dict[str, Any],
        summary: str = "",
    ) -> WorkItem:
        """Put a denied Claim's encounter on the worklist (reopening a released item)."""
        ...

    def get(self, item_id: int) -> WorkItem | None:
        """One item by its number, with payload and working copy."""
        ...

    def find(self, source: str, encounter_id: str) -> WorkItem | None:
        """The item of an encounter, if it has one."""
        ...

    def for_jobs(self, job_ids: Sequence[int]) -> dict[int, WorkItem]:
        """The items recorded from these jobs (payloads left out), by job id."""
        ...

    def worklist(self, query: WorklistQuery) -> Worklist:
        """A page of items matching ``query`` and the counts by reason."""
        ...

    def lock(self, item_id: int, user: str, *, seconds: float = 900.0) -> WorkItem:
        """Take (or renew) the item for ``user``; :class:`ItemLockedError` if another holds it."""
        ...

    def unlock(self, item_id: int, user: str) -> None:
        """Let go of the item (only its holder can)."""
        ...

    def save_work(
        self,
        item_id: int,
        user: str,
        work: dict[str, Any],
        *,
        revision: int,
        action: str,
        detail: dict[str, Any] | None = None,
    ) -> WorkItem:
        """Store the coder's working copy made on ``revision``, with an event for the action.

        :class:`RevisionConflictError` when the item moved on (another coder saved, a new
        encounter version arrived); :class:`ItemLockedError` when another coder holds it.
        """
        ...

    def close(
        self,
        item_id: int,
        user: str,
        state: ItemState,
        *,
        revision: int,
        detail: dict[str, Any] | None = None,
    ) -> WorkItem:
        """Finish the item (released, closed) on ``revision``, with an event."""
        ...

    def add_event(
        self, item_id: int, actor: str, action: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Record an action that changes nothing stored (viewed, queried the provider...)."""
        ...

    def events(self, item_id: int | None = None, *, action: str = "") -> list[WorkEvent]:
        """An item's events (or every event of an action), oldest first."""
        ...

    def stats(self) -> dict[str, Any]:
        """Figures for the dashboard: counts by state, reason and age; actions; times."""
        ...

    def unsent_events(self, limit: int = 100) -> list[WorkEvent]:
        """People's events not yet sent as AuditEvents (the outbox), oldest first."""
        ...

    def mark_sent(self, event_ids: Sequence[int]) -> None:
        """Record that these events' AuditEvents are on the server."""
        ...
