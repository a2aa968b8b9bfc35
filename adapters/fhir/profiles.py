"""Named vendor profiles: where known servers behave otherwise than they declare.

A CapabilityStatement says what a server means to do; these profiles record what it
does. Each field left ``None`` defers to the CapabilityStatement; a value overrides it.
Facts come from the vendors' own documentation and issue trackers (see
``docs``/the integration guide): HAPI truncates ``_revinclude`` silently, Medplum allows
at most 8 entries in a transaction holding a conditional entry, Epic and Oracle Cerner
refuse Claim writes and batch reads and want a patient on every clinical search (Epic's
Condition search needs ``patient`` and ``category``; Oracle Cerner's searches need
``patient`` or ``_id``), Epic signs only with RS384.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from adapters.fhir.capabilities import ServerCapabilities

__all__ = ["PROFILES", "Strategy", "VendorProfile", "choose_strategy", "detect_profile"]


@dataclass(frozen=True, slots=True)
class VendorProfile:
    """Overrides for one kind of server; ``None`` means "believe the CapabilityStatement"."""

    name: str
    batch: bool | None = None
    include: bool | None = None
    claim_write: bool | None = None
    transaction_limit: int = 100  # entries per transaction Bundle
    conditional_transaction_limit: int = 100  # when any entry is conditional
    batch_limit: int = 50  # entries per batch Bundle
    signing_algorithms: tuple[str, ...] = ("RS384", "ES384")
    searches_by_patient: bool = False  # Condition/Procedure searches must name the patient


GENERIC = VendorProfile("generic")

PROFILES: dict[str, VendorProfile] = {
    profile.name: profile
    for profile in (
        GENERIC,
        # _revinclude stops at 500 without saying so; explicit searches are exact.
        VendorProfile("hapi", include=False, transaction_limit=500),
        VendorProfile(
            "medplum", include=False, transaction_limit=50, conditional_transaction_limit=8
        ),
        VendorProfile(
            "epic",
            batch=False,
            include=False,
            claim_write=False,
            signing_algorithms=("RS384",),
            searches_by_patient=True,
        ),
        VendorProfile(
            "cerner", batch=False, include=False, claim_write=False, searches_by_patient=True
        ),
        VendorProfile("smart", include=False),
        VendorProfile("sandbox"),
    )
}
"""The known profiles by name: generic, hapi, medplum, epic, cerner, smart, sandbox."""

_SOFTWARE_HINTS = (
    ("hapi", "hapi"),
    ("medplum", "medplum"),
    ("epic", "epic"),
    ("cerner", "cerner"),
    ("oracle", "cerner"),
    ("smart", "smart"),
    ("fhir-coder sandbox", "sandbox"),
)


def detect_profile(statement: dict[str, Any]) -> VendorProfile:
    """The profile whose vendor names the server's software or publisher; else ``generic``."""
    software = statement.get("software")
    said = " ".join(
        str(part or "")
        for part in (
            software.get("name") if isinstance(software, dict) else "",
            statement.get("publisher"),
            statement.get("name"),
        )
    ).lower()
    for hint, name in _SOFTWARE_HINTS:
        if hint in said:
            return PROFILES[name]
    return GENERIC


@dataclass(frozen=True, slots=True)
class Strategy:
    """How to talk to one server, decided once from its capabilities and profile."""

    profile: VendorProfile
    batch: bool
    include: bool
    claim_write: bool
    by_patient: bool = False  # name the patient in Condition and Procedure searches

    def with_overrides(
        self,
        *,
        batch: bool | None = None,
        include: bool | None = None,
        by_patient: bool | None = None,
    ) -> Strategy:
        """The strategy with some decisions forced (tests, a user's configuration)."""
        return replace(
            self,
            batch=self.batch if batch is None else batch,
            include=self.include if include is None else include,
            by_patient=self.by_patient if by_patient is None else by_patient,
        )


_REVINCLUDES = ("Condition:encounter", "Procedure:encounter")


def choose_strategy(caps: ServerCapabilities, profile: VendorProfile) -> Strategy:
    """Batch, include and Claim-write decisions: the profile's word first, then the server's."""
    declared_include = caps.can_include("Encounter", "Encounter:patient") and all(
        caps.can_revinclude("Encounter", target) for target in _REVINCLUDES
    )
    claim_write = caps.supports("Claim", "create") or caps.supports("Claim", "update")
    return Strategy(
        profile=profile,
        batch=caps.batch if profile.batch is None else profile.batch and caps.batch,
        include=declared_include if profile.include is None else profile.include,
        claim_write=claim_write if profile.claim_write is None else profile.claim_write,
        by_patient=profile.searches_by_patient,
    )
