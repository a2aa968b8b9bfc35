"""Writing a built Claim back exactly once, with its Provenance and, for a draft, a Task.

The writer decides what a write is: nothing (the Claim is as last written), a first
write, an update of a Claim not yet submitted (``If-Match`` on the version written last,
re-read once on 412) or a replacement of a submitted one (a new Claim whose ``related``
points at the prior). Draft Claims are written with a Task for a coder, or held back,
as configured. The ledger (:mod:`adapters.writeback.claim_ledger`) keeps what was written and
stops two runs writing the same encounter at once.

Nothing is overwritten blind. A Claim id the ledger does not know (a new ledger, a
ledger of another process, a write whose answer was lost) is looked up on the
destination first and goes through the same judgement as a 412: what it says now is
either what is being written (nothing is sent; the ledger records what the server
holds), or what fhir-coder wrote last (the update goes on its version), or someone
else's (:class:`ClaimChangedError`, left for a person). fhir-coder's own writes are
recognised by a tag in ``meta`` carrying the hash of the Claim's content
(:data:`CONTENT_TAG_SYSTEM`): an edit by anyone else changes the content and not the tag.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import orjson

from adapters.fhir.client import FhirClient
from adapters.fhir.rounds import ReadAlong
from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry
from adapters.writeback.destinations import ClaimWrite, Destination, Found, Written
from fhir_coder.claim import as_replacement
from fhir_coder.errors import FhirResponseError
from fhir_coder.model import CodedEncounter
from fhir_coder.outcome import Issue
from fhir_coder.provenance import build_provenance
from fhir_coder.systems import FHIR_CODER_NS
from fhir_coder.task import build_review_task

__all__ = [
    "CONTENT_TAG_SYSTEM",
    "ClaimChangedError",
    "ClaimWriter",
    "DraftPolicy",
    "WriteAction",
    "WriteReceipt",
    "content_hash",
    "tagged",
]

_VOLATILE = ("created", "meta")  # differ on every build of the same Claim
CONTENT_TAG_SYSTEM: Final = f"{FHIR_CODER_NS}:content"
"""The ``meta.tag`` system whose code is the hash of the content fhir-coder wrote."""


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
    STALE = "stale"  # coded from an older version than the Claim written last: nothing sent
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


def _content_key(claim: dict[str, Any]) -> str:
    """What a Claim says, whatever id a destination gave it."""
    return content_hash({**claim, "id": ""})


def tagged(claim: dict[str, Any]) -> dict[str, Any]:
    """``claim`` with the tag that says fhir-coder wrote this content (as it is written).

    ``fhir-coder batch`` tags its Claims the same way, so they equal the ones ``run`` writes.
    """
    meta = dict(claim.get("meta") or {})
    tags = [t for t in meta.get("tag") or [] if t.get("system") != CONTENT_TAG_SYSTEM]
    meta["tag"] = [*tags, {"system": CONTENT_TAG_SYSTEM, "code": _content_key(claim)}]
    return claim | {"meta": meta}


def _ours(claim: dict[str, Any]) -> bool:
    """Whether a Claim still says what fhir-coder wrote (one of its content tags matches).

    Servers that keep earlier tags on update (HAPI) show several; any one matching the
    content means nobody changed it since fhir-coder wrote it.
    """
    tags = (claim.get("meta") or {}).get("tag") or []
    codes = {t.get("code") for t in tags if isinstance(t, dict)}
    return _content_key(claim) in codes


class ClaimWriter:
    """Writes Claims to one destination, once each, recording them in a ledger.

    ``ledger`` None keeps one in memory (tests, the Python API); the commands share a
    ledger file (``fhir-coder-data/claims.sqlite3``). A reservation is renewed every
    third of the ledger's lease while its write is in flight.
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

    async def read_along(self, claim_id: str, source: FhirClient) -> ReadAlong | None:
        """The look-up of ``claim_id`` to make in gathering's first round, when it can be.

        Where Claims go back to the server encounters come from, the Claim is read in the
        round that reads the Encounter: looking before writing costs no round trip.
        """
        await self.destination.check()
        return self.destination.read_along(claim_id, source)

    async def write(
        self,
        claim: dict[str, Any],
        coded: CodedEncounter,
        issues: tuple[Issue, ...],
        *,
        created: datetime,
        author: dict[str, Any] | None = None,
        along: ReadAlong | None = None,
    ) -> WriteReceipt:
        """Write ``claim`` (built from ``coded`` with ``issues``) unless nothing changed.

        ``along``: the Claim read in gathering's round (:meth:`read_along`), if it was.
        ``author``: the person who finished the coding (the workbench's coder), named in
        the Provenance (``fhir_coder.provenance.build_provenance``).
        """
        await self.destination.check()
        where = self.destination.name
        draft = claim.get("status") == "draft"
        if draft and self.drafts is DraftPolicy.HOLD:
            return WriteReceipt(WriteAction.HELD, where, claim)
        key = str(claim["id"])
        held = await asyncio.to_thread(self.ledger.reserve, where, key)
        if held is None:
            return WriteReceipt(WriteAction.BUSY, where, claim)
        try:
            async with self._renewing(where, key, held.fence):
                receipt, entry = await self._write(
                    claim, coded, issues, held.entry, created=created, author=author, along=along
                )
        except BaseException:
            # on the way out of a failure or a cancellation: a quick local update, done now
            self.ledger.release(where, key, held.fence)
            raise
        if entry is None:
            await asyncio.to_thread(self.ledger.release, where, key, held.fence)
        else:
            await asyncio.to_thread(self.ledger.record, where, entry, held.fence)
        return receipt

    @contextlib.asynccontextmanager
    async def _renewing(self, where: str, key: str, fence: int) -> AsyncIterator[None]:
        """Keep the reservation while the block runs (a slow server must not let a rival in)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.ledger.lease_seconds / 3)
                if not await asyncio.to_thread(self.ledger.renew, where, key, fence):
                    return  # taken over: record() will say so

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()

    async def _write(
        self,
        claim: dict[str, Any],
        coded: CodedEncounter,
        issues: tuple[Issue, ...],
        prior: LedgerEntry,
        *,
        created: datetime,
        author: dict[str, Any] | None = None,
        along: ReadAlong | None = None,
    ) -> tuple[WriteReceipt, LedgerEntry | None]:
        where = self.destination.name
        digest = content_hash(claim)
        if prior.written and prior.content_hash == digest:
            unchanged = WriteReceipt(
                WriteAction.UNCHANGED, where, claim, prior.server_id, prior.version
            )
            return unchanged, None
        coded_from = coded.encounter.version_id or ""
        if prior.written and _older(coded_from, prior.source_version):
            # a job that read the encounter before another job wrote a later version's Claim
            stale = WriteReceipt(WriteAction.STALE, where, claim, prior.server_id, prior.version)
            return stale, None
        claim, revision, replaces, action = _next_write(claim, prior)
        server_id = "" if action is WriteAction.REPLACED else prior.server_id
        version = "" if action is WriteAction.REPLACED else prior.version

        def entry(written_id: str, written_version: str) -> LedgerEntry:
            return LedgerEntry(
                prior.encounter_key,
                claim_id=str(claim["id"]),
                server_id=written_id,
                version=written_version,
                content_hash=digest,
                revision=revision,
                replaces=replaces,
                submitted=False,
                task_open=claim.get("status") == "draft",
                written=True,
                source_version=coded_from or prior.source_version,
            )

        if not server_id:  # nothing known on the destination: look before writing
            found = await self.destination.find_claim(str(claim["id"]), along)
            if found is not None:
                self._judge(found, claim, known_version="")
                if _same_claim(found.claim, claim):
                    receipt = WriteReceipt(
                        WriteAction.UNCHANGED, where, claim, found.server_id, found.version
                    )
                    return receipt, entry(found.server_id, found.version)
                server_id, version = found.server_id, found.version
                if action is WriteAction.CREATED:
                    action = WriteAction.UPDATED
        draft = claim.get("status") == "draft"
        provenance = build_provenance(
            claim, coded, recorded=created, updated=action is WriteAction.UPDATED, author=author
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
        receipt = WriteReceipt(
            action,
            where,
            claim,
            written.server_id,
            written.version,
            written.status,
            task=task is not None and not written.existed,
        )
        return receipt, entry(written.server_id, written.version)

    def _judge(
        self, found: Found, claim: dict[str, Any], *, known_version: str, wrote: str = ""
    ) -> None:
        """Raise :class:`ClaimChangedError` unless ``found`` may be written over with ``claim``.

        It may when it already says the same, or still says what fhir-coder wrote (its
        content tag; or, for a server that drops tags, the version fhir-coder wrote last
        read back with the same content: checked by the caller, which passes it here as
        ``known_version`` already confirmed). ``wrote`` is the version fhir-coder wrote
        last, when the ledger knows it.
        """
        if _same_claim(found.claim, claim) or _ours(found.claim) or known_version:
            return
        where = self.destination.name
        since = f" since fhir-coder wrote version {wrote}" if wrote else ""
        raise ClaimChangedError(
            f"Claim/{found.server_id} on {where} was changed by someone else{since} (it is at "
            f"version {found.version or '?'} and does not say what fhir-coder wrote): "
            "not overwritten; reconcile it with the recoded claim",
            url=f"{where}/Claim/{found.server_id}",
            status_code=412,
        )

    async def _send(self, write: ClaimWrite) -> Written:
        """Send ``write``; after a conflict, again only if nobody else changed the Claim.

        A 412 says the Claim moved on since the version written last; a conditional create
        that found a match says another writer created it meanwhile. When the Claim there
        already says what is being written (an earlier answer that was lost), nothing is
        sent again. When it still says what fhir-coder wrote (a server that bumped the
        version, a rival write of the same content), the write goes again on the current
        version. Otherwise someone else (a coder, a biller, the billing system) changed it,
        and their change must not be overwritten: :class:`ClaimChangedError` (a 412: not
        retried, the job fails with the reason).
        """
        try:
            written = await self.destination.write(write)
        except FhirResponseError as exc:
            if exc.status_code != 412:
                raise
            found = await self._current(write.server_id, write.claim)
            if found is None and not write.server_id:
                raise  # a create refused, and nothing there to judge
        else:
            if not written.existed:
                return written
            found = await self._current(written.server_id, write.claim)
        return await self._again(write, found)

    async def _again(self, write: ClaimWrite, found: Found | None) -> Written:
        """After a conflict: nothing, the write on the current version, or ClaimChangedError."""
        if found is None:  # deleted meanwhile: written again, as new
            return await self.destination.write(replace(write, server_id="", version=""))
        if _same_claim(found.claim, write.claim):
            return Written(None, found.server_id, found.version, existed=True)
        confirmed = ""
        if write.version and not _ours(found.claim):
            then = await self.destination.read_claim(found.server_id, write.version)
            if then is not None and _same_claim(found.claim, then[1]):
                confirmed = write.version
        self._judge(found, write.claim, known_version=confirmed, wrote=write.version)
        return await self.destination.write(
            replace(write, server_id=found.server_id, version=found.version)
        )

    async def _current(self, server_id: str, claim: dict[str, Any]) -> Found | None:
        """The Claim as the destination holds it now: by its id there, else looked up."""
        if server_id:
            read = await self.destination.read_claim(server_id)
            if read is not None:
                return Found(server_id, read[0], read[1])
        return await self.destination.find_claim(str(claim["id"]))


def _older(version: str, than: str) -> bool:
    """Whether the Encounter version ``version`` comes before ``than`` (numbers only).

    Opaque versions (not numbers) are never called older: without an order the write goes.
    """
    return version.isdigit() and than.isdigit() and int(version) < int(than)


def _next_write(
    claim: dict[str, Any], prior: LedgerEntry
) -> tuple[dict[str, Any], int, str, WriteAction]:
    """The Claim to send after ``prior``, its revision, what it replaces, and the action.

    A submitted Claim is never changed in place: the next revision replaces it. The
    Claim comes back tagged as fhir-coder's (:data:`CONTENT_TAG_SYSTEM`).
    """
    revision, replaces = prior.revision, prior.replaces
    action = WriteAction.UPDATED if prior.written else WriteAction.CREATED
    if prior.written and prior.submitted:
        revision += 1
        replaces = prior.server_id or prior.claim_id
        action = WriteAction.REPLACED
    if revision:  # a replacement, new or updated, keeps its own id and its link
        claim = as_replacement(claim, revision, replaces)
    return tagged(claim), revision, replaces, action


class ClaimChangedError(FhirResponseError):
    """The Claim on the destination was changed by someone else; it was left as they wrote it."""


def _same_claim(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two copies of a Claim say the same, whatever their ids, meta and build time."""
    return _content_key(first) == _content_key(second)
