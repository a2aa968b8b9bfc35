"""What the job ledger keeps of a failure, and whether trying again can help.

A server's error text (an OperationOutcome's ``diagnostics``, an HTML error page) may
echo what it was sent: patient names, identifiers. The ledger and ``fhir-coder jobs``
therefore keep a failure *typed*: the error's class, the HTTP status, the
OperationOutcome's issue codes (a closed FHIR value set), the errno of a local failure,
and for a Claim left for a person the Claim it is about (our own id). Never the message.

Every exception a job can raise is sorted here, the unexpected ones included (a SQLite
error, a full disk): a worker records it and goes on with the next job.
"""

from __future__ import annotations

import errno
import re
from typing import Final

from adapters.writeback.claim_ledger import ReservationLostError
from adapters.writeback.claim_writer import ClaimChangedError
from adapters.writeback.ndjson import NdjsonWriteError
from fhir_coder.errors import (
    CodingError,
    ConfigurationError,
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
)

__all__ = ["describe", "is_conflict", "retryable"]

_TOKEN: Final = re.compile(r"[^A-Za-z0-9._-]")
_CLAIM: Final = re.compile(r"/(Claim/[A-Za-z0-9.-]{1,64})$")


def _token(text: str) -> str:
    """``text`` kept to the characters of a code (issue codes are short tokens)."""
    return _TOKEN.sub("", text)[:64]


def _issue_codes(error: FhirResponseError) -> list[str]:
    outcome = error.outcome or {}
    codes: list[str] = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        found = [str(issue.get("code") or "")]
        details = issue.get("details")
        codings = details.get("coding") if isinstance(details, dict) else None
        found += [str(c.get("code") or "") for c in codings or [] if isinstance(c, dict)]
        codes += [code for code in (_token(f) for f in found) if code and code not in codes]
    return codes[:8]


def describe(error: BaseException) -> str:
    """``error`` as the ledger keeps it: ``FhirResponseError status=503 issues=transient``."""
    parts = [type(error).__name__]
    if isinstance(error, FhirResponseError):
        parts.append(f"status={error.status_code}")
        codes = _issue_codes(error)
        if codes:
            parts.append("issues=" + ",".join(codes))
        claim = _CLAIM.search(error.url or "") if isinstance(error, ClaimChangedError) else None
        if claim is not None:
            parts.append(claim.group(1))
    elif isinstance(error, FhirTransportError) and error.__cause__ is not None:
        parts.append(f"cause={type(error.__cause__).__name__}")
    elif isinstance(error, NdjsonWriteError):
        parts.append(error.code)
    elif isinstance(error, OSError) and error.errno is not None:
        parts.append(errno.errorcode.get(error.errno, str(error.errno)))
    return " ".join(parts)


def is_conflict(error: BaseException) -> bool:
    """A Claim someone else changed: not retried, left for a person (outcome ``conflict``)."""
    return isinstance(error, ClaimChangedError)


def retryable(error: BaseException) -> bool:
    """Whether trying the job again later may succeed.

    Transport failures, 408, 429 and 5xx, a reservation lost to another writer, and the
    unexpected (a full disk, a locked or failing ledger) are retried until the job is
    parked; a missing encounter, another 4xx, a Claim someone else changed, data that
    cannot be coded and a wrong configuration are not.
    """
    if isinstance(error, FhirNotFoundError | ClaimChangedError | CodingError):
        return False
    if isinstance(error, ConfigurationError):
        return False
    if isinstance(error, FhirResponseError):
        return error.status_code in (408, 429) or error.status_code >= 500
    if isinstance(error, FhirTransportError | ReservationLostError | NdjsonWriteError):
        return True
    return not isinstance(error, FhirError)
