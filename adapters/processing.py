"""One gathered encounter to a finished Claim, in process: code, validate, build, scrub.

The pipeline calls this between gathering and writing; the engine benchmark calls it
directly. No network and no ``fhir.resources`` models here: this is the hot path (the R4
model check belongs to the write boundary, see :mod:`adapters.writeback.conformance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.coding_setup import CodingSetup
from adapters.scrubbing import scrub_built_claim
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.facility import facility_charges
from fhir_coder.model import CodedEncounter, Encounter
from fhir_coder.outcome import Issue, has_errors
from fhir_coder.validation import Scrubber, claim_can_be_built, validate
from fhir_coder.values import fast_init

__all__ = ["Processed", "code_and_build", "facility_findings"]


@fast_init
@dataclass(frozen=True, slots=True)
class Processed:
    """An encounter after coding: its lines, every finding, and its Claim unless held back."""

    coded: CodedEncounter
    issues: tuple[Issue, ...]
    claim: dict[str, Any] | None


def facility_findings(coded: CodedEncounter, options: ClaimOptions | None) -> tuple[Issue, ...]:
    """What an inpatient stay's facility lines cannot charge under ``options``' chargemaster.

    Findings of the encounter and the organisation's configuration, checked before the
    Claim is built (like ``validate``'s), so a night or a procedure the chargemaster does
    not rate makes the Claim a draft that says so.
    """
    if not coded.encounter.encounter_class.is_inpatient:
        return ()  # (what facility_charges says of any other encounter, without the calls)
    return facility_charges(coded, options.fee_schedule if options is not None else None).issues


def code_and_build(
    encounter: Encounter,
    coding: CodingSetup,
    *,
    created: datetime,
    scrubber: Scrubber | None = None,
    options: ClaimOptions | None = None,
) -> Processed:
    """Code ``encounter``, validate it, build its Claim and scrub that Claim.

    The scrubber's blocking findings make the Claim a draft, like the coding findings do;
    structural gaps (no coverage, provider or codable diagnosis) hold it back (``claim``
    None). ``scrubber`` None means :func:`adapters.scrubbing.pipeline_scrubber`: Medicare's
    profile over ``coding``'s code sets, the MCE and the NCCI/MUE tables the environment
    configures (``FHIR_CODER_NCCI_PTP_DIR``, ``FHIR_CODER_MUE_DIR``), as ``validate`` scrubs;
    ``options`` (fee schedule, DRG grouper) go to :func:`fhir_coder.claim.build_claim`.
    """
    coded = coding.code(encounter)
    issues = coded.issues + validate(coded) + facility_findings(coded, options)
    if not claim_can_be_built(issues):
        return Processed(coded, issues, None)
    claim = build_claim(coded, issues, created=created, options=options)
    scrubbed = scrub_built_claim(claim, coded, scrubber, coding, created=created, options=options)
    issues += scrubbed
    if has_errors(scrubbed):  # a draft now, carrying the scrubber's findings too
        claim = build_claim(coded, issues, created=created, options=options)
    return Processed(coded, issues, claim)
