"""Transaction and batch Bundles (``POST /``): many interactions in one request.

A transaction is all or nothing: every entry is parsed, its ``urn:uuid:`` placeholders
rewritten to the ``Type/id`` the server gives it, every resource validated, and only then
are the writes made inside one SQLite transaction; any failure rolls them all back and the
answer is one OperationOutcome. A batch runs each entry on its own and reports each
entry's own status. Entries may be POST (create, conditional with ``ifNoneExist``), PUT
(update or create with the client's id), DELETE or GET (read, vread or search). In a
transaction, conditional references (``Practitioner?identifier=...``) are resolved to the one
resource they match. Other conditional interactions are refused, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome
from sandbox import operations
from sandbox.clock import now_instant
from sandbox.conditional import match_one, resolve_conditional_references
from sandbox.problems import FhirRequestError, problem, status_line
from sandbox.reference_check import unresolved_issues
from sandbox.references import is_valid_id
from sandbox.search import parse_search, run_search
from sandbox.store import Store, StoredResource

__all__ = ["process_bundle"]

_PLACEHOLDER = "urn:uuid:"
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}  # the processing order FHIR prescribes


@dataclass(slots=True)
class _Entry:
    """One parsed ``Bundle.entry``: what to do, to which resource."""

    index: int
    method: str
    resource_type: str
    resource_id: str | None = None
    version: str | None = None
    query: str | None = None
    resource: dict[str, Any] | None = None
    full_url: str = ""
    if_match: int | None = None
    if_none_exist: str | None = None
    existing: StoredResource | None = None  # the match of a conditional create

    @property
    def where(self) -> str:
        """The FHIRPath of the entry, for issue expressions."""
        return f"Bundle.entry[{self.index}]"


def _entry_problem(index: int, code: IssueCode, message: str) -> FhirRequestError:
    """A 400 about one entry, naming it in the message and the expression."""
    where = f"Bundle.entry[{index}]"
    return problem(400, code, f"{where}: {message}", expression=(where,))


def _relative(url: str, fhir_base: str, index: int) -> str:
    if url.startswith(("http://", "https://")):
        prefix = fhir_base.rstrip("/") + "/"
        if not fhir_base or not url.startswith(prefix):
            raise _entry_problem(
                index, IssueCode.NOT_SUPPORTED, f"request.url {url!r} is not on this server"
            )
        url = url[len(prefix) :]
    return url.strip("/")


def _request(index: int, raw: object) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """The entry, its ``request``, the method (upper case) and the url; or a 400."""
    if not isinstance(raw, dict):
        raise _entry_problem(index, IssueCode.STRUCTURE, "an entry must be a JSON object")
    request = raw.get("request")
    if not isinstance(request, dict):
        raise _entry_problem(index, IssueCode.REQUIRED, "request is required")
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise _entry_problem(
            index, IssueCode.REQUIRED, "request.method and request.url are required"
        )
    method = method.upper()
    if method not in _ORDER:
        raise _entry_problem(
            index,
            IssueCode.NOT_SUPPORTED,
            f"request.method {method} is not supported (POST, PUT, DELETE and GET are)",
        )
    for conditional in ("ifNoneMatch", "ifModifiedSince"):
        if conditional in request:
            raise _entry_problem(
                index,
                IssueCode.NOT_SUPPORTED,
                f"conditional request.{conditional} is not supported",
            )
    return raw, request, method, url


def _parse_entry(index: int, raw: object, fhir_base: str) -> _Entry:
    """Read one entry's request; refuse what the sandbox does not do."""
    raw_entry, request, method, url = _request(index, raw)
    path, _, query = _relative(url, fhir_base, index).partition("?")
    segments = path.split("/") if path else []
    if not segments:
        raise _entry_problem(index, IssueCode.INVALID, "request.url names no resource type")
    entry = _Entry(
        index=index,
        method=method,
        resource_type=segments[0],
        full_url=str(raw_entry.get("fullUrl") or ""),
    )
    operations.check_type(entry.resource_type)
    if method == "GET":
        return _parse_get(entry, segments, query)
    if method == "DELETE":
        return _parse_delete(entry, segments, query)
    if query:
        raise _entry_problem(
            index, IssueCode.NOT_SUPPORTED, f"conditional {method} ({url!r}) is not supported"
        )
    resource = raw_entry.get("resource")
    if not isinstance(resource, dict):
        raise _entry_problem(index, IssueCode.REQUIRED, f"a {method} entry needs a resource")
    entry.resource = resource
    if method == "POST":
        if len(segments) != 1:
            raise _entry_problem(
                index, IssueCode.INVALID, "a POST entry's request.url must be the resource type"
            )
        entry.resource_id = str(uuid4())
        condition = request.get("ifNoneExist")
        if isinstance(condition, str) and condition.strip():
            entry.if_none_exist = condition.strip().lstrip("?")
        return entry
    if len(segments) != 2 or not is_valid_id(segments[1]):
        raise _entry_problem(index, IssueCode.INVALID, "a PUT entry's request.url must be Type/id")
    entry.resource_id = segments[1]
    entry.if_match = operations.parse_if_match(request.get("ifMatch"))
    return entry


def _parse_delete(entry: _Entry, segments: list[str], query: str) -> _Entry:
    if len(segments) != 2 or query or not is_valid_id(segments[1]):
        raise _entry_problem(
            entry.index, IssueCode.NOT_SUPPORTED, "a DELETE entry's request.url must be Type/id"
        )
    entry.resource_id = segments[1]
    return entry


def _parse_get(entry: _Entry, segments: list[str], query: str) -> _Entry:
    if len(segments) == 1:
        entry.query = query
    elif len(segments) == 2 and not query:
        entry.resource_id = segments[1]
    elif len(segments) == 4 and segments[2] == "_history" and not query:
        entry.resource_id, entry.version = segments[1], segments[3]
    else:
        raise _entry_problem(
            entry.index,
            IssueCode.NOT_SUPPORTED,
            "a GET entry must be a read, a vread or a type search",
        )
    return entry


def _rewrite(node: object, targets: dict[str, str]) -> object:
    """``node`` with every string equal to a placeholder fullUrl replaced by its Type/id."""
    if isinstance(node, str):
        return targets.get(node, node)
    if isinstance(node, list):
        return [_rewrite(item, targets) for item in node]
    if isinstance(node, dict):
        return {key: _rewrite(value, targets) for key, value in node.items()}
    return node


def _unresolved(node: object) -> str | None:
    """The first ``urn:uuid:`` reference left in ``node``, if any."""
    if isinstance(node, list):
        for item in node:
            if (found := _unresolved(item)) is not None:
                return found
    elif isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference.startswith(_PLACEHOLDER):
            return reference
        for value in node.values():
            if (found := _unresolved(value)) is not None:
                return found
    return None


def _link_placeholders(entries: list[_Entry]) -> None:
    """Rewrite ``urn:uuid:`` fullUrls to the ids the writes will get, everywhere."""
    targets: dict[str, str] = {}
    written: set[tuple[str, str | None]] = set()
    for entry in entries:
        if entry.method == "GET":
            continue
        key = (entry.resource_type, entry.resource_id)
        if key in written:
            raise _entry_problem(
                entry.index,
                IssueCode.DUPLICATE,
                f"{key[0]}/{key[1]} is written twice in one transaction",
            )
        written.add(key)
        if entry.full_url.startswith(_PLACEHOLDER):
            if entry.full_url in targets:
                raise _entry_problem(
                    entry.index, IssueCode.DUPLICATE, f"fullUrl {entry.full_url} appears twice"
                )
            targets[entry.full_url] = f"{entry.resource_type}/{entry.resource_id}"
    for entry in entries:
        if entry.resource is None:
            continue
        if targets:  # nothing to rewrite in a Bundle without placeholders
            rewritten = _rewrite(entry.resource, targets)
            entry.resource = rewritten if isinstance(rewritten, dict) else entry.resource
        dangling = _unresolved(entry.resource)
        if dangling is not None:
            raise _entry_problem(
                entry.index,
                IssueCode.NOT_FOUND,
                f"reference {dangling} matches no fullUrl in the Bundle",
            )


def _written(stored: StoredResource, status: int, fhir_base: str) -> dict[str, Any]:
    prefix = f"{fhir_base}/" if fhir_base else ""
    return {
        "fullUrl": f"{prefix}{stored.reference}",
        "resource": stored.fragment,
        "response": {
            "status": status_line(status),
            "location": f"{prefix}{stored.reference}/_history/{stored.version_id}",
            "etag": stored.etag,
            "lastModified": stored.last_updated,
        },
    }


def _check(entry: _Entry) -> None:
    if entry.resource is not None:
        operations.check_resource(
            entry.resource,
            entry.resource_type,
            resource_id=entry.resource_id if entry.method == "PUT" else None,
            root=f"{entry.where}.resource",
        )


def _execute(
    store: Store, entry: _Entry, fhir_base: str, *, checked: bool = False
) -> dict[str, Any]:
    """Carry out one parsed entry; its response entry. ``checked``: already validated."""
    if not checked:
        _check(entry)
    if entry.existing is not None:
        return _written(entry.existing, 200, fhir_base)
    if entry.method == "DELETE" and entry.resource_id is not None:
        operations.delete(store, entry.resource_type, entry.resource_id)
        return {"response": {"status": status_line(204)}}
    if entry.method == "POST" and entry.resource is not None:
        stored = operations.save_new(store, entry.resource, resource_id=entry.resource_id)
        return _written(stored, 201, fhir_base)
    if entry.method == "PUT" and entry.resource is not None and entry.resource_id is not None:
        stored, created = operations.save_version(
            store, entry.resource_id, entry.resource, if_match=entry.if_match
        )
        return _written(stored, 201 if created else 200, fhir_base)
    if entry.resource_id is None:
        search = parse_search(
            entry.resource_type, parse_qsl(entry.query or ""), fhir_base=fhir_base
        )
        return {
            "resource": run_search(store, search, fhir_base=fhir_base),
            "response": {"status": status_line(200)},
        }
    if entry.version is not None:
        stored = operations.vread(store, entry.resource_type, entry.resource_id, entry.version)
    else:
        stored = operations.read(store, entry.resource_type, entry.resource_id)
    prefix = f"{fhir_base}/" if fhir_base else ""
    return {
        "fullUrl": f"{prefix}{stored.reference}",
        "resource": stored.fragment,
        "response": {
            "status": status_line(200),
            "etag": stored.etag,
            "lastModified": stored.last_updated,
        },
    }


def _match_conditional_creates(store: Store, entries: list[_Entry], fhir_base: str) -> None:
    """Point each conditional create that has a match at the existing resource."""
    for entry in entries:
        if entry.if_none_exist is None:
            continue
        existing = match_one(store, entry.resource_type, entry.if_none_exist, fhir_base=fhir_base)
        if existing is not None:
            entry.existing = existing
            entry.resource_id = existing.resource_id


def _transaction(
    store: Store, raw_entries: list[Any], fhir_base: str, *, strict: bool = False
) -> list[dict[str, Any]]:
    entries = [_parse_entry(index, raw, fhir_base) for index, raw in enumerate(raw_entries)]
    responses: dict[int, dict[str, Any]] = {}
    with store.transaction():
        _match_conditional_creates(store, entries, fhir_base)
        _link_placeholders(entries)
        for entry in entries:
            if entry.resource is not None and entry.existing is None:
                entry.resource = resolve_conditional_references(
                    store, entry.resource, fhir_base=fhir_base, where=entry.where
                )
        invalid: list[Issue] = []
        for entry in entries:  # validate everything before writing anything, and report it all
            if entry.existing is not None:
                continue
            try:
                _check(entry)
            except FhirRequestError as exc:
                if exc.status != 422:
                    raise
                invalid.extend(exc.issues)
        if invalid:
            raise FhirRequestError(422, *invalid)
        for entry in sorted(entries, key=lambda e: _ORDER[e.method]):
            responses[entry.index] = _execute(store, entry, fhir_base, checked=True)
        _check_references(store, entries, responses, strict=strict)
    return [responses[index] for index in range(len(entries))]


def _check_references(
    store: Store,
    entries: list[_Entry],
    responses: dict[int, dict[str, Any]],
    *,
    strict: bool,
) -> None:
    """Refuse (strict) or report (lenient) references that name nothing, after all writes."""
    severity = Severity.ERROR if strict else Severity.WARNING
    refused: list[Issue] = []
    for entry in entries:
        if entry.resource is None or entry.existing is not None or entry.method == "DELETE":
            continue
        issues = unresolved_issues(
            store, entry.resource, root=f"{entry.where}.resource", severity=severity
        )
        if strict:
            refused.extend(issues)
        elif issues:
            responses[entry.index]["response"]["outcome"] = operation_outcome(*issues)
    if refused:
        raise FhirRequestError(422, *refused)


def _batch(store: Store, raw_entries: list[Any], fhir_base: str) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_entries):
        try:
            entry = _parse_entry(index, raw, fhir_base)
            if entry.method == "GET":  # a read needs no write transaction
                responses.append(_execute(store, entry, fhir_base))
                continue
            with store.transaction():
                responses.append(_execute(store, entry, fhir_base))
        except FhirRequestError as exc:
            responses.append(
                {"response": {"status": status_line(exc.status), "outcome": exc.outcome()}}
            )
    return responses


def process_bundle(
    store: Store, bundle: dict[str, Any], *, fhir_base: str = "", strict: bool = False
) -> dict[str, Any]:
    """Run a transaction or batch Bundle; the transaction-response or batch-response Bundle.

    ``fhir_base`` (``http://host/fhir``) makes ``fullUrl`` and ``location`` absolute; when
    empty they are relative (``Patient/1/_history/1``), as for loading a file. A failed
    transaction raises :class:`~sandbox.problems.FhirRequestError` and writes nothing.
    ``strict`` (``Prefer: handling=strict``) refuses references that name nothing here;
    otherwise they are reported as warnings in the entries' ``response.outcome``.
    """
    bundle_type = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or bundle_type not in {"transaction", "batch"}:
        raise problem(
            400,
            IssueCode.INVALID,
            "POST to the base URL takes a Bundle of type transaction or batch",
            expression=("Bundle.type",),
        )
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise problem(
            400, IssueCode.STRUCTURE, "Bundle.entry must be a list", expression=("Bundle.entry",)
        )
    if bundle_type == "transaction":
        entries = _transaction(store, raw_entries, fhir_base, strict=strict)
    else:
        entries = _batch(store, raw_entries, fhir_base)
    response: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid4()),
        "meta": {"lastUpdated": now_instant()},
        "type": f"{bundle_type}-response",
    }
    if entries:
        response["entry"] = entries
    return response
