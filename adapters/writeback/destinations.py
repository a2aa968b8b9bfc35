"""Where Claims go: the source FHIR server, another FHIR server, or an NDJSON folder.

Epic's and Oracle Cerner's servers take no Claim writes, so the destination is a choice
of its own. A FHIR destination reads the server's CapabilityStatement once, at start-up
(:meth:`FhirDestination.check`), and refuses to start with a clear error when the server
cannot take Claims, unless a fallback destination (an NDJSON folder) is configured.

How a Claim is written depends on what the server declares:

* client ids (``update`` with ``updateCreate`` on Claim): ``PUT Claim/{id}`` with the
  deterministic id, so any number of runs leave one Claim;
* otherwise a conditional create on the Claim's identifier (``If-None-Exist``), with the
  local ledger as the guard (conditional create is not atomic on every server);
* the Claim, its Provenance and, for a draft, the coder's Task in one transaction Bundle
  where the server takes transactions, else one request each, Claim first. Without client
  ids each write adds a Provenance (POST) and the Task is a conditional update on its
  identifier, so a Claim keeps one Task.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote
from uuid import uuid4

from adapters.fhir.capabilities import ServerCapabilities, read_capabilities
from adapters.fhir.client import FhirClient
from adapters.fhir.profiles import VendorProfile, choose_strategy, detect_profile
from adapters.fhir.rounds import ReadAlong
from adapters.fhir.writes import transaction, weak_etag
from adapters.writeback.ndjson import NdjsonFile
from fhir_coder.claim import CLAIM_IDENTIFIER_SYSTEM
from fhir_coder.errors import (
    ConfigurationError,
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
)
from fhir_coder.task import TASK_CODE_SYSTEM

__all__ = [
    "ClaimWrite",
    "Destination",
    "FhirDestination",
    "Found",
    "NdjsonDestination",
    "Written",
]


@dataclass(frozen=True, slots=True)
class ClaimWrite:
    """One Claim to write with what goes with it.

    ``server_id`` and ``version`` are set when the Claim is already on the destination
    (an update, sent with ``If-Match``). The Provenance's target and the Task's focus say
    ``Claim/{claim id}``; a destination that assigns ids itself rewrites them.
    """

    claim: dict[str, Any]
    provenance: dict[str, Any]
    task: dict[str, Any] | None = None
    server_id: str = ""
    version: str = ""


@dataclass(frozen=True, slots=True)
class Written:
    """What a destination did with a :class:`ClaimWrite`."""

    status: int | None  # the Claim entry's HTTP status (None for files)
    server_id: str  # the Claim's id on the destination
    version: str  # its version there ("" when the destination keeps none)
    existed: bool = False  # a conditional create found the Claim already there


@dataclass(frozen=True, slots=True)
class Found:
    """A Claim found on a destination: its id and version there, and what it says."""

    server_id: str
    version: str
    claim: dict[str, Any]


class Destination(Protocol):
    """A place Claims are written to."""

    @property
    def name(self) -> str:
        """A stable name for the ledger (the base URL, the folder)."""
        ...

    async def check(self) -> None:
        """Make sure Claims can be written here; raise ``ConfigurationError`` if not."""
        ...

    async def write(self, write: ClaimWrite) -> Written:
        """Write the Claim and its companions, all or nothing where the destination can."""
        ...

    async def read_claim(
        self, server_id: str, version: str = ""
    ) -> tuple[str, dict[str, Any]] | None:
        """The Claim ``server_id`` now, or as it was at ``version``, with its version.

        None when the destination does not have it (or keeps no versions, or no such
        version). Read after a 412, to see whether someone else changed the Claim.
        """
        ...

    async def find_claim(self, claim_id: str, along: ReadAlong | None = None) -> Found | None:
        """The Claim fhir-coder gave the id ``claim_id``, as the destination holds it now.

        Asked before writing a Claim the ledger does not know (a new ledger, another
        process's, a write whose answer was lost), so that nothing is overwritten blind.
        ``along`` is :meth:`read_along`'s read, answered already in gathering's round.
        """
        ...

    def read_along(self, claim_id: str, source: FhirClient) -> ReadAlong | None:
        """The read of ``claim_id`` gathering can make from ``source`` for :meth:`find_claim`.

        None when ``source`` is not where Claims go (or before :meth:`check`).
        """
        ...


def _declares(statement: dict[str, Any], resource_type: str, flag: str) -> bool:
    """Whether the server entry of ``statement`` sets ``flag`` true for ``resource_type``."""
    for rest in statement.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource") or []:
            if isinstance(resource, dict) and resource.get("type") == resource_type:
                return resource.get(flag) is True
    return False


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one FHIR server is written to, decided once at start-up."""

    client_ids: bool
    transaction: bool
    provenance: bool
    task: bool
    profile: VendorProfile


def _plan(statement: dict[str, Any], caps: ServerCapabilities, profile: VendorProfile) -> _Plan:
    def writable(resource_type: str) -> bool:
        return caps.supports(resource_type, "create") or caps.supports(resource_type, "update")

    return _Plan(
        client_ids=caps.supports("Claim", "update")
        and _declares(statement, "Claim", "updateCreate"),
        transaction=caps.transaction,
        provenance=writable("Provenance"),
        task=writable("Task"),
        profile=profile,
    )


def refusal_message(base_url: str, profile: VendorProfile) -> str:
    """The start-up error for a server that takes no Claim writes."""
    known = (
        f" ({profile.name} servers are known to refuse them)"
        if profile.claim_write is False
        else ""
    )
    return (
        f"{base_url} cannot take Claim writes: its CapabilityStatement declares neither create "
        f"nor update on Claim{known}. Write Claims to another FHIR server or to an NDJSON "
        "folder instead (the NDJSON fallback)."
    )


class FhirDestination:
    """Claims written to a FHIR server, with an optional fallback when it refuses them."""

    def __init__(
        self,
        client: FhirClient,
        *,
        fallback: Destination | None = None,
        client_ids: bool | None = None,
        name: str | None = None,
    ) -> None:
        self.client = client
        self._name = name  # a stable name when the URL is not (the demo's sandbox port)
        self.fallback = fallback
        self.client_ids = client_ids  # None: as the CapabilityStatement declares
        self._plan: _Plan | None = None
        self._delegate: Destination | None = None
        self._lock = asyncio.Lock()
        self.notes: list[str] = []

    @property
    def name(self) -> str:
        """The server's base URL (or the fallback's name once it took over)."""
        if self._delegate is not None:
            return self._delegate.name
        return self._name or self.client.base_url

    @property
    def mode(self) -> str:
        """How Claims are written, once checked: ``put``, ``conditional`` or ``fallback``."""
        if self._delegate is not None:
            return "fallback"
        if self._plan is None:
            return "unchecked"
        return "put" if self._plan.client_ids else "conditional"

    async def check(self) -> None:
        """Read ``/metadata`` once and decide how to write; refuse a server without Claim writes."""
        async with self._lock:
            if self._plan is not None or self._delegate is not None:
                return
            statement = await self.client.metadata()
            caps = read_capabilities(statement)
            profile = detect_profile(statement)
            if not choose_strategy(caps, profile).claim_write:
                if self.fallback is None:
                    raise ConfigurationError(refusal_message(self.client.base_url, profile))
                await self.fallback.check()
                self.notes.append(
                    refusal_message(self.client.base_url, profile).split(". Write")[0]
                    + f"; writing to {self.fallback.name} instead"
                )
                self._delegate = self.fallback
                return
            plan = _plan(statement, caps, profile)
            if self.client_ids is not None:
                plan = replace(plan, client_ids=self.client_ids and plan.client_ids)
            self._plan = plan

    async def write(self, write: ClaimWrite) -> Written:
        """Write ``write`` per the plan made at start-up."""
        await self.check()
        if self._delegate is not None:
            return await self._delegate.write(write)
        plan = self._plan
        if plan is None:  # pragma: no cover - check() sets one or the other
            raise AssertionError("no write plan")
        claim_entry, reference = _claim_entry(write, plan)
        if plan.transaction:
            # Not every server takes a conditional update inside a transaction (the sandbox
            # does not): without client ids the Task follows on its own, once the Claim has an id.
            companions = _companion_entries(write, plan, reference)
            later = [e for e in companions if "?" in e["request"]["url"]]
            entries = [claim_entry, *(e for e in companions if e not in later)]
            answer = await transaction(
                self.client,
                entries,
                plan.profile,
                resend_on_drop=bool(write.server_id) or plan.client_ids,
            )
            responses = [entry.get("response") or {} for entry in answer.get("entry") or []]
            if later:
                server_id, _ = _location((responses[0] if responses else {}).get("location"), None)
                resolved = f"Claim/{server_id or write.server_id or write.claim['id']}"
                for entry in _companion_entries(write, plan, resolved):
                    if "?" in entry["request"]["url"]:
                        await self._one(entry)
        else:
            # a conditional create whose answer was lost is not sent again blind: the writer
            # looks for the Claim first (not atomic on HAPI or Azure: a second try can duplicate)
            responses = [await self._one(claim_entry, resend_on_drop=bool(write.server_id))]
            server_id, _ = _location(responses[0].get("location"), None)
            reference = f"Claim/{server_id or write.server_id or write.claim['id']}"
            responses += [
                await self._one(entry) for entry in _companion_entries(write, plan, reference)
            ]
        first = responses[0] if responses else {}
        status = _status(first.get("status"))
        server_id, version = _location(first.get("location"), first.get("etag"))
        return Written(
            status=status,
            server_id=server_id or write.server_id or str(write.claim["id"]),
            version=version,
            existed=status == 200 and not write.server_id and not plan.client_ids,
        )

    async def _one(self, entry: dict[str, Any], *, resend_on_drop: bool = True) -> dict[str, Any]:
        """One entry sent on its own; its answer in the shape of a transaction response."""
        request = entry["request"]
        headers = {}
        if request.get("ifMatch"):
            headers["If-Match"] = request["ifMatch"]
        if request.get("ifNoneExist"):
            headers["If-None-Exist"] = request["ifNoneExist"]
        response, _ = await self.client.request(
            request["method"],
            request["url"],
            json_body=entry["resource"],
            headers=headers,
            resend_on_drop=resend_on_drop,
        )
        return {
            "status": str(response.status_code),
            "location": response.headers.get("location"),
            "etag": response.headers.get("etag"),
        }

    async def read_claim(
        self, server_id: str, version: str = ""
    ) -> tuple[str, dict[str, Any]] | None:
        """The Claim on the server (a vread when ``version``) and its version.

        The version is ``meta.versionId``, else the ETag's. None for 404 or 410, and for a
        server that keeps no history (a vread refused with 400, 404 or 405).
        """
        if self._delegate is not None:
            return await self._delegate.read_claim(server_id, version)
        path = f"Claim/{server_id}/_history/{version}" if version else f"Claim/{server_id}"
        try:
            response, body = await self.client.request("GET", path)
        except FhirResponseError as exc:
            if exc.status_code in (404, 410) or (version and exc.status_code in (400, 405)):
                return None
            raise
        if not isinstance(body, dict):
            return None
        found = (body.get("meta") or {}).get("versionId")
        if found is None:
            etag = response.headers.get("etag")
            found = etag.removeprefix("W/").strip('"') if etag else ""
        return str(found), body

    def _lookup(self, claim_id: str) -> str | None:
        """How the Claim ``claim_id`` is looked up here: by its id, or by its identifier."""
        if self._plan is None or self._delegate is not None:
            return None
        if self._plan.client_ids:
            return f"Claim/{claim_id}"
        key = quote(f"{CLAIM_IDENTIFIER_SYSTEM}|{claim_id}", safe="")
        return f"Claim?identifier={key}&_count=2"

    def read_along(self, claim_id: str, source: FhirClient) -> ReadAlong | None:
        """The look-up, to ride in gathering's first round when ``source`` is this server."""
        url = self._lookup(claim_id)
        return ReadAlong(url) if url is not None and source is self.client else None

    async def find_claim(self, claim_id: str, along: ReadAlong | None = None) -> Found | None:
        """``GET Claim/{id}`` where the server takes client ids, else a search by identifier.

        ``along``'s answer is used when it is this look-up's. More than one match (a
        conditional create that was not atomic) is a 412: a person must merge them,
        fhir-coder does not pick one.
        """
        await self.check()
        if self._delegate is not None:
            return await self._delegate.find_claim(claim_id)
        url = self._lookup(claim_id)
        answer = along.answer if along is not None and along.url == url else None
        if isinstance(answer, FhirError):
            if not isinstance(answer, FhirNotFoundError):
                answer = None  # read again below, where its error is raised as it should be
            elif self._plan is not None and self._plan.client_ids:
                return None
        if self._plan is not None and self._plan.client_ids:
            if isinstance(answer, dict):
                version = str((answer.get("meta") or {}).get("versionId") or "")
                return Found(claim_id, version, answer)
            read = await self.read_claim(claim_id)
            return None if read is None else Found(claim_id, read[0], read[1])
        if isinstance(answer, dict):
            matches = [
                entry["resource"]
                for entry in answer.get("entry") or []
                if isinstance(entry, dict)
                and isinstance(entry.get("resource"), dict)
                and entry["resource"].get("resourceType") == "Claim"
            ]
        else:
            key = f"{CLAIM_IDENTIFIER_SYSTEM}|{claim_id}"
            matches = [
                claim
                async for claim in self.client.search("Claim", {"identifier": key, "_count": "2"})
            ]
        return self._one_match(claim_id, matches)

    def _one_match(self, claim_id: str, matches: list[dict[str, Any]]) -> Found | None:
        if not matches:
            return None
        if len(matches) > 1:
            raise FhirResponseError(
                f"{len(matches)} Claims on {self.client.base_url} carry the identifier of "
                f"{claim_id}: not written; merge them",
                url=f"{self.client.base_url}/Claim",
                status_code=412,
            )
        claim = matches[0]
        version = str((claim.get("meta") or {}).get("versionId") or "")
        return Found(str(claim.get("id", "")), version, claim)


def _claim_entry(write: ClaimWrite, plan: _Plan) -> tuple[dict[str, Any], str]:
    """The Claim's entry, and the reference its companions use for it in the same Bundle."""
    claim = write.claim
    if write.server_id or plan.client_ids:
        target = write.server_id or str(claim["id"])
        request: dict[str, Any] = {"method": "PUT", "url": f"Claim/{target}"}
        if write.version:
            request["ifMatch"] = weak_etag(write.version)
        entry = {"fullUrl": f"Claim/{target}", "resource": claim | {"id": target}}
        return entry | {"request": request}, f"Claim/{target}"
    placeholder = f"urn:uuid:{uuid4()}"
    entry = {
        "fullUrl": placeholder,
        "resource": {k: v for k, v in claim.items() if k != "id"},
        "request": {
            "method": "POST",
            "url": "Claim",
            "ifNoneExist": f"identifier={CLAIM_IDENTIFIER_SYSTEM}|{claim['id']}",
        },
    }
    return entry, placeholder


def _companion_entries(
    write: ClaimWrite, plan: _Plan, claim_reference: str
) -> list[dict[str, Any]]:
    """The Provenance and Task entries, pointed at ``claim_reference``."""
    entries: list[dict[str, Any]] = []
    for resource, wanted in ((write.provenance, plan.provenance), (write.task, plan.task)):
        if resource is None or not wanted:
            continue
        linked = _retarget(resource, f"Claim/{write.claim['id']}", claim_reference)
        if plan.client_ids:
            url = f"{resource['resourceType']}/{resource['id']}"
            entries.append({"resource": linked, "request": {"method": "PUT", "url": url}})
        elif resource["resourceType"] == "Task":  # one Task per Claim: a conditional update
            body = {k: v for k, v in linked.items() if k != "id"}
            url = f"Task?identifier={TASK_CODE_SYSTEM}|{resource['id']}"
            entries.append({"resource": body, "request": {"method": "PUT", "url": url}})
        else:
            body = {k: v for k, v in linked.items() if k != "id"}
            request = {"method": "POST", "url": str(resource["resourceType"])}
            entries.append({"resource": body, "request": request})
    return entries


def _retarget(resource: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    if not new or old == new:
        return resource
    out = dict(resource)
    if "target" in out:
        out["target"] = [{"reference": new}]
    if "focus" in out:
        out["focus"] = {"reference": new}
    return out


def _status(value: object) -> int | None:
    text = str(value or "").strip().split(" ", 1)[0]
    return int(text) if text.isdigit() else None


def _location(location: object, etag: object) -> tuple[str, str]:
    """The id and version a response's ``location`` (``Claim/1/_history/2``) and ETag give."""
    text = str(location or "")
    head, _, history = text.partition("/_history/")
    server_id = head.rstrip("/").rsplit("/", 1)[-1] if head else ""
    version = history.strip("/")
    if not version and etag:
        version = str(etag).removeprefix("W/").strip('"')
    return server_id, version


class NdjsonDestination:
    """Claims appended to ``Bundle.ndjson`` in a folder, one transaction Bundle a write.

    A folder has no ids, versions or conditional create: exactly-once comes from the
    ledger and from the file's own index (:mod:`adapters.writeback.ndjson`). A recoded
    Claim is appended again under the same id, the later line superseding the earlier (as
    a bulk-data consumer reading by id does); its version is the line's byte offset.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = NdjsonFile(folder)

    @property
    def name(self) -> str:
        """``ndjson:`` and the folder's absolute path."""
        return f"ndjson:{self.folder.resolve()}"

    async def check(self) -> None:
        """The folder exists (it is made) and is writable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot use {self.folder} for NDJSON Claims: {exc}") from exc
        if not os.access(self.folder, os.W_OK):
            raise ConfigurationError(f"cannot write NDJSON Claims to {self.folder}: not writable")

    async def write(self, write: ClaimWrite) -> Written:
        """Append the Claim with its Provenance and Task as one complete, fsynced line.

        The line's offset is the Claim's version: a write made on another version than the
        Claim's last line (an append this writer did not record: a crash, another process)
        is refused with a 412, as ``If-Match`` is on a server, and the writer looks again.
        """
        resources = [r for r in (write.claim, write.provenance, write.task) if r is not None]
        after = int(write.version) if write.version.isdigit() else -1
        offset = await asyncio.to_thread(self._file.append, resources, after=after)
        claim_id = str(write.claim["id"])
        if offset is None:
            raise FhirResponseError(
                f"Claim/{claim_id} in {self.name} has a later line than version {write.version}",
                url=f"{self.name}/Claim/{claim_id}",
                status_code=412,
            )
        return Written(status=None, server_id=claim_id, version=str(offset))

    async def read_claim(
        self, server_id: str, version: str = ""
    ) -> tuple[str, dict[str, Any]] | None:
        """The latest line of the Claim (a file keeps no versions to vread)."""
        if version:
            return None
        found = await self.find_claim(server_id)
        return None if found is None else (found.version, found.claim)

    def read_along(self, claim_id: str, source: FhirClient) -> ReadAlong | None:
        """Nothing to read along: the folder is read here."""
        del claim_id, source
        return None

    async def find_claim(self, claim_id: str, along: ReadAlong | None = None) -> Found | None:
        """The last line appended for ``claim_id``, by this process or another."""
        del along
        latest = await asyncio.to_thread(self._file.latest, claim_id)
        return None if latest is None else Found(claim_id, str(latest[0]), latest[1])
