"""A FHIR Bulk Data export, fetched to a folder and resumable at every step.

The IG's flow: kick-off (``GET [base]/$export``, ``Patient/$export`` or
``Group/[id]/$export`` with ``Prefer: respond-async``) -> ``202`` and the status URL in
``Content-Location`` -> poll it, waiting what ``Retry-After`` says -> ``200`` and the
manifest -> download each file -> ``DELETE`` the status URL. Real exports take hours, and
the command that waits for one may be stopped, so every step is written down first in
``export-state.json`` in the folder (replaced atomically): a restarted export polls the
status URL it was given instead of starting another export, a downloaded file is not
fetched again, and a half-downloaded one continues from its last byte (``Range``).

``_type`` goes comma-joined in one parameter and so does ``_typeFilter`` (each query
URL-quoted first, so its own commas and ampersands survive): some servers refuse repeated
parameters. Credentials go only to the server's own origin: a manifest that asks for the
token at another origin is refused rather than obeyed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urljoin

import httpx
import orjson

from adapters.fhir.client import FhirClient
from adapters.fhir.retry import server_delay
from fhir_coder.errors import FhirError, FhirResponseError, FhirTransportError, NotFhirError
from fhir_coder.outcome import outcome_text

__all__ = [
    "STATE_FILE",
    "BulkExport",
    "ExportGoneError",
    "ExportProgress",
    "ExportResult",
    "ExportSpec",
    "read_state",
    "write_state",
]

STATE_FILE: Final = "export-state.json"
NDJSON: Final = "application/fhir+ndjson"
DEFAULT_WAIT_SECONDS: Final = 2.0  # when a server sends 202 without Retry-After
MAX_WAIT_SECONDS: Final = 600.0  # a Retry-After above this is capped: keep polling
MAX_TRANSPORT_RETRIES: Final = 8  # dropped downloads resumed this often in a row
DEFAULT_DOWNLOADS: Final = 4
"""Files fetched at once. An export is one file per type (or several per type, split by
size), each a long stream: fetched one after another, a run waits on each server's slowest
file in turn. A few at a time is what servers expect of a bulk client; more only adds
load on the server (each request still has the client's timeout)."""
MAX_DOWNLOADS: Final = 16
_CHUNK: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What to export: the level, the types, the window, the filters."""

    level: str = "system"  # "system", "patient" or "group"
    group_id: str = ""
    types: tuple[str, ...] = ()
    since: str | None = None
    type_filters: tuple[str, ...] = ()  # "Encounter?status=finished", as FHIR writes it

    def kickoff_url(self) -> str:
        """The kick-off path and query, relative to the base URL."""
        path = {
            "system": "$export",
            "patient": "Patient/$export",
            "group": f"Group/{quote(self.group_id, safe='')}/$export",
        }[self.level]
        query: list[str] = []
        if self.types:
            query.append("_type=" + ",".join(quote(t, safe="") for t in self.types))
        if self.since:
            query.append("_since=" + quote(self.since, safe=""))
        if self.type_filters:
            query.append("_typeFilter=" + ",".join(quote(f, safe="") for f in self.type_filters))
        return path + ("?" + "&".join(query) if query else "")


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """What the export is doing now, for a progress line."""

    phase: str  # "kick-off", "waiting", "downloading", "done"
    detail: str = ""  # the server's X-Progress, or the file being fetched
    files_done: int = 0
    files_total: int = 0
    by_type: tuple[tuple[str, int], ...] = ()  # resources per type fetched so far


@dataclass(slots=True)
class ExportResult:
    """An export on disk: its manifest, its files, and what this run fetched."""

    folder: Path
    transaction_time: str
    files: list[Path]
    error_files: list[Path]
    downloaded_now: int
    already_had: int
    resumed: bool  # the export was picked up where an earlier run left it
    requests: int  # HTTP exchanges this run made
    by_type: dict[str, int] = field(default_factory=dict)


class ExportGoneError(FhirResponseError):
    """The server answers 404 or 410 for the export's status: it expired or was deleted."""


def _failure(response: httpx.Response, what: str) -> FhirResponseError:
    """The error for an error status, with the OperationOutcome the server sent, if any."""
    where = str(response.request.url.copy_with(query=None))
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    outcome = (
        body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
    )
    said = outcome_text(outcome)
    message = f"{what}: {where} answered HTTP {response.status_code}" + (
        f": {said}" if said else ""
    )
    return FhirResponseError(message, url=where, status_code=response.status_code, outcome=outcome)


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (a crash leaves the old or the new, never half)."""
    path = folder / STATE_FILE
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        out.write(orjson.dumps(state, option=orjson.OPT_INDENT_2))
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def read_state(folder: Path) -> dict[str, Any] | None:
    """The state an earlier run wrote in ``folder``, or None."""
    path = folder / STATE_FILE
    if not path.exists():
        return None
    loaded = orjson.loads(path.read_bytes())
    return loaded if isinstance(loaded, dict) else None


class BulkExport:
    """One export of ``fhir``'s server into ``folder``; :meth:`run` starts or resumes it.

    ``progress`` is told what happens (at most a few times a second while downloading);
    ``sleep`` waits between polls (tests pass a fake clock); ``downloads`` files are
    fetched at once (1 to :data:`MAX_DOWNLOADS`).
    """

    def __init__(
        self,
        fhir: FhirClient,
        folder: Path,
        spec: ExportSpec,
        *,
        progress: Callable[[ExportProgress], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        downloads: int = DEFAULT_DOWNLOADS,
    ) -> None:
        if not 1 <= downloads <= MAX_DOWNLOADS:
            raise ValueError(f"downloads must be 1 to {MAX_DOWNLOADS}, not {downloads}")
        self.fhir = fhir
        self.downloads = downloads
        self.folder = folder
        self.spec = spec
        self.progress = progress
        self.sleep = sleep
        self._requests_at_start = 0

    def _tell(self, event: ExportProgress) -> None:
        if self.progress is not None:
            self.progress(event)

    async def run(self) -> ExportResult:
        """Kick off (or pick up) the export, wait for it, download every file, delete it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._requests_at_start = self.fhir.round_trips
        state = read_state(self.folder)
        same = orjson.loads(orjson.dumps(asdict(self.spec)))  # as the state file holds it
        resumed = (
            state is not None
            and state.get("spec") == same
            and (state.get("base_url") == self.fhir.base_url)
        )
        if not resumed or state is None:
            state = await self._kick_off()
        if state.get("manifest") is None:
            try:
                manifest = await self._wait(state)
            except ExportGoneError:
                if not resumed:
                    raise
                resumed = False  # it expired while we were away: ask for it again
                state = await self._kick_off()
                manifest = await self._wait(state)
            state["manifest"] = manifest
            state["files"] = self._plan(manifest)
            write_state(self.folder, state)
        fetched = await self._download_all(state)
        if not state.get("deleted"):
            await self._delete(state)
        self._tell(ExportProgress("done", files_done=len(state["files"]),
                                  files_total=len(state["files"])))  # fmt: skip
        return self._result(state, fetched, resumed=resumed)

    # Kick-off and polling

    async def _kick_off(self) -> dict[str, Any]:
        self._tell(ExportProgress("kick-off"))
        response, _ = await self.fhir.exchange(
            "GET", self.spec.kickoff_url(), headers={"Prefer": "respond-async"}
        )
        location = response.headers.get("content-location")
        if response.status_code != 202 or not location:
            raise NotFhirError(
                f"{self.fhir.base_url}: the $export kick-off answered HTTP "
                f"{response.status_code} without a status URL (Content-Location)",
                url=self.fhir.base_url,
            )
        status_url = urljoin(self.fhir.base_url + "/", location)
        if not self.fhir.same_origin(status_url):
            raise NotFhirError(
                f"{self.fhir.base_url}: the export's status URL is on another origin; not followed",
                url=self.fhir.base_url,
            )
        for stale in self.folder.iterdir():  # files of an earlier, different export
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.name != STATE_FILE:
                stale.unlink()
        state: dict[str, Any] = {
            "spec": asdict(self.spec),
            "base_url": self.fhir.base_url,
            "status_url": status_url,
            "kicked_off": time.time(),
            "manifest": None,
            "files": [],
        }
        write_state(self.folder, state)
        return state

    async def _wait(self, state: dict[str, Any]) -> dict[str, Any]:
        """Poll the status URL until the manifest comes, waiting as the server asks.

        ``202`` (running), ``429`` and ``503`` wait for ``Retry-After``; a dropped
        connection is tried again; ``404``/``410`` mean the server no longer knows the
        export (:class:`ExportGoneError`); any other error status is the export's failure,
        raised with the server's OperationOutcome.
        """
        failures = 0
        while True:
            try:
                async with self.fhir.stream("GET", state["status_url"]) as response:
                    await response.aread()
            except FhirTransportError:
                failures += 1
                if failures > MAX_TRANSPORT_RETRIES:
                    raise
                await self.sleep(min(30.0, 0.5 * 2**failures))
                continue
            failures = 0
            status = response.status_code
            if status == 200:
                return self._manifest(response.content)
            if status in (404, 410):
                raise ExportGoneError(
                    f"{self.fhir.base_url}: the server no longer knows the export (HTTP {status})",
                    url=self.fhir.base_url,
                    status_code=status,
                )
            if status not in (202, 429, 503):
                raise _failure(response, "the export failed")
            self._tell(ExportProgress("waiting", detail=response.headers.get("x-progress", "")))
            asked = server_delay(response.headers)
            await self.sleep(
                DEFAULT_WAIT_SECONDS if asked is None else min(asked, MAX_WAIT_SECONDS)
            )

    def _manifest(self, content: bytes) -> dict[str, Any]:
        try:
            manifest = orjson.loads(content)
        except orjson.JSONDecodeError:
            manifest = None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("output"), list):
            raise NotFhirError(
                f"{self.fhir.base_url}: the export finished without a manifest",
                url=self.fhir.base_url,
            )
        return manifest

    def _plan(self, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        """One entry per file to fetch: where from, where to, whether it needs the token."""
        needs_token = bool(manifest.get("requiresAccessToken"))
        planned: list[dict[str, Any]] = []
        numbers: dict[str, int] = {}
        for group, folder in (("output", ""), ("error", "errors/")):
            for item in manifest.get(group) or []:
                if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                    continue
                kind = str(item.get("type") or "unknown")
                numbers[kind] = numbers.get(kind, 0) + 1
                url = urljoin(self.fhir.base_url + "/", item["url"])
                if needs_token and not self.fhir.same_origin(url):
                    raise NotFhirError(
                        f"{self.fhir.base_url}: the manifest wants the access token sent to "
                        "another origin; refused",
                        url=self.fhir.base_url,
                    )
                planned.append(
                    {
                        "url": url,
                        "type": kind,
                        "count": item.get("count"),
                        "name": f"{folder}{kind}.{numbers[kind]:03d}.ndjson",
                        "error": group == "error",
                        "token": needs_token,
                        "done": False,
                        "size": 0,
                    }
                )
        return planned

    # Downloads

    async def _download_all(self, state: dict[str, Any]) -> int:
        """Fetch every file not yet on disk, :attr:`downloads` at a time; how many were.

        Each finished file is written down in the state at once (the event loop runs one
        worker at a time between awaits, so the state is never written half-changed). The
        first failure stops the others: their ``.part`` files stay, and the next run
        resumes each from its last byte.
        """
        files = state["files"]
        waiting = iter([i for i in files if not (i["done"] and (self.folder / i["name"]).exists())])
        fetched = 0

        async def worker() -> None:
            nonlocal fetched
            for item in waiting:  # shared: each file goes to one worker
                self._tell(
                    ExportProgress(
                        "downloading",
                        detail=item["type"],
                        files_done=sum(1 for f in files if f["done"]),
                        files_total=len(files),
                        by_type=self._by_type(files),
                    )
                )
                item["size"] = await self._download(item)
                item["done"] = True
                fetched += 1
                write_state(self.folder, state)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.downloads):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the first failure, as one at a time gave
        return fetched

    async def _download(self, item: dict[str, Any]) -> int:
        """Fetch one file into place, resuming a ``.part`` left by an earlier try."""
        target = self.folder / str(item["name"])
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        failures = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            # identity: byte ranges then count the bytes written, not a compressed stream's
            headers = {"Accept": NDJSON, "Accept-Encoding": "identity"}
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                await self._fetch(item, part, have, headers)
            except FhirTransportError:
                failures += 1
                if failures > MAX_TRANSPORT_RETRIES:
                    raise
                await self.sleep(min(30.0, 0.5 * 2**failures))
                continue
            part.replace(target)
            return target.stat().st_size

    async def _fetch(
        self, item: dict[str, Any], part: Path, have: int, headers: dict[str, str]
    ) -> None:
        async with self.fhir.stream(
            "GET", item["url"], headers=headers, send_auth=item["token"]
        ) as response:
            if response.status_code == 416 and have:  # the part is already whole
                return
            if response.status_code >= 400:
                await response.aread()
                raise _failure(response, "a download failed")
            append = response.status_code == 206 and have > 0
            with part.open("ab" if append else "wb") as out:
                async for chunk in response.aiter_raw(_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())

    async def _delete(self, state: dict[str, Any]) -> None:
        """Tell the server it may drop the export (best effort: a 404 means it did)."""
        with contextlib.suppress(FhirError):
            await self.fhir.exchange("DELETE", state["status_url"])
        state["deleted"] = True
        write_state(self.folder, state)

    @staticmethod
    def _by_type(files: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
        counts: dict[str, int] = {}
        for item in files:
            if item["done"] and not item["error"] and isinstance(item.get("count"), int):
                counts[item["type"]] = counts.get(item["type"], 0) + item["count"]
        return tuple(sorted(counts.items()))

    def _result(self, state: dict[str, Any], fetched: int, *, resumed: bool) -> ExportResult:
        files = state["files"]
        return ExportResult(
            folder=self.folder,
            transaction_time=str(state["manifest"].get("transactionTime") or ""),
            files=[self.folder / f["name"] for f in files if not f["error"]],
            error_files=[self.folder / f["name"] for f in files if f["error"]],
            downloaded_now=fetched,
            already_had=len(files) - fetched,
            resumed=resumed,
            requests=self.fhir.round_trips - self._requests_at_start,
            by_type=dict(self._by_type(files)),
        )
