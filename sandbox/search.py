"""Type-level search: query parameters in, a searchset Bundle with paging links out.

The parser turns ``GET /{type}?...`` parameters into store criteria and says which
parameters it used and which it ignored; the ``self`` link carries only the used ones, as
FHIR asks, and an OperationOutcome entry names the ignored ones. Paging uses an opaque
``_cursor`` holding a position in the result order, so following ``next`` links never
repeats or skips a resource even while others are written.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome
from sandbox.clock import now_instant
from sandbox.criteria import (
    Criterion,
    Cursor,
    IdCriterion,
    ReferenceCriterion,
    ReferenceMatch,
    TokenCriterion,
    TokenMatch,
)
from sandbox.problems import FhirRequestError, problem
from sandbox.references import split_reference
from sandbox.resource_types import is_resource_type
from sandbox.searchparams import ID_PARAM, ParamKind, SearchParam, params_for
from sandbox.store import SearchPage, Store

__all__ = [
    "CURSOR_PARAM",
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "SearchRequest",
    "decode_cursor",
    "encode_cursor",
    "parse_search",
    "run_search",
]

DEFAULT_COUNT = 50
MAX_COUNT = 500
CURSOR_PARAM = "_cursor"
_FORMAT_PARAM = "_format"
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A parsed search: criteria for the store plus what the links must repeat."""

    resource_type: str
    criteria: tuple[Criterion, ...]
    count: int
    cursor: Cursor | None
    used: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]


def _split_unescaped(text: str, separator: str) -> list[str]:
    r"""Split ``text`` on each ``separator`` that is not escaped with a backslash.

    An escaped separator loses its backslash; other escapes are kept for :func:`_unescape`,
    so ``a\|b,c`` splits on the comma and then not on the pipe.
    """
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char if char == separator else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    r"""``\,``, ``\|``, ``\$`` and ``\\`` as the characters they escape."""
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out) + ("\\" if escaped else "")


def _token_match(text: str) -> TokenMatch:
    pieces = _split_unescaped(text, "|")
    if len(pieces) == 1:
        return TokenMatch(system=None, value=_unescape(pieces[0]))
    system, value = _unescape(pieces[0]), _unescape("|".join(pieces[1:]))
    return TokenMatch(system=system, value=value or None)


def _reference_match(
    text: str, *, fhir_base: str, type_modifier: str | None
) -> ReferenceMatch | None:
    """A reference search value as a match; None when it can name nothing on this server."""
    if text.startswith(("http://", "https://")):
        prefix = fhir_base.rstrip("/") + "/"
        if not fhir_base or not text.startswith(prefix):
            return None
        text = text[len(prefix) :]
    if "/" in text:
        target = split_reference(text)
        if target is None:
            return None
        if type_modifier is not None and target[0] != type_modifier:
            return None
        return ReferenceMatch(target_type=target[0], target_id=target[1])
    return ReferenceMatch(target_type=type_modifier, target_id=text)


def _criterion(
    param: SearchParam,
    modifier: str | None,
    value: str,
    *,
    fhir_base: str,
) -> Criterion:
    values = _split_unescaped(value, ",")
    if param.name == ID_PARAM.name or param.kind is ParamKind.REFERENCE:
        values = [_unescape(v) for v in values]
    if param.kind is ParamKind.TOKEN:
        if modifier is not None:
            raise _unsupported_modifier(param.name, modifier)
        if param.name == ID_PARAM.name:
            return IdCriterion(tuple(values))
        return TokenCriterion(param.name, tuple(_token_match(v) for v in values))
    if modifier is not None and not (
        is_resource_type(modifier) and (not param.targets or modifier in param.targets)
    ):
        raise _unsupported_modifier(param.name, modifier)
    matches = (_reference_match(v, fhir_base=fhir_base, type_modifier=modifier) for v in values)
    return ReferenceCriterion(param.name, tuple(m for m in matches if m is not None))


def _unsupported_modifier(name: str, modifier: str) -> FhirRequestError:
    return problem(
        400,
        IssueCode.NOT_SUPPORTED,
        f"Search modifier :{modifier} is not supported on parameter {name!r}",
        expression=(f"{name}:{modifier}",),
    )


def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise problem(
            400,
            IssueCode.INVALID,
            f"_count must be a whole number of zero or more, not {value!r}",
            expression=("_count",),
        )
    return min(count, MAX_COUNT)


def encode_cursor(cursor: Cursor) -> str:
    """The opaque text of ``cursor`` for a paging link."""
    text = f"a{cursor.after}" if cursor.after is not None else f"b{cursor.before}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    """The cursor a paging link carries; a token the sandbox did not write is a 400."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        position = int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = -1
        text = ""
    if position < 0 or text[:1] not in {"a", "b"}:
        raise problem(
            400,
            IssueCode.INVALID,
            "The paging cursor is not one this server issued; restart the search",
            expression=(CURSOR_PARAM,),
        )
    return Cursor(after=position) if text[0] == "a" else Cursor(before=position)


def parse_search(
    resource_type: str,
    items: Sequence[tuple[str, str]],
    *,
    fhir_base: str,
    strict: bool = False,
) -> SearchRequest:
    """Read the query parameters of a search on ``resource_type``.

    Unknown parameters are ignored (and reported) unless ``strict``, when they are a 400.
    Malformed values of known parameters and unsupported modifiers are always a 400.
    """
    known = {ID_PARAM.name: ID_PARAM} | params_for(resource_type)
    criteria: list[Criterion] = []
    used: list[tuple[str, str]] = []
    ignored: list[str] = []
    count = DEFAULT_COUNT
    cursor: Cursor | None = None
    for key, value in items:
        name, _, modifier = key.partition(":")
        if key == "_count":
            count = _count(value)
            used.append((key, value))
        elif key == CURSOR_PARAM:
            cursor = decode_cursor(value)
        elif key == _FORMAT_PARAM and value in _JSON_FORMATS:
            continue
        elif name in known and value:
            criteria.append(
                _criterion(known[name], modifier or None, value, fhir_base=fhir_base),
            )
            used.append((key, value))
        else:
            ignored.append(key)
    if ignored and strict:
        raise FhirRequestError(
            400,
            *(
                Issue(
                    severity=Severity.ERROR,
                    code=IssueCode.NOT_SUPPORTED,
                    message=f"Search parameter {key!r} is not supported for {resource_type} "
                    "(or has no value)",
                    expression=(key,),
                )
                for key in dict.fromkeys(ignored)
            ),
        )
    return SearchRequest(
        resource_type=resource_type,
        criteria=tuple(criteria),
        count=count,
        cursor=cursor,
        used=tuple(used),
        ignored=tuple(dict.fromkeys(ignored)),
    )


def _link(fhir_base: str, request: SearchRequest, cursor: Cursor | None) -> str:
    params = [(k, v) for k, v in request.used if k != "_count"]
    params.append(("_count", str(request.count)))
    if cursor is not None:
        params.append((CURSOR_PARAM, encode_cursor(cursor)))
    return f"{fhir_base}/{request.resource_type}?{urlencode(params)}"


def _links(fhir_base: str, request: SearchRequest, page: SearchPage) -> list[dict[str, str]]:
    query = urlencode(list(request.used))
    if request.cursor is not None:
        query = urlencode([*request.used, (CURSOR_PARAM, encode_cursor(request.cursor))])
    self_url = f"{fhir_base}/{request.resource_type}" + (f"?{query}" if query else "")
    links = [{"relation": "self", "url": self_url}]
    if request.cursor is not None:
        links.append({"relation": "first", "url": _link(fhir_base, request, None)})
    if page.has_previous and page.first_seq is not None:
        previous = _link(fhir_base, request, Cursor(before=page.first_seq))
        links.append({"relation": "previous", "url": previous})
    if page.has_next and page.last_seq is not None:
        links.append(
            {"relation": "next", "url": _link(fhir_base, request, Cursor(after=page.last_seq))}
        )
    return links


def run_search(store: Store, request: SearchRequest, *, fhir_base: str) -> dict[str, Any]:
    """The searchset Bundle for ``request``; ``fhir_base`` makes its URLs absolute."""
    page = store.search(
        request.resource_type, request.criteria, count=request.count, cursor=request.cursor
    )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{fhir_base}/{stored.reference}",
            "resource": stored.resource,
            "search": {"mode": "match"},
        }
        for stored in page.resources
    ]
    if request.ignored:
        warning = Issue(
            severity=Severity.WARNING,
            code=IssueCode.NOT_SUPPORTED,
            message="Search parameters not supported, ignored: " + ", ".join(request.ignored),
            expression=request.ignored,
        )
        entries.append({"resource": operation_outcome(warning), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid4()),
        "meta": {"lastUpdated": now_instant()},
        "type": "searchset",
        "total": page.total,
        "link": _links(fhir_base, request, page),
    }
    if entries:
        bundle["entry"] = entries
    return bundle
