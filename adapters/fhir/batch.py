"""Many independent reads and searches in one round trip, as a batch Bundle.

Where the server takes batches (its CapabilityStatement says so and the vendor profile
does not contradict it), the reads of one encounter's patient, coverage, conditions,
procedures and practitioners travel together: one request instead of five or more. Each
entry succeeds or fails on its own, and a failed entry becomes the same typed error a
plain request would have raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.fhir.client import FhirClient
from fhir_coder.errors import FhirNotFoundError, FhirResponseError, NotFhirError
from fhir_coder.outcome import outcome_text

__all__ = ["BatchAnswer", "batch_get"]

BatchAnswer = dict[str, Any] | FhirResponseError
"""One entry's resource (a resource or a searchset Bundle), or the error it gave."""


def _status(entry: dict[str, Any]) -> int:
    text = str((entry.get("response") or {}).get("status") or "")
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


async def batch_get(fhir: FhirClient, urls: Sequence[str]) -> list[BatchAnswer]:
    """``GET`` each of ``urls`` (relative: ``Patient/1``, ``Condition?encounter=...``) in one batch.

    Answers come in the order of ``urls``. A searchset answer that has a ``next`` link is
    returned as it is: the caller follows it with :meth:`FhirClient.pages` if it needs
    the rest.
    """
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": url}} for url in urls],
    }
    _, body = await fhir.request("POST", "", json_body=bundle, idempotent=True)
    where = f"{fhir.base_url} (batch)"
    if body is None or body.get("resourceType") != "Bundle":
        raise NotFhirError(f"{where} answered a batch without a Bundle", url=fhir.base_url)
    entries = body.get("entry") or []
    if len(entries) != len(urls):
        raise NotFhirError(
            f"{where} answered {len(entries)} entries to a batch of {len(urls)}",
            url=fhir.base_url,
        )
    answers: list[BatchAnswer] = []
    for url, entry in zip(urls, entries, strict=True):
        status = _status(entry) if isinstance(entry, dict) else 0
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if 200 <= status < 300 and isinstance(resource, dict):
            answers.append(resource)
            continue
        outcome = (entry.get("response") or {}).get("outcome") if isinstance(entry, dict) else None
        if not isinstance(outcome, dict):
            outcome = resource if isinstance(resource, dict) else None
        said = outcome_text(outcome)
        target = f"{fhir.base_url}/{url.split('?', 1)[0]}"
        kind = FhirNotFoundError if status in (404, 410) else FhirResponseError
        answers.append(
            kind(
                f"GET {target} in a batch failed with HTTP {status}"
                + (f": {said}" if said else ""),
                url=target,
                status_code=status,
                outcome=outcome,
            )
        )
    return answers
