"""Writing a built Claim back exactly once, with its Provenance and, for a draft, a Task.

The writer decides what a write is: nothing (the Claim is as last written), a first
write, an update of a Claim not yet submitted (``If-Match`` on the version written last,
re-read once on 412) or a replacement of a submitted one (a new Claim whose ``related``
points at the prior). Draft Claims are written with a Task for a coder, or held back,
as configured. The ledger (:mod:`adapters.writeback.claim_ledger`) keeps what was written and
stops two runs writing the same encounter at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry
from adapters.writeback.destinations import ClaimWrite, Destination, Written
from fhir_coder.claim import as_replacement
from fhir_coder.errors import FhirResponseError
from fhir_coder.model import CodedEncounter
from fhir_coder.outcome import Issue
from fhir_coder.provenance import build_provenance
from fhir_coder.task import build_review_task

__all__ = [
    "ClaimChangedError",
    "ClaimWriter",
    "DraftPolicy",
    "WriteAction",
    "WriteReceipt",
    "content_hash",
]

_VOLATILE = ("created", "meta")  # differ on every build of the same Claim


class DraftPolicy(StrEnum):
    """What becomes of a Claim whose findings block submission."""

    WRITE = "write"  # written as ``draft``, with a Task for a coder
    HOLD = "hold"  # not written; the findings are reported


class WriteAction(StrEnum):
    """What the writer did with one Claim."""

    CREATED = "created"
    UPDATED = "updated"
    REPLACED = "replaced"  # the prior claim was submitted: a replacement was created
    UNCHANGED = "unchanged"  # the Claim is as last written: nothing sent
    BUSY = "busy"  # another run is writing this encounter's Claim now
    HELD = "held"  # a draft held back by configuration


@dataclass(frozen=True, slots=True)
class WriteReceipt:
    """The outcome of one write: what was done, where, and the Claim as written."""

    action: WriteAction
    destination: str
    claim: dict[str, Any]
    server_id: str = ""
    version: str = ""
    status: int | None = None
    task: bool = False

    @property
    def wrote(self) -> bool:
        """Whether the Claim is on the destination (written now or before)."""
        return self.action not in (WriteAction.HELD, WriteAction.BUSY)


def content_hash(claim: dict[str, Any]) -> str:
    """A hash of what the Claim says, leaving out when it was built."""
    stable = {k: v for k, v in claim.items() if k not in _VOLATILE}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ClaimWriter:
    """Writes Claims to one destination, once each, recording them in a ledger.

    ``ledger`` None keeps one in memory (enough for one run against a server that takes
    client ids); runs that must not overlap share a ledger file.
    """

    def __init__(
        self,
        destination: Destination,
        *,
        ledger: ClaimLedger | None = None,
        drafts: DraftPolicy = DraftPolicy.WRITE,
    ) -> None:
        self.destination = destination
        self.ledger = ledger if ledger is not None else ClaimLedger()
        self.drafts = drafts

    async def start(self) -> None:
        """Check the destination (its CapabilityStatement, its folder) before any write."""
        await self.destination.check()

    async def write(
        self,
        claim: dict[str, Any],
        coded: CodedEncounter,
        issues: tuple[Issue, ...],
        *,
        created: datetime,
    ) -> WriteReceipt:
        """Write ``claim`` (built from ``coded`` with ``issues``) unless nothing changed."""
        await self.destination.check()
        where = self.destination.name
        draft = claim.get("status") == "draft"
        if draft and self.drafts is DraftPolicy.HOLD:
            return WriteReceipt(WriteAction.HELD, where, claim)
        key = str(claim["id"])
        prior = self.ledger.reserve(where, key)
        if prior is None:
            return WriteReceipt(WriteAction.BUSY, where, claim)
        try:
            receipt, entry = await self._write(claim, coded, issues, prior, created=created)
        except BaseException:
            self.ledger.release(where, key)
            raise
        if entry is None:
            self.ledger.release(where, key)
        else:
            self.ledger.record(where, entry)
        return receipt

    async def _write(
        self,
        claim: dict[str, Any],
        coded: CodedEncounter,
        issues: tuple[Issue, ...],
        prior: LedgerEntry,
        *,
        created: datetime,
    ) -> tuple[WriteReceipt, LedgerEntry | None]:
        where = self.destination.name
        digest = content_hash(claim)
        if prior.written and prior.content_hash == digest:
            unchanged = WriteReceipt(
                WriteAction.UNCHANGED, where, claim, prior.server_id, prior.version
            )
            return unchanged, None
        revision, server_id, version = prior.revision, prior.server_id, prior.version
        replaces = prior.replaces
        action = WriteAction.UPDATED if prior.written else WriteAction.CREATED
        if prior.written and prior.submitted:
            revision += 1
            replaces = prior.server_id or prior.claim_id
            server_id, version, action = "", "", WriteAction.REPLACED
        if revision:  # a replacement, new or updated, keeps its own id and its link
            claim = as_replacement(claim, revision, replaces)
        draft = claim.get("status") == "draft"
        provenance = build_provenance(
            claim, coded, recorded=created, updated=action is WriteAction.UPDATED
        )
        task = None
        if draft or prior.task_open:
            task = build_review_task(
                claim, coded.encounter, issues, authored=created, done=not draft
            )
        write = ClaimWrite(claim, provenance, task, server_id=server_id, version=version)
        written = await self._send(write)
        if written.existed:
            action = WriteAction.UNCHANGED
        entry = LedgerEntry(
            prior.encounter_key,
            claim_id=str(claim["id"]),
            server_id=written.server_id,
            version=written.version,
            content_hash=digest,
            revision=revision,
            replaces=replaces,
            submitted=False,
            task_open=draft,
            written=True,
        )
        receipt = WriteReceipt(
            action,
            where,
            claim,
            written.server_id,
            written.version,
            written.status,
            task=task is not None,
        )
        return receipt, entry

    async def _send(self, write: ClaimWrite) -> Written:
        """Send ``write``; after a version conflict, once more only if nobody changed the Claim.

        A 412 says the Claim moved on since the version written last. When what it says is
        still what was written then (a server that bumped the version, a rival write of the
        same content) or already what is being written (an earlier answer that was lost),
        the write goes again on the current version. Otherwise someone else (a coder, a
        biller, the billing system) changed it, and their change must not be overwritten:
        :class:`ClaimChangedError` (a 412: not retried, the job fails with the reason).
        """
        try:
            return await self.destination.write(write)
        except FhirResponseError as exc:
            if exc.status_code != 412 or not write.server_id:
                raise
            conflict = exc
        current = await self.destination.read_claim(write.server_id)
        if current is None:  # deleted meanwhile: written again, as new
            return await self.destination.write(replace(write, version=""))
        version, now = current
        if not _same_claim(now, write.claim):
            then = await self.destination.read_claim(write.server_id, write.version)
            if then is None or not _same_claim(now, then[1]):
                raise ClaimChangedError(
                    f"Claim/{write.server_id} on {self.destination.name} was changed by someone "
                    f"else since fhir-coder wrote version {write.version} (it is at version "
                    f"{version}): not overwritten; reconcile it with the recoded claim",
                    url=conflict.url,
                    status_code=412,
                    outcome=conflict.outcome,
                )
        return await self.destination.write(replace(write, version=version))


class ClaimChangedError(FhirResponseError):
    """The Claim on the destination was changed by someone else; it was left as they wrote it."""


def _same_claim(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two copies of a Claim say the same, whatever their ids, meta and build time."""
    return content_hash({**first, "id": ""}) == content_hash({**second, "id": ""})
