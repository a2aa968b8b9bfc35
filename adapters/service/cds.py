"""CDS Hooks: discovery and the ``encounter-discharge`` service.

The hook blocks the clinician's discharge screen, so the service answers at once: it
has the caller's JWT checked (:mod:`adapters.service.cds_auth`), checks the request, queues
the encounter and returns an information card; the coding happens in the workers.

The service codes the encounters of one FHIR server, its ``--server``: a hook naming
another ``fhirServer`` is refused (400), never read as an encounter id of ours. When the
EHR hands over ``fhirAuthorization``, the Encounter is read with that token, for this call
only (never stored): the EHR's own word that the encounter exists and is the patient's, and
its current ``versionId``. A prefetched version is only a hint (the workers hold every job
to the version the server really has). Without prefetch and without a FHIR server it can
reach, there is nothing to work from: 412, as the specification asks. Cards say nothing
about the patient.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.fhir.auth import BearerAuth
from adapters.fhir.client import FhirClient
from adapters.fhir.references import subject_patient_id, valid_id
from adapters.fhir.retry import RetryPolicy
from adapters.service.intake import Intake
from fhir_coder.errors import FhirError, FhirResponseError, FhirTransportError

__all__ = ["SERVICE_ID", "cds_router", "same_server"]

SERVICE_ID = "fhir-coder-encounter-discharge"
_READ_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
"""The clinician waits on the hook: the EHR's server gets seconds, not the usual half minute."""
_log = logging.getLogger(__name__)


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


def _prefetched_version(request: HookRequest) -> str:
    """The versionId of the prefetched Encounter ("" without one): a hint, not a fact."""
    for value in (request.prefetch or {}).values():
        if (
            isinstance(value, dict)
            and value.get("resourceType") == "Encounter"
            and str(value.get("id")) == request.context.encounterId
        ):
            return str((value.get("meta") or {}).get("versionId") or "")
    return ""


def same_server(given: str, ours: str) -> bool:
    """Whether ``given`` names the FHIR base ``ours`` (scheme and host in any case, no slash)."""
    a, b = httpx.URL(given.strip()), httpx.URL(ours.strip())
    return (a.scheme, a.host, a.port, a.path.rstrip("/")) == (
        b.scheme,
        b.host,
        b.port,
        b.path.rstrip("/"),
    )


async def _read_as_ehr(fhir: FhirClient, request: HookRequest) -> tuple[str, str] | None:
    """The Encounter's (versionId, patient id) read with the EHR's token; None if unreachable."""
    authorization = request.fhirAuthorization
    assert authorization is not None  # noqa: S101 - the caller checked
    if authorization.token_type.lower() != "bearer":
        raise HTTPException(status_code=400, detail="fhirAuthorization.token_type must be Bearer")
    reader = fhir.with_auth(
        BearerAuth(authorization.access_token.get_secret_value()),
        timeout=_READ_TIMEOUT,
        retry=RetryPolicy(attempts=1),
    )
    try:
        encounter = await reader.read("Encounter", request.context.encounterId)
    except FhirTransportError:
        _log.warning("the FHIR server did not answer a CDS Hooks read; queued without it")
        return None
    except FhirResponseError as exc:
        if exc.status_code in (401, 403):
            raise HTTPException(
                status_code=403, detail="the fhirAuthorization given may not read this Encounter"
            ) from exc
        if exc.status_code in (404, 410):
            raise HTTPException(
                status_code=404, detail="no such Encounter on the FHIR server"
            ) from exc
        _log.warning("the FHIR server refused a CDS Hooks read (HTTP %s)", exc.status_code)
        return None
    except FhirError:
        _log.warning("the FHIR server's answer to a CDS Hooks read was not FHIR")
        return None
    version = str((encounter.get("meta") or {}).get("versionId") or "")
    return version, subject_patient_id(encounter)


def cds_router(intake: Intake, *, server: str | None, fhir: FhirClient | None = None) -> APIRouter:
    """Discovery and the service; ``server`` is the FHIR base the workers read from.

    ``fhir`` (the service's client of ``server``) lends its connection pool to reads made
    with a call's ``fhirAuthorization``. The callers' JWTs are checked in front of the
    route (:class:`adapters.service.cds_auth.CdsGate`, which the app puts there).
    """
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
        """Queue the discharged encounter; answer with a card at once.

        The caller's JWT was checked before the body was read (:class:`CdsGate`).
        """
        if request.hook != "encounter-discharge":
            raise HTTPException(status_code=400, detail="this service answers encounter-discharge")
        if not ours:
            raise HTTPException(
                status_code=412,
                detail="no prefetch and no FHIR server this service can read from",
            )
        if request.fhirServer is not None and not same_server(request.fhirServer, ours):
            raise HTTPException(
                status_code=400,
                detail="fhirServer is not the FHIR server this service codes encounters of",
            )
        version = _prefetched_version(request)
        patient = valid_id(request.context.patientId)
        if request.fhirAuthorization is not None and fhir is not None:
            read = await _read_as_ehr(fhir, request)
            if read is not None:
                version, subject = read
                if subject and patient and subject != patient:
                    raise HTTPException(
                        status_code=400, detail="the Encounter is not the context's patient's"
                    )
                patient = subject or patient
        said = await intake.accept(
            request.context.encounterId, version, "cds-hooks", patient=patient
        )
        source = {"label": "fhir-coder"}
        summary = (
            "Coding queued: the claim will be written shortly."
            if said.value in ("queued", "coalesced")
            else "This encounter is already coded."
        )
        return CdsResponse(cards=[Card(summary=summary, source=source)])

    return router
