"""HTTP details shared by the routes: the FHIR JSON response, request bodies, headers.

Every response carries ``application/fhir+json``; request bodies are read with a size
limit before any parsing, so an oversized upload costs the server nothing but the bytes
up to the limit.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from fhir_coder.outcome import IssueCode
from sandbox.problems import problem, too_large

__all__ = [
    "FHIR_JSON",
    "FhirResponse",
    "fhir_base_url",
    "prefers_strict",
    "read_json_body",
]

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = frozenset({FHIR_JSON, "application/json"})


class FhirResponse(Response):
    """A JSON response (rendered with orjson) typed ``application/fhir+json``."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:  # noqa: ANN401 - any JSON value, as Starlette's
        """``content`` as JSON bytes; bytes pass through (stored resources are served as is)."""
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def fhir_base_url(request: Request, base_path: str) -> str:
    """The absolute base URL of the FHIR API as this request reached it, without a slash.

    Starlette builds it from the scheme, the Host header (else the server address) and the
    root path; the answer is cached on those, since building URL objects cost more than
    a whole read.
    """
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    key = (
        scope.get("scheme"),
        host,
        scope.get("server"),
        scope.get("app_root_path", scope.get("root_path")),
        base_path,
    )
    found = _base_urls.get(key)
    if found is None:
        if len(_base_urls) >= _MAX_BASE_URLS:  # Host is the client's to choose: stay bounded
            _base_urls.clear()
        found = _base_urls[key] = str(request.base_url).rstrip("/") + base_path
    return found


_MAX_BASE_URLS = 64
_base_urls: dict[tuple[object, ...], str] = {}


def prefers_strict(request: Request) -> bool:
    """Whether the client sent ``Prefer: handling=strict``."""
    prefer = request.headers.get("prefer", "")
    tokens = {part.strip().replace(" ", "").lower() for part in prefer.replace(";", ",").split(",")}
    return "handling=strict" in tokens


def _content_type_ok(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if content_type is None:  # lenient: many scripts forget it, and JSON is all we speak
        return True
    return content_type.split(";", 1)[0].strip().lower() in _JSON_TYPES


async def read_json_body(request: Request, *, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; a 415, 413 or 400 outcome when it is not one."""
    if not _content_type_ok(request):
        raise problem(
            415,
            IssueCode.NOT_SUPPORTED,
            "Send the body as application/fhir+json (or application/json)",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise problem(400, IssueCode.STRUCTURE, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise problem(
            400,
            IssueCode.STRUCTURE,
            "The body must be a FHIR resource: a JSON object with a resourceType",
        )
    return body
