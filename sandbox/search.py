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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from fhir_coder.outcome import Issue, IssueCode, Severity, operation_outcome
from sandbox.clock import now_instant
from sandbox.criteria import (
    Criterion,
    Cursor,
    DateCriterion,
    DateMatch,
    IdCriterion,
    Inclusion,
    ReferenceCriterion,
    ReferenceMatch,
    SortKey,
    StringCriterion,
    StringMatch,
    TokenCriterion,
    TokenMatch,
)
from sandbox.problems import FhirRequestError, problem
from sandbox.references import split_reference
from sandbox.resource_types import is_resource_type
from sandbox.searchparams import ID_PARAM, LAST_UPDATED_PARAM, ParamKind, SearchParam, params_for
from sandbox.store import SearchPage, Store
from sandbox.values import date_range, fold, split_prefix

__all__ = [
    "CURSOR_PARAM",
    "CURSOR_TTL_SECONDS",
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
CURSOR_TTL_SECONDS = 600.0
"""Paging links older than this are answered 410 Gone."""
_FORMAT_PARAM = "_format"
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
_NO_OP_PARAMS = frozenset(
    {(_FORMAT_PARAM, value) for value in _JSON_FORMATS}
    | {("_total", value) for value in ("none", "estimate", "accurate")}
)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A parsed search: criteria for the store plus what the links must repeat."""

    resource_type: str
    criteria: tuple[Criterion, ...]
    count: int
    cursor: Cursor | None
    used: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]
    sort: tuple[SortKey, ...] = ()
    summary_count: bool = False
    inclusions: tuple[Inclusion, ...] = ()


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


def _date_match(name: str, text: str) -> DateMatch:
    prefix, value = split_prefix(text)
    found = date_range(value)
    if found is None:
        raise problem(
            400,
            IssueCode.INVALID,
            f"{name}: {text!r} is not a FHIR date with an optional prefix (ge2020-01-31)",
            expression=(name,),
        )
    return DateMatch(prefix, *found)


def _string_criterion(param: SearchParam, modifier: str | None, values: list[str]) -> Criterion:
    if modifier not in {None, "exact", "contains"}:
        raise _unsupported_modifier(param.name, modifier or "")
    return StringCriterion(
        param.name,
        tuple(
            StringMatch(
                value=v if modifier == "exact" else fold(v),
                exact=modifier == "exact",
                contains=modifier == "contains",
            )
            for v in (_unescape(v) for v in values)
        ),
    )


def _criterion(
    param: SearchParam,
    modifier: str | None,
    value: str,
    *,
    fhir_base: str,
) -> Criterion:
    values = _split_unescaped(value, ",")
    if param.kind is ParamKind.DATE:
        if modifier is not None:
            raise _unsupported_modifier(param.name, modifier)
        return DateCriterion(param.name, tuple(_date_match(param.name, v) for v in values))
    if param.kind is ParamKind.STRING:
        return _string_criterion(param, modifier, values)
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


def _sort_keys(value: str, known: dict[str, SearchParam]) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for item in value.split(","):
        name = item.strip().removeprefix("-")
        param = known.get(name)
        sortable = name in {"_id", "_lastUpdated"} or (
            param is not None and param.kind in {ParamKind.DATE, ParamKind.STRING}
        )
        if not sortable:
            raise problem(
                400,
                IssueCode.NOT_SUPPORTED,
                f"_sort by {name!r} is not supported (date and string parameters, _id and "
                "_lastUpdated are)",
                expression=("_sort",),
            )
        keys.append(SortKey(name, descending=item.strip().startswith("-")))
    return tuple(keys)


def _inclusion(resource_type: str, key: str, value: str) -> Inclusion:
    """``_include=Encounter:patient`` or ``_revinclude=Condition:encounter[:Encounter]``."""
    reverse = key == "_revinclude"
    parts = value.split(":")
    source = parts[0]
    param = params_for(source).get(parts[1]) if len(parts) in {2, 3} else None
    target = parts[2] if len(parts) == 3 else None
    valid = (
        param is not None
        and param.kind is ParamKind.REFERENCE
        and (reverse or source == resource_type)
        and (not reverse or not param.targets or resource_type in param.targets)
        and (target is None or is_resource_type(target))
    )
    if not valid or param is None:
        raise problem(
            400,
            IssueCode.NOT_SUPPORTED,
            f"{key}={value!r} is not supported on {resource_type} searches (see the "
            "CapabilityStatement's searchInclude and searchRevInclude)",
            expression=(key,),
        )
    return Inclusion(source, param.name, target, reverse=reverse)


def encode_cursor(cursor: Cursor) -> str:
    """The opaque text of ``cursor`` for a paging link, stamped with when it was made."""
    if cursor.offset is not None:
        text = f"o{cursor.offset}"
    else:
        text = f"a{cursor.after}" if cursor.after is not None else f"b{cursor.before}"
    issued = cursor.issued if cursor.issued is not None else int(time.time())
    return base64.urlsafe_b64encode(f"{text}.{issued}".encode()).decode().rstrip("=")


def decode_cursor(token: str, *, ttl_seconds: float = CURSOR_TTL_SECONDS) -> Cursor:
    """The cursor a paging link carries.

    A token the sandbox did not write is a 400; one older than ``ttl_seconds`` a 410 (the
    search must be restarted), as servers that keep result sets for a while answer.
    """
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        place, _, stamp = text.partition(".")
        position, issued = int(place[1:]), int(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position, issued, place = -1, 0, ""
    if position < 0 or place[:1] not in {"a", "b", "o"}:
        raise problem(
            400,
            IssueCode.INVALID,
            "The paging cursor is not one this server issued; restart the search",
            expression=(CURSOR_PARAM,),
        )
    if time.time() - issued > ttl_seconds:
        raise problem(
            410,
            IssueCode.NOT_FOUND,
            "The paging cursor has expired; restart the search",
            expression=(CURSOR_PARAM,),
        )
    if place[0] == "o":
        return Cursor(offset=position, issued=issued)
    if place[0] == "a":
        return Cursor(after=position, issued=issued)
    return Cursor(before=position, issued=issued)


def parse_search(
    resource_type: str,
    items: Sequence[tuple[str, str]],
    *,
    fhir_base: str,
    strict: bool = False,
    cursor_ttl_seconds: float = CURSOR_TTL_SECONDS,
) -> SearchRequest:
    """Read the query parameters of a search on ``resource_type``.

    Unknown parameters are ignored (and reported) unless ``strict``, when they are a 400.
    Malformed values of known parameters and unsupported modifiers are always a 400.
    """
    known = {ID_PARAM.name: ID_PARAM, LAST_UPDATED_PARAM.name: LAST_UPDATED_PARAM}
    known |= params_for(resource_type)
    criteria: list[Criterion] = []
    used: list[tuple[str, str]] = []
    ignored: list[str] = []
    count = DEFAULT_COUNT
    cursor: Cursor | None = None
    sort: tuple[SortKey, ...] = ()
    summary_count = False
    inclusions: list[Inclusion] = []
    for key, value in items:
        name, _, modifier = key.partition(":")
        if key == "_count":
            count = _count(value)
            used.append((key, value))
        elif key == "_sort":
            sort = _sort_keys(value, known)
            used.append((key, value))
        elif key == "_summary" and value in {"count", "false"}:
            summary_count = value == "count"
            used.append((key, value))
        elif key in {"_include", "_revinclude"}:
            inclusions.append(_inclusion(resource_type, key, value))
            used.append((key, value))
        elif (key, value) in _NO_OP_PARAMS:
            continue  # JSON is all we speak; the total is always given, and accurate
        elif key == CURSOR_PARAM:
            cursor = decode_cursor(value, ttl_seconds=cursor_ttl_seconds)
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
        sort=sort,
        summary_count=summary_count,
        inclusions=tuple(inclusions),
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
    if page.offset is not None:
        if page.has_previous:
            previous_offset = max(0, page.offset - request.count)
            links.append(
                {
                    "relation": "previous",
                    "url": _link(fhir_base, request, Cursor(offset=previous_offset)),
                }
            )
        if page.has_next:
            next_offset = page.offset + request.count
            links.append(
                {"relation": "next", "url": _link(fhir_base, request, Cursor(offset=next_offset))}
            )
        return links
    if page.has_previous and page.first_seq is not None:
        previous = _link(fhir_base, request, Cursor(before=page.first_seq))
        links.append({"relation": "previous", "url": previous})
    if page.has_next and page.last_seq is not None:
        links.append(
            {"relation": "next", "url": _link(fhir_base, request, Cursor(after=page.last_seq))}
        )
    return links


def _included_entries(
    store: Store,
    request: SearchRequest,
    page: SearchPage,
    fhir_base: str,
    may_read: Callable[[str], bool],
    withheld: set[str],
) -> list[dict[str, Any]]:
    """The ``_include``/``_revinclude`` resources of a page, each once, after the matches.

    Resources of a type ``may_read`` refuses are left out, their type noted in ``withheld``.
    """
    ids = [stored.resource_id for stored in page.resources]
    if not ids or not request.inclusions:
        return []
    seen = {(request.resource_type, i) for i in ids}
    entries: list[dict[str, Any]] = []
    for inclusion in request.inclusions:
        if inclusion.reverse:
            found = store.revincluded(
                inclusion.source_type, inclusion.param, request.resource_type, ids
            )
        else:
            found = store.included(
                request.resource_type, ids, inclusion.param, inclusion.target_type
            )
        for stored in found:
            if (stored.resource_type, stored.resource_id) in seen:
                continue
            if not may_read(stored.resource_type):
                withheld.add(stored.resource_type)
                continue
            seen.add((stored.resource_type, stored.resource_id))
            entries.append(
                {
                    "fullUrl": f"{fhir_base}/{stored.reference}",
                    "resource": stored.fragment,
                    "search": {"mode": "include"},
                }
            )
    return entries


def run_search(
    store: Store,
    request: SearchRequest,
    *,
    fhir_base: str,
    may_read: Callable[[str], bool] = lambda _: True,
) -> dict[str, Any]:
    """The searchset Bundle for ``request``; ``fhir_base`` makes its URLs absolute.

    ``may_read`` says which types the caller may read: included resources of others are
    left out, with a warning naming the types (never the resources).
    """
    page = store.search(
        request.resource_type,
        request.criteria,
        count=0 if request.summary_count else request.count,
        cursor=request.cursor,
        sort=request.sort,
    )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{fhir_base}/{stored.reference}",
            "resource": stored.fragment,
            "search": {"mode": "match"},
        }
        for stored in page.resources
    ]
    withheld: set[str] = set()
    entries.extend(_included_entries(store, request, page, fhir_base, may_read, withheld))
    if withheld:
        entries.append(
            {
                "resource": operation_outcome(
                    Issue(
                        severity=Severity.WARNING,
                        code=IssueCode.FORBIDDEN,
                        message="Included resources the token may not read are left out: "
                        + ", ".join(sorted(withheld)),
                    )
                ),
                "search": {"mode": "outcome"},
            }
        )
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
