"""CDS Hooks: discovery and the ``encounter-discharge`` service.

The hook blocks the clinician's discharge screen, so the service answers at once: it
checks the request, queues the encounter and returns an information card; the coding
happens in the workers. Without prefetch and without a FHIR server it can reach, there is
nothing to work from: 412, as the CDS Hooks specification asks. Cards say nothing about
the patient.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.fhir.references import valid_id
from adapters.service.intake import Intake

__all__ = ["SERVICE_ID", "cds_router"]

SERVICE_ID = "fhir-coder-encounter-discharge"


class HookContext(BaseModel):
    """The ``encounter-discharge`` context."""

    model_config = ConfigDict(extra="allow")

    userId: str = Field(min_length=1)  # noqa: N815 - the CDS Hooks field name
    patientId: str = Field(min_length=1)  # noqa: N815
    encounterId: str = Field(min_length=1, pattern=r"^[A-Za-z0-9\-.]{1,64}$")  # noqa: N815


class FhirAuthorization(BaseModel):
    """The OAuth token the CDS client lends (never stored or logged)."""

    model_config = ConfigDict(extra="allow")

    access_token: SecretStr
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


class HookRequest(BaseModel):
    """A CDS Hooks request for ``encounter-discharge``."""

    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1)  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: HookContext
    prefetch: dict[str, Any] | None = None


class Card(BaseModel):
    """One CDS Hooks card."""

    summary: str
    indicator: str = "info"
    source: dict[str, str]
    detail: str | None = None


class CdsResponse(BaseModel):
    """The answer: cards."""

    cards: list[Card]


def _prefetched_version(request: HookRequest) -> tuple[bool, str]:
    """Whether the prefetch holds the Encounter, and its versionId."""
    for value in (request.prefetch or {}).values():
        if (
            isinstance(value, dict)
            and value.get("resourceType") == "Encounter"
            and str(value.get("id")) == request.context.encounterId
        ):
            return True, str((value.get("meta") or {}).get("versionId") or "")
    return False, ""


def cds_router(intake: Intake, *, server: str | None) -> APIRouter:
    """Discovery and the service; ``server`` is the FHIR base the workers read from."""
    router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
    ours = (server or "").rstrip("/")

    @router.get("")
    async def discovery() -> dict[str, Any]:
        """The CDS Hooks discovery document."""
        return {
            "services": [
                {
                    "hook": "encounter-discharge",
                    "id": SERVICE_ID,
                    "title": "fhir-coder",
                    "description": "Codes the encounter and writes its Claim after discharge.",
                    "prefetch": {"encounter": "Encounter/{{context.encounterId}}"},
                }
            ]
        }

    @router.post(f"/{SERVICE_ID}")
    async def encounter_discharge(request: HookRequest) -> CdsResponse:
        """Queue the discharged encounter; answer with a card at once."""
        if request.hook != "encounter-discharge":
            raise HTTPException(status_code=400, detail="this service answers encounter-discharge")
        prefetched, version = _prefetched_version(request)
        reachable = bool(ours) and (
            request.fhirServer is None or request.fhirServer.rstrip("/") == ours
        )
        if not reachable and not (prefetched and ours):
            raise HTTPException(
                status_code=412,
                detail="no prefetch and no FHIR server this service can read from",
            )
        said = intake.accept(
            request.context.encounterId,
            version,
            "cds-hooks",
            patient=valid_id(request.context.patientId),
        )
        source = {"label": "fhir-coder"}
        summary = (
            "Coding queued: the claim will be written shortly."
            if said.value in ("queued", "coalesced")
            else "This encounter is already coded."
        )
        return CdsResponse(cards=[Card(summary=summary, source=source)])

    return router
