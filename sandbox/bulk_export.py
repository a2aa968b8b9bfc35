"""FHIR Bulk Data ``$export``: jobs that write the store out as NDJSON files, one per type.

The Bulk Data Access IG's flow: a kick-off (``GET [base]/$export``, ``Patient/$export``,
``Group/[id]/$export`` with ``Prefer: respond-async``) starts a job and answers ``202``
with its status URL in ``Content-Location``; polling the status URL answers ``202`` with
``X-Progress`` and ``Retry-After`` while the job runs, then ``200`` with the manifest
(``transactionTime``, ``request``, ``requiresAccessToken``, ``output[]`` of ``{type, url,
count}``, ``error[]``); the files are NDJSON (``application/fhir+ndjson``, ranges served so
a client can resume); ``DELETE`` of the status URL cancels the job and removes its files.

Jobs run on the server's event loop, one page of 500 resources at a time, so requests are
served meanwhile. ``transactionTime`` is taken before the first page is read: a client
that asks next time ``_since`` it misses nothing written during the export. Jobs live in
memory (a restarted sandbox forgets them) and their files in a folder beside the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome
from sandbox.clock import now_instant
from sandbox.criteria import Criterion, Cursor
from sandbox.problems import FhirRequestError, problem
from sandbox.resource_types import is_resource_type
from sandbox.search import parse_search
from sandbox.searchparams import params_for
from sandbox.store import Store, StoredResource

__all__ = ["ExportJob", "ExportJobs", "ExportRequest", "parse_export_request"]

PAGE: Final = 500
MAX_JOBS: Final = 20
"""Jobs kept at once; the oldest finished one goes when a new one starts (a sandbox's disk)."""
REFERENCED_TYPES: Final = ("Practitioner", "PractitionerRole", "Organization", "Location")
"""What a patient-level export adds when its resources name them (the IG allows it): the
providers and places a claim needs, which are in no patient's compartment."""
NDJSON_FORMATS: Final = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
_KNOWN_PARAMS: Final = frozenset({"_type", "_since", "_typeFilter", "_outputFormat"})


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """A kick-off, read and checked: what to export and from which patients."""

    level: str  # "system", "patient" or "group"
    request_url: str
    types: tuple[str, ...] | None  # None: every type the store holds and the token may read
    since: str | None
    type_filters: dict[str, list[tuple[Criterion, ...]]]
    group_id: str = ""


@dataclass(slots=True)
class ExportJob:
    """One export: its request, where it stands, and what it wrote."""

    id: str
    request: ExportRequest
    folder: Path
    transaction_time: str
    requires_token: bool
    state: str = "running"  # running, done, failed
    progress: str = "starting"
    output: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # messages for the error file
    failure: FhirRequestError | None = None
    files: dict[str, tuple[Path, str]] = field(default_factory=dict)  # name -> path, type
    task: asyncio.Task[None] | None = None

    def manifest(self, files_base: str) -> dict[str, Any]:
        """The completion manifest, its file URLs under ``files_base``."""
        output = [
            {"type": item["type"], "url": f"{files_base}/{self.id}/{item['name']}",
             "count": item["count"]}
            for item in self.output
        ]  # fmt: skip
        error = (
            [{"type": "OperationOutcome", "url": f"{files_base}/{self.id}/errors.ndjson"}]
            if self.errors
            else []
        )
        return {
            "transactionTime": self.transaction_time,
            "request": self.request.request_url,
            "requiresAccessToken": self.requires_token,
            "output": output,
            "error": error,
        }


def _bad(message: str, expression: str = "") -> FhirRequestError:
    return problem(400, IssueCode.INVALID, message, expression=(expression,) if expression else ())


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_export_request(
    items: list[tuple[str, str]],
    *,
    level: str,
    request_url: str,
    fhir_base: str,
    lenient: bool,
    group_id: str = "",
) -> ExportRequest:
    """The kick-off's parameters, checked; a 400 naming the first one that is wrong.

    ``_type`` and ``_typeFilter`` take comma-joined values and repeats alike (some clients
    send one, some the other). A parameter the sandbox does not support is a 400 unless
    the client said ``Prefer: handling=lenient``, as the IG asks.
    """
    unknown = sorted({k for k, _ in items if k not in _KNOWN_PARAMS})
    if unknown and not lenient:
        raise problem(
            400, IssueCode.NOT_SUPPORTED, f"$export does not support {', '.join(unknown)}"
        )
    formats = [v for k, v in items if k == "_outputFormat"]
    if any(f not in NDJSON_FORMATS for f in formats):
        raise _bad(f"_outputFormat {formats[0]!r}: only application/fhir+ndjson", "_outputFormat")
    types: tuple[str, ...] | None = None
    named = _split(v for k, v in items if k == "_type")
    if named:
        for kind in named:
            if not is_resource_type(kind):
                raise _bad(f"_type {kind!r} is not an R4 resource type", "_type")
        types = tuple(dict.fromkeys(named))
    since = next((v for k, v in items if k == "_since"), None)
    if since is not None:  # a malformed instant is the search's own 400
        parse_search("Patient", [("_lastUpdated", f"gt{since}")], fhir_base=fhir_base)
    filters: dict[str, list[tuple[Criterion, ...]]] = {}
    for text in _split(v for k, v in items if k == "_typeFilter"):
        kind, mark, query = text.partition("?")
        if not mark or not is_resource_type(kind):
            raise _bad(f"_typeFilter {text!r} is not Type?search", "_typeFilter")
        if types is not None and kind not in types:
            raise _bad(f"_typeFilter {text!r} names a type _type leaves out", "_typeFilter")
        parsed = parse_search(kind, parse_qsl(query), fhir_base=fhir_base, strict=True)
        filters.setdefault(kind, []).append(parsed.criteria)
    return ExportRequest(
        level=level,
        request_url=request_url,
        types=types,
        since=since,
        type_filters=filters,
        group_id=group_id,
    )


class ExportJobs:
    """The export jobs of one store, their files in ``folder``."""

    def __init__(self, store: Store, folder: Path, *, retry_after: int = 1) -> None:
        self.store = store
        self.folder = folder
        self.retry_after = retry_after
        self.jobs: dict[str, ExportJob] = {}

    def start(
        self,
        request: ExportRequest,
        *,
        may_read: Callable[[str], bool],
        requires_token: bool,
        fhir_base: str,
    ) -> ExportJob:
        """Start a job on the running loop; the group (for a group export) must exist."""
        if request.level == "group":
            group = self.store.read("Group", request.group_id)
            if group is None:
                raise problem(404, IssueCode.NOT_FOUND, f"Group/{request.group_id} is not here")
        self._make_room()
        job_id = uuid.uuid4().hex
        job = ExportJob(
            id=job_id,
            request=request,
            folder=self.folder / job_id,
            transaction_time=now_instant(),
            requires_token=requires_token,
        )
        job.folder.mkdir(parents=True, exist_ok=True)
        self.jobs[job_id] = job
        job.task = asyncio.get_running_loop().create_task(
            self._run(job, may_read, fhir_base), name=f"export-{job_id}"
        )
        return job

    def _make_room(self) -> None:
        while len(self.jobs) >= MAX_JOBS:
            finished = [j for j in self.jobs.values() if j.state != "running"]
            if not finished:
                raise problem(429, IssueCode.THROTTLED, f"{MAX_JOBS} exports are running already")
            self.delete(finished[0].id)

    def delete(self, job_id: str) -> bool:
        """Cancel the job if it runs and remove its files; False when there is no such job."""
        job = self.jobs.pop(job_id, None)
        if job is None:
            return False
        if job.task is not None and not job.task.done():
            job.task.cancel()
        shutil.rmtree(job.folder, ignore_errors=True)
        return True

    async def aclose(self) -> None:
        """Cancel every running job and remove every file (the server is stopping)."""
        tasks = [j.task for j in self.jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.jobs.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    # The work

    async def _run(self, job: ExportJob, may_read: Callable[[str], bool], fhir_base: str) -> None:
        try:
            await self._export(job, may_read, fhir_base)
        except FhirRequestError as exc:
            job.state, job.failure = "failed", exc
            return
        if job.errors:
            lines = [orjson.dumps(operation_outcome(_error(m))) for m in job.errors]
            (job.folder / "errors.ndjson").write_bytes(b"\n".join(lines) + b"\n")
            job.files["errors.ndjson"] = (job.folder / "errors.ndjson", "OperationOutcome")
        job.state, job.progress = "done", "complete"

    def _types(self, job: ExportJob, may_read: Callable[[str], bool]) -> list[str]:
        if job.request.types is not None:
            return list(job.request.types)
        present = sorted(self.store.resource_types())
        return [kind for kind in present if may_read(kind)]

    def _patients(self, job: ExportJob) -> list[str] | None:
        """The patients of a patient- or group-level export; None for a system export."""
        if job.request.level == "system":
            return None
        if job.request.level == "patient":
            return [r.resource_id for r in self._all("Patient", ())]
        group = self.store.read("Group", job.request.group_id)
        members: list[str] = []
        for member in (group.resource if group else {}).get("member") or []:
            reference = str(((member or {}).get("entity") or {}).get("reference") or "")
            kind, _, member_id = reference.partition("/")
            if kind == "Patient" and self.store.read("Patient", member_id) is not None:
                members.append(member_id)
            else:
                job.errors.append(
                    f"Group/{job.request.group_id} member {reference!r} is no Patient here"
                )
        return members

    def _all(self, kind: str, criteria: tuple[Criterion, ...]) -> Iterable[StoredResource]:
        cursor: Cursor | None = None
        while True:
            page = self.store.search(kind, criteria, count=PAGE, cursor=cursor)
            yield from page.resources
            if not page.has_next or page.last_seq is None:
                return
            cursor = Cursor(after=page.last_seq)

    def _criteria_sets(
        self, job: ExportJob, kind: str, fhir_base: str, patients: list[str] | None
    ) -> list[tuple[Criterion, ...]] | None:
        """Each search to run for ``kind`` (their union is exported); None: not in scope.

        A system export searches the type (once per ``_typeFilter`` query, else once); a
        patient-level one only its patients' resources: the Patients by id, the types with
        a ``patient`` parameter patient by patient; other types are in no compartment.
        """
        request = job.request

        def search(*items: tuple[str, str]) -> tuple[Criterion, ...]:
            return parse_search(kind, list(items), fhir_base=fhir_base).criteria

        since = search(("_lastUpdated", f"gt{request.since}")) if request.since else ()
        filters = request.type_filters.get(kind) or [()]
        if patients is None:
            scopes: list[tuple[Criterion, ...]] = [()]
        elif kind == "Patient":
            scopes = [search(("_id", ",".join(patients)))] if patients else []
        elif "patient" in params_for(kind):
            scopes = [search(("patient", f"Patient/{patient}")) for patient in patients]
        else:
            return None
        return [(*f, *since, *who) for who in scopes for f in filters]

    async def _export(
        self, job: ExportJob, may_read: Callable[[str], bool], fhir_base: str
    ) -> None:
        types = self._types(job, may_read)
        patients = self._patients(job)
        referenced: dict[str, set[str]] = {kind: set() for kind in REFERENCED_TYPES}
        written: dict[str, set[str]] = {}
        for number, kind in enumerate(types, start=1):
            job.progress = f"{kind}: type {number} of {len(types)}"
            sets = self._criteria_sets(job, kind, fhir_base, patients)
            if sets is None:
                continue  # in no patient's compartment: added below when referenced
            seen = written.setdefault(kind, set())
            await self._write(job, kind, sets, seen, referenced if patients is not None else None)
        if patients is not None:
            for kind in REFERENCED_TYPES:
                if kind in types and referenced[kind]:
                    await self._write_ids(
                        job, kind, referenced[kind], written.setdefault(kind, set())
                    )

    async def _write(
        self,
        job: ExportJob,
        kind: str,
        sets: list[tuple[Criterion, ...]],
        seen: set[str],
        referenced: dict[str, set[str]] | None,
    ) -> None:
        lines: list[bytes] = []
        for criteria in sets:
            for resource in self._all(kind, criteria):
                if resource.resource_id in seen:
                    continue
                seen.add(resource.resource_id)
                lines.append(resource.json)
                if referenced is not None:
                    _collect_references(resource.resource, referenced)
                if len(lines) >= PAGE:
                    self._append(job, kind, lines)
                    lines = []
                    await asyncio.sleep(0)  # let requests in between pages
            await asyncio.sleep(0)
        self._append(job, kind, lines)

    async def _write_ids(self, job: ExportJob, kind: str, ids: set[str], seen: set[str]) -> None:
        lines = []
        for resource_id in sorted(ids - seen):
            found = self.store.read(kind, resource_id)
            if found is None:
                continue
            seen.add(resource_id)
            lines.append(found.json)
            if len(lines) >= PAGE:
                self._append(job, kind, lines)
                lines = []
                await asyncio.sleep(0)
        self._append(job, kind, lines)

    @staticmethod
    def _append(job: ExportJob, kind: str, lines: list[bytes]) -> None:
        if not lines:
            return
        name = f"{kind}.ndjson"
        path = job.folder / name
        with path.open("ab") as out:
            out.write(b"\n".join(lines) + b"\n")
        entry = next((o for o in job.output if o["name"] == name), None)
        if entry is None:
            entry = {"type": kind, "name": name, "count": 0}
            job.output.append(entry)
            job.files[name] = (path, kind)
        entry["count"] += len(lines)


def _error(message: str) -> Issue:
    return Issue(severity=Severity.ERROR, code=IssueCode.NOT_FOUND, message=message)


def _collect_references(node: object, found: dict[str, set[str]]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect_references(item, found)
    elif isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str):
            kind, _, rest = reference.partition("/")
            if kind in found and rest and "/" not in rest:
                found[kind].add(rest)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _collect_references(value, found)
