"""Which vendor profile fits the server, the settings the plugin will use, and known limits.

The CapabilityStatement's software name usually says who made the server
(:func:`adapters.fhir.profiles.detect_profile`); when it does not, the URL often does (Epic's
and Oracle Cerner's sandboxes live on their own hosts), and failing that behaviour: a
server that refuses searches without a patient and has no Claim acts like Oracle
Cerner's. The limits are the facts the profiles encode, said in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.fhir.capabilities import ServerCapabilities
from adapters.fhir.profiles import PROFILES, Strategy, VendorProfile, detect_profile

__all__ = ["detect", "known_limits", "settings"]

_URL_HINTS = (
    ("epic.com", "epic"),
    ("cerner.com", "cerner"),
    ("oraclecloud.com", "cerner"),
    ("smarthealthit.org", "smart"),
    ("hapi.fhir.org", "hapi"),
    ("medplum", "medplum"),
)


def detect(
    statement: Mapping[str, Any],
    base_url: str,
    *,
    server_wide_search: bool,
    caps: ServerCapabilities,
) -> tuple[VendorProfile, str]:
    """The profile that fits, and why it was chosen."""
    named = detect_profile(dict(statement))
    if named.name != "generic":
        return named, "the CapabilityStatement's software name or publisher"
    host = (httpx.URL(base_url).host or "").lower()
    for hint, name in _URL_HINTS:
        if hint in host:
            return PROFILES[name], f"the server's host ({hint})"
    if not server_wide_search and "Claim" not in caps.interactions:
        return PROFILES["cerner"], "behaviour: searches need a patient and there is no Claim"
    return PROFILES["generic"], "nothing names a known vendor: the CapabilityStatement is believed"


def settings(strategy: Strategy, *, trigger: str, batch_works: bool | None) -> dict[str, str]:
    """The settings the plugin will use against this server, in words."""
    profile = strategy.profile
    batch = strategy.batch and batch_works is not False
    return {
        "vendor profile": profile.name,
        "gathering": "one batch Bundle per round"
        if batch
        else "concurrent plain requests per round",
        "_revinclude": "used" if strategy.include else "not used: explicit searches",
        "Claim write-back": "to this server (PUT Claim/{id})"
        if strategy.claim_write
        else "not to this server: configure an NDJSON or second-server destination",
        "trigger": trigger,
        "entries per transaction": f"{profile.transaction_limit} "
        f"({profile.conditional_transaction_limit} when any entry is conditional)",
        "entries per batch": str(profile.batch_limit),
        "SMART signing algorithms": ", ".join(profile.signing_algorithms),
    }


_LIMITS: dict[str, tuple[str, ...]] = {
    "hapi": (
        "_revinclude stops at 500 resources without saying so: explicit searches are used",
        "conditional create is not atomic: Claims are written by PUT with a stable id",
        "search cursors (_getpages) expire with HTTP 410: the search is restarted once",
    ),
    "medplum": (
        "reference search parameters match only Type/id (a bare id matches nothing)",
        "no default page size: a search without _count answers every match at once",
        "a client-supplied id is kept on POST (non-standard)",
    ),
    "epic": (
        (
            "read-only for Claim and Encounter: write-back needs an NDJSON or second-server "
            "destination"
        ),
        "SMART client assertions must be signed with RS384 and live at most 5 minutes",
        (
            "Condition searches need patient and category; searchsets carry OperationOutcome "
            "entries, shown as warnings"
        ),
    ),
    "cerner": (
        "searches need a patient or _id: no server-wide polling of finished encounters",
        "no Claim resource: write-back needs an NDJSON or second-server destination",
        "Encounter.diagnosis is never sent: diagnoses come from Condition?encounter=",
    ),
    "smart": ("a shared public server: writes are visible to everyone, so never send real data",),
    "sandbox": ("fhir-coder's own test server: passing here proves little about others",),
}


def known_limits(profile: VendorProfile) -> tuple[str, ...]:
    """The limits of servers of this profile that the plugin works around."""
    numbers = []
    if profile.conditional_transaction_limit < PROFILES["generic"].conditional_transaction_limit:
        numbers.append(
            f"a transaction holding a conditional entry may have at most "
            f"{profile.conditional_transaction_limit} entries (at most "
            f"{profile.transaction_limit} otherwise): writes are kept small"
        )
    return (*numbers, *_LIMITS.get(profile.name, ()))
