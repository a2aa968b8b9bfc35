"""The HTTP face of :mod:`sandbox.bulk_export`: kick-off, status, deletion and the files.

- ``GET``/``POST [base]/$export``, ``Patient/$export``, ``Group/{id}/$export``: ``202`` with
  ``Content-Location`` (the kick-off needs ``Prefer: respond-async``);
- ``GET [base]/$export-status/{job}``: ``202`` with ``X-Progress`` and ``Retry-After`` while
  the job runs, ``200`` with the manifest, ``500`` with an OperationOutcome if it failed,
  ``404`` once deleted;
- ``DELETE [base]/$export-status/{job}``: ``202``, the job cancelled and its files removed;
- ``GET [base]/$export-files/{job}/{file}``: the NDJSON file (``Range`` honoured, to resume).

With authentication on, every route needs a bearer token (SMART Backend Services or a
configured one), the manifest says ``requiresAccessToken: true``, and a kick-off needs read
access to each type it names (without ``_type``, the export holds the types the token may
read).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome
from sandbox.auth_http import authorize
from sandbox.bulk_export import ExportJobs, parse_export_request
from sandbox.problems import FhirRequestError, problem
from sandbox.routing import Route, outcome_response
from sandbox.wire import FhirResponse, fhir_base_url, read_json_body

__all__ = ["export_routes"]

_NDJSON = "application/fhir+ndjson"
_MAX_PARAMETERS_BYTES = 64 * 1024


def _may(request: Request, kind: str, letter: str) -> bool:
    try:
        authorize(request, kind, letter)
    except FhirRequestError:
        return False
    return True


def _value(parameter: dict[str, Any]) -> str | None:
    for key, value in parameter.items():
        if key.startswith("value") and isinstance(value, str):
            return value
    return None


async def _items(request: Request) -> list[tuple[str, str]]:
    """The kick-off's parameters: the query string, or a POSTed ``Parameters`` resource."""
    items = list(request.query_params.multi_items())
    if request.method != "POST":
        return items
    body = await read_json_body(request, limit=_MAX_PARAMETERS_BYTES)
    if body.get("resourceType") != "Parameters":
        raise problem(400, IssueCode.INVALID, "a POSTed $export takes a Parameters resource")
    for parameter in body.get("parameter") or []:
        value = _value(parameter) if isinstance(parameter, dict) else None
        if value is None or not isinstance(parameter.get("name"), str):
            raise problem(400, IssueCode.INVALID, "each parameter needs a name and a value")
        items.append((parameter["name"], value))
    return items


def export_routes(  # noqa: C901 - one closure per route
    jobs: ExportJobs, base: str, *, requires_token: bool
) -> list[Route]:
    """The routes, closed over the jobs they start and answer for."""

    async def kickoff(request: Request, level: str, group_id: str = "") -> Response:
        prefer = request.headers.get("prefer", "")
        if "respond-async" not in prefer:
            raise problem(400, IssueCode.INVALID, "$export needs the header Prefer: respond-async")
        fhir_base = fhir_base_url(request, base)
        parsed = parse_export_request(
            await _items(request),
            level=level,
            request_url=str(request.url),
            fhir_base=fhir_base,
            lenient="handling=lenient" in prefer,
            group_id=group_id,
        )
        for kind in parsed.types or ():
            authorize(request, kind, "r")
        if level != "system":
            authorize(request, "Patient", "r")
        if level == "group":
            authorize(request, "Group", "r")
        job = jobs.start(
            parsed,
            may_read=lambda kind: _may(request, kind, "r"),
            requires_token=requires_token,
            fhir_base=fhir_base,
        )
        outcome = operation_outcome(
            Issue(Severity.INFORMATION, IssueCode.INFORMATIONAL, f"export {job.id} started")
        )
        location = f"{fhir_base}/$export-status/{job.id}"
        return FhirResponse(outcome, status_code=202, headers={"Content-Location": location})

    async def system(request: Request) -> Response:
        return await kickoff(request, "system")

    async def patients(request: Request) -> Response:
        return await kickoff(request, "patient")

    async def group(group_id: str, request: Request) -> Response:
        return await kickoff(request, "group", group_id)

    def job_or_404(job_id: str) -> Any:  # noqa: ANN401 - the ExportJob
        job = jobs.jobs.get(job_id)
        if job is None:
            raise problem(404, IssueCode.NOT_FOUND, f"no export {job_id} (finished and deleted?)")
        return job

    async def status(job_id: str, request: Request) -> Response:
        job = job_or_404(job_id)
        if job.state == "running":
            headers = {"X-Progress": job.progress, "Retry-After": str(jobs.retry_after)}
            return Response(status_code=202, headers=headers)
        if job.state == "failed" and job.failure is not None:
            return outcome_response(job.failure)
        manifest = job.manifest(f"{fhir_base_url(request, base)}/$export-files")
        return FhirResponse(manifest, media_type="application/json")

    async def cancel(job_id: str, request: Request) -> Response:
        del request
        if not jobs.delete(job_id):
            raise problem(404, IssueCode.NOT_FOUND, f"no export {job_id}")
        outcome = operation_outcome(
            Issue(Severity.INFORMATION, IssueCode.INFORMATIONAL, f"export {job_id} deleted")
        )
        return FhirResponse(outcome, status_code=202)

    async def download(job_id: str, file_name: str, request: Request) -> Response:
        job = job_or_404(job_id)
        found = job.files.get(file_name) if job.state == "done" else None
        if found is None:
            raise problem(404, IssueCode.NOT_FOUND, f"export {job_id} has no file {file_name}")
        path, kind = found
        if kind != "OperationOutcome":
            authorize(request, kind, "r")
        return FileResponse(path, media_type=_NDJSON, filename=None)

    return [
        Route("GET", "/$export", system),
        Route("POST", "/$export", system),
        Route("GET", "/Patient/$export", patients),
        Route("POST", "/Patient/$export", patients),
        Route("GET", "/Group/{group_id}/$export", group),
        Route("POST", "/Group/{group_id}/$export", group),
        Route("GET", "/$export-status/{job_id}", status),
        Route("DELETE", "/$export-status/{job_id}", cancel),
        Route("GET", "/$export-files/{job_id}/{file_name}", download),
    ]
