"""Loading every code set a long-running process will need, before its first encounter.

The code sets load on first use: the ICD-10-CM notes, the crosswalks, the MCE and DRG
tables. In ``serve``, ``watch`` and ``run`` that first use would fall on the first
encounter an EHR sends (about a third of a second late), so the workers code one made-up
inpatient stay before they start. Then :func:`settle_heap` moves everything loaded out of
the garbage collector's reach: a full collection walked those tables each time (about
50 ms, a pause that every encounter in flight then waited out).
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import Any

from adapters.coding_setup import CodingSetup
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.processing import Processed, code_and_build
from fhir_coder.claim import ClaimOptions
from fhir_coder.validation import Scrubber

__all__ = ["settle_heap", "warm_up"]

_NPI = "http://hl7.org/fhir/sid/us-npi"
_WHEN = "2026-01-05T08:00:00Z"


def _stay() -> dict[str, Any]:
    """One inpatient stay with what every coding step reads (made up; no real person)."""

    def coded(system: str, code: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code}]}

    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-02-01"},
        {
            "resourceType": "Organization",
            "id": "o",
            "identifier": [{"system": _NPI, "value": "1234567893"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "d",
            "identifier": [{"system": _NPI, "value": "1245319599"}],
        },
        {
            "resourceType": "Coverage",
            "id": "c",
            "status": "active",
            "beneficiary": {"reference": "Patient/p"},
            "payor": [{"reference": "Organization/o"}],
        },
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "Patient/p"},
            "participant": [{"individual": {"reference": "Practitioner/d"}}],
            "serviceProvider": {"reference": "Organization/o"},
            "period": {"start": _WHEN, "end": "2026-01-08T10:00:00Z"},
        },
        *(
            {
                "resourceType": "Condition",
                "id": f"x{number}",
                "subject": {"reference": "Patient/p"},
                "encounter": {"reference": "Encounter/e"},
                "category": [
                    coded(
                        "http://terminology.hl7.org/CodeSystem/condition-category",
                        "encounter-diagnosis",
                    )
                ],
                "code": coded(system, code),
            }
            for number, (system, code) in enumerate(
                (
                    ("http://hl7.org/fhir/sid/icd-10-cm", "J18.9"),  # the code set and notes
                    ("http://snomed.info/sct", "44054006"),  # the crosswalk
                )
            )
        ),
        {
            "resourceType": "Procedure",
            "id": "q",
            "status": "completed",
            "subject": {"reference": "Patient/p"},
            "encounter": {"reference": "Encounter/e"},
            "performedDateTime": _WHEN,
            "code": coded("http://www.cms.gov/Medicare/Coding/ICD10", "5A1955Z"),
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources],
    }


def warm_up(
    coding: CodingSetup, *, scrubber: Scrubber | None = None, options: ClaimOptions | None = None
) -> Processed:
    """Code, build and scrub one made-up stay, so every lazily loaded table is loaded."""
    (encounter,) = encounters_in_bundle(_stay(), source_id="warm-up")
    return code_and_build(
        encounter, coding, created=datetime.now(UTC), scrubber=scrubber, options=options
    )


_settled = False


def settle_heap() -> None:
    """Collect once, then leave what is alive now out of later collections (``gc.freeze``).

    Once per process: what is frozen is never collected as a cycle, so freezing again and
    again (a test session opening many pools) would keep later garbage alive for good.
    """
    global _settled  # noqa: PLW0603 - one decision per process
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
