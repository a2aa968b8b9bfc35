"""Reading ``.well-known/smart-configuration``: whether a backend client can get tokens.

The document is plain JSON, not a FHIR resource, so it is fetched with a plain client on
the probe's transport (recorded like every other exchange) rather than through
:class:`~adapters.fhir.client.FhirClient`, which insists on FHIR. SMART Backend Services needs
a token endpoint, the ``client_credentials`` grant, ``private_key_jwt`` client
authentication and RS384 or ES384 signatures; a server that lists none of this is fine
for bearer or basic authentication, or none.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from adapters.probe.model import Check, Status
from adapters.probe.recorder import recording

__all__ = ["smart_check"]

_ALGORITHMS = ("RS384", "ES384")
_TITLE = "SMART configuration"


def _lacks(config: dict[str, Any]) -> list[str]:
    """What SMART Backend Services needs that the configuration leaves out."""
    lacks = []
    if not isinstance(config.get("token_endpoint"), str):
        lacks.append("no token_endpoint")
    listed: list[tuple[str, tuple[str, ...]]] = [
        ("grant_types_supported", ("client_credentials",)),
        ("token_endpoint_auth_methods_supported", ("private_key_jwt",)),
        ("token_endpoint_auth_signing_alg_values_supported", _ALGORITHMS),
    ]
    for key, wanted in listed:
        values = config.get(key)
        if isinstance(values, list) and not set(wanted) & {str(v) for v in values}:
            lacks.append(f"{key} lacks {' or '.join(wanted)}")
    return lacks


async def smart_check(
    transport: httpx.AsyncBaseTransport, base_url: str, *, wait: float, smart_auth: bool
) -> Check:
    """The SMART configuration check; ``smart_auth`` says whether the probe relies on it."""
    url = f"{base_url.rstrip('/')}/.well-known/smart-configuration"
    failing = Status.FAIL if smart_auth else Status.NOT_APPLICABLE
    fix = "SMART backend authentication cannot find a token endpoint here" if smart_auth else ""
    with recording() as exchanges:
        async with httpx.AsyncClient(transport=transport, timeout=wait) as plain:
            try:
                response = await plain.get(url, headers={"Accept": "application/json"})
            except httpx.HTTPError as exc:
                detail = f"no answer ({type(exc).__name__})"
                return Check(
                    "declared.smart",
                    _TITLE,
                    failing,
                    detail,
                    fix,
                    required=smart_auth,
                    declared=True,
                )
    short = tuple(exchanges)
    try:
        config = orjson.loads(response.content) if response.status_code == 200 else None
    except orjson.JSONDecodeError:
        config = None
    if not isinstance(config, dict):
        detail = f"none published (HTTP {response.status_code})"
        return Check(
            "declared.smart",
            _TITLE,
            failing,
            detail,
            fix,
            required=smart_auth,
            declared=True,
            exchanges=short,
        )
    lacks = _lacks(config)
    if lacks:
        return Check(
            "declared.smart",
            _TITLE,
            Status.FAIL if smart_auth else Status.LIMITED,
            "; ".join(lacks),
            "SMART Backend Services clients may not get tokens here: use bearer or basic auth",
            required=smart_auth,
            declared=True,
            exchanges=short,
        )
    return Check(
        "declared.smart",
        _TITLE,
        Status.PASS,
        "token endpoint for backend services (client_credentials, private_key_jwt)",
        required=smart_auth,
        declared=True,
        exchanges=short,
    )
