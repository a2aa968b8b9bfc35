"""The Subscription notification endpoint: R4 rest-hook and Subscriptions Backport.

HAPI's rest-hook sends ``PUT {endpoint}/Encounter/{id}`` with the resource when the
Subscription has a payload, and an empty ``POST {endpoint}`` when not (meaning: look
again). Backport notifications are ``POST {endpoint}`` of a ``history`` Bundle. Each is
answered as soon as the job is in the ledger (202); duplicates and stale versions are
answered 200 with what the ledger said, so the server does not retry them.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from adapters.fhir.references import subject_patient_id, valid_id
from adapters.jobs.ledger import Enqueued
from adapters.service.intake import Intake
from adapters.service.security import TokenCheck

__all__ = ["notification_router"]


async def _json_body(request: Request) -> dict[str, Any] | None:
    body = await request.body()  # within the service's limit (adapters.service.limits)
    if not body.strip():
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status_code=400, detail="the body is not JSON") from exc
    if not isinstance(parsed, dict):
        raise HTTPException(status_code=400, detail="the body is not a FHIR resource")
    return parsed


def _answer(said: Enqueued) -> JSONResponse:
    status = 202 if said in (Enqueued.QUEUED, Enqueued.COALESCED) else 200
    return JSONResponse({"result": said.value}, status_code=status)


def notification_router(intake: Intake, check: TokenCheck) -> APIRouter:
    """The routes under ``/notify``."""
    router = APIRouter(prefix="/notify", tags=["notifications"], dependencies=[Depends(check)])

    @router.put("/Encounter/{encounter_id}", status_code=202)
    async def rest_hook_payload(
        encounter_id: str, resource: Annotated[dict[str, Any] | None, Depends(_json_body)]
    ) -> JSONResponse:
        """A rest-hook notification with the Encounter as payload."""
        if not valid_id(encounter_id):
            raise HTTPException(status_code=400, detail="the encounter id is not a FHIR id")
        if resource is None or resource.get("resourceType") != "Encounter":
            raise HTTPException(status_code=400, detail="the body must be an Encounter")
        if str(resource.get("id", encounter_id)) != encounter_id:
            raise HTTPException(status_code=400, detail="the id in the body is another one")
        if resource.get("status") != "finished":
            return JSONResponse({"result": "not-finished"}, status_code=200)
        version = valid_id(str((resource.get("meta") or {}).get("versionId") or ""))
        patient = subject_patient_id(resource)
        return _answer(await intake.accept(encounter_id, version, "rest-hook", patient=patient))

    @router.post("", status_code=202)
    async def notify(
        body: Annotated[dict[str, Any] | None, Depends(_json_body)],
    ) -> JSONResponse:
        """A rest-hook notification without payload, or a backport notification Bundle."""
        if body is None:
            if not intake.requery("rest-hook-empty"):
                raise HTTPException(status_code=412, detail="no FHIR server to re-query")
            return JSONResponse({"result": "requery"}, status_code=202)
        notification = await intake.backport(body)
        if notification is None:
            raise HTTPException(
                status_code=400, detail="expected a Subscriptions Backport history Bundle"
            )
        return JSONResponse(
            {"result": notification.kind, "focus": len(notification.focus)}, status_code=202
        )

    return router
