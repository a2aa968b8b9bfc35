"""Write primitives: create, conditional create, versioned update, transaction.

Later work (writing Claims and Provenance, queues, destinations) builds on these. Each
returns what the server said (status, the stored resource, its ETag and Location) so
callers can record exactly what was written. Conditional create is not atomic on HAPI or
Azure, so it is offered but never the only guard against duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.fhir.client import FhirClient
from adapters.fhir.profiles import VendorProfile
from adapters.fhir.retry import is_idempotent
from fhir_coder.errors import ConfigurationError, FhirResponseError

__all__ = [
    "WriteResult",
    "conditional_create",
    "create",
    "transaction",
    "update_with_retry",
    "weak_etag",
]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What the server answered to one write."""

    status: int
    resource: dict[str, Any] | None
    etag: str | None = None
    location: str | None = None

    @property
    def created(self) -> bool:
        """Whether the write made a new resource (201) rather than found or updated one."""
        return self.status == 201


def weak_etag(version_id: str) -> str:
    """``W/"<versionId>"``: the form ``If-Match`` takes in FHIR."""
    return f'W/"{version_id}"'


def _result(response: httpx.Response, body: dict[str, Any] | None) -> WriteResult:
    return WriteResult(
        status=response.status_code,
        resource=body,
        etag=response.headers.get("etag"),
        location=response.headers.get("location"),
    )


async def create(fhir: FhirClient, resource: dict[str, Any]) -> WriteResult:
    """``POST [base]/{type}``: a new resource with a server-assigned id (never retried)."""
    response, body = await fhir.request("POST", str(resource["resourceType"]), json_body=resource)
    return _result(response, body)


async def conditional_create(
    fhir: FhirClient, resource: dict[str, Any], if_none_exist: str
) -> WriteResult:
    """``POST`` with ``If-None-Exist``: 201 when created, 200 when a match already existed.

    ``if_none_exist`` is a search query without the type (``identifier=sys|123``). The
    request is safe to retry (a second try finds the first), so throttling is retried.
    More than one match is a 412 :class:`FhirResponseError`.
    """
    response, body = await fhir.request(
        "POST",
        str(resource["resourceType"]),
        json_body=resource,
        headers={"If-None-Exist": if_none_exist},
    )
    return _result(response, body)


def _version_of(resource: dict[str, Any], etag: str | None) -> str | None:
    version = (resource.get("meta") or {}).get("versionId")
    if version is not None:
        return str(version)
    if etag:
        return etag.removeprefix("W/").strip('"')
    return None


async def update_with_retry(
    fhir: FhirClient,
    resource_type: str,
    resource_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    attempts: int = 3,
) -> WriteResult:
    """Read, apply ``change``, and write back with ``If-Match`` on the version read.

    When someone else wrote in between (412), the resource is read again and ``change``
    applied to the new version, up to ``attempts`` times: ``change`` must therefore be a
    pure function of the resource it is given.
    """
    for attempt in range(1, attempts + 1):
        response, body = await fhir.request("GET", f"{resource_type}/{resource_id}")
        current = body or {}
        version = _version_of(current, response.headers.get("etag"))
        updated = change(current)
        headers = {"If-Match": weak_etag(version)} if version else None
        try:
            put, stored = await fhir.request(
                "PUT", f"{resource_type}/{resource_id}", json_body=updated, headers=headers
            )
        except FhirResponseError as exc:
            if exc.status_code == 412 and attempt < attempts:
                continue
            raise
        return _result(put, stored)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


async def transaction(
    fhir: FhirClient,
    entries: Sequence[dict[str, Any]],
    profile: VendorProfile,
    *,
    resend_on_drop: bool = True,
) -> dict[str, Any]:
    """A transaction Bundle of ``entries``; the transaction-response Bundle.

    A transaction is all or nothing, so one larger than the server takes is refused here,
    before sending, rather than split (which would lose the atomicity the caller asked for).
    The limit is the profile's: lower when any entry is conditional (Medplum: 8).
    ``resend_on_drop`` false: not sent again when its answer is lost (see
    :meth:`FhirClient.request`).
    """
    conditional = any(
        (entry.get("request") or {}).get("ifNoneExist")
        or "?" in str((entry.get("request") or {}).get("url", ""))
        for entry in entries
    )
    limit = profile.conditional_transaction_limit if conditional else profile.transaction_limit
    if len(entries) > limit:
        raise ConfigurationError(
            f"a transaction of {len(entries)} entries is more than {profile.name} takes "
            f"({limit}{' with conditional entries' if conditional else ''})"
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}
    _, body = await fhir.request(
        "POST",
        "",
        json_body=bundle,
        idempotent=all(_idempotent(e) for e in entries),
        resend_on_drop=resend_on_drop,
    )
    return body or {}


def _idempotent(entry: dict[str, Any]) -> bool:
    """Whether an entry lands the same when its transaction is sent twice.

    A transaction of such entries (a Claim ``PUT`` to its deterministic id, a conditional
    create) may be sent again after a 429, a 503 or a dropped connection, like a single
    ``PUT``; one plain ``POST`` among them makes the whole transaction unsafe to repeat.
    """
    request = entry.get("request") or {}
    headers = {"If-None-Exist": str(request["ifNoneExist"])} if request.get("ifNoneExist") else {}
    return is_idempotent(str(request.get("method", "")), str(request.get("url", "")), headers)
