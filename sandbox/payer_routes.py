"""The sandbox payer's routes: ``Claim/$submit`` (FHIR) and ``$submit-x12`` (837 in, 835 out).

Mounted under the FHIR base when the app is given :class:`~sandbox.payer.PayerRules`.
``Claim/$submit`` takes a Claim (or a Parameters holding one as ``resource``), stores the
ClaimResponse it decides and answers with it; ``$submit-x12`` takes an 837 interchange
(``application/edi-x12`` or text), answers with the 835 and stores the same decisions as
ClaimResponses (``request`` by the patient control number, ``identifier`` the payer's claim
number the 835's CLP07 carries), as a payer that also answers in FHIR does. The stored
ClaimResponses are the payer's memory of the numbers it gave: a replacement or void naming
another is denied (CO-129). Bodies are size-limited like every other request; an
interchange the payer cannot read is a 400 OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from fhir_coder.outcome import IssueCode
from sandbox import operations
from sandbox.auth_http import authorize
from sandbox.clock import now_instant
from sandbox.criteria import Cursor, TokenCriterion, TokenMatch
from sandbox.payer import (
    PAYER_CLAIM_SYSTEM,
    ClaimOut,
    PayerRules,
    adjudicate,
    claim_from_fhir,
    claim_response,
)
from sandbox.problems import problem
from sandbox.routing import Route
from sandbox.store import Store
from sandbox.wire import FhirResponse, read_json_body

__all__ = ["payer_routes"]

_PAGE: Final = 500


def _coverage_by_member(store: Store) -> dict[str, dict[str, Any]]:
    """Every Coverage by its ``subscriberId`` (the 837's member id)."""
    found: dict[str, dict[str, Any]] = {}
    cursor: Cursor | None = None
    while True:
        page = store.search("Coverage", [], count=_PAGE, cursor=cursor)
        for stored in page.resources:
            resource = stored.resource
            member = resource.get("subscriberId")
            if isinstance(member, str) and member:
                found[member] = resource
        if not page.has_next or page.last_seq is None:
            return found
        cursor = Cursor(after=page.last_seq)


def _issued(store: Store) -> Callable[[str], bool]:
    """Whether a claim number is one this payer gave (a ClaimResponse of its carries it)."""

    def issued(number: str) -> bool:
        match = TokenMatch(PAYER_CLAIM_SYSTEM, number)
        page = store.search("ClaimResponse", [TokenCriterion("identifier", (match,))], count=1)
        return bool(page.resources)

    return issued


async def _keep(store: Store, results: Sequence[ClaimOut], rules: PayerRules) -> None:
    """The decisions on an 837 kept as ClaimResponses (a claim sent again keeps its first)."""
    created = now_instant()
    known = _issued(store)
    with store.shared_transaction() as done:
        for result in results:
            if not known(result.number):
                operations.create(
                    store, "ClaimResponse", claim_response(result, rules, created=created)
                )
    await done


def _claim_of(body: Mapping[str, Any]) -> dict[str, Any]:
    if body.get("resourceType") == "Claim":
        return dict(body)
    if body.get("resourceType") == "Parameters":
        for parameter in body.get("parameter") or []:
            resource = parameter.get("resource") if isinstance(parameter, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Claim":
                return resource
    raise problem(400, IssueCode.INVALID, "Claim/$submit takes a Claim (or Parameters with one)")


def payer_routes(store: Store, rules: PayerRules, *, max_body_bytes: int) -> list[Route]:
    """The payer's routes over ``store``, adjudicating by ``rules``."""

    async def submit(request: Request) -> FhirResponse:
        authorize(request, "ClaimResponse", "c")
        claim = _claim_of(await read_json_body(request, limit=max_body_bytes))
        coverage = None
        for entry in claim.get("insurance") or []:
            reference = str(((entry or {}).get("coverage") or {}).get("reference") or "")
            kind, _, coverage_id = reference.partition("/")
            if kind == "Coverage" and coverage_id:
                stored = store.read("Coverage", coverage_id)
                coverage = stored.resource if stored is not None else None
                break
        result = adjudicate(claim_from_fhir(claim, coverage), rules)
        answer = claim_response(result, rules, created=now_instant())
        with store.shared_transaction() as done:
            stored_answer = operations.create(store, "ClaimResponse", answer)
        await done
        return FhirResponse(stored_answer.resource)

    async def submit_x12(request: Request) -> Response:
        authorize(request, "ClaimResponse", "c")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise problem(413, IssueCode.TOO_COSTLY, f"The body exceeds {max_body_bytes} bytes")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError as exc:
            raise problem(400, IssueCode.STRUCTURE, "An 837 is ASCII text") from exc
        # x12sdk loads a .env file into the environment when imported: only when asked to
        from sandbox.payer_x12 import adjudicate_837  # noqa: PLC0415

        members = _coverage_by_member(store)
        try:
            results, remittance = adjudicate_837(text, rules, members.get, _issued(store))
        except (ValidationError, ValueError, KeyError, IndexError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise problem(400, IssueCode.STRUCTURE, f"The 837 cannot be read: {first}") from exc
        await _keep(store, results, rules)
        return Response(remittance, media_type="application/edi-x12")

    return [
        Route("POST", "/Claim/$submit", submit),
        Route("POST", "/$submit-x12", submit_x12),
    ]
