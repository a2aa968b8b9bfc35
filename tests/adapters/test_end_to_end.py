"""One encounter after another, all the way from the sandbox to a written Claim and back.

The same journey runs through ``httpx.ASGITransport`` (in process) and over real loopback
HTTP to a sandbox process, with the production transport.
"""

from datetime import date

import pytest
from fhir.resources.R4B.claim import Claim

from adapters.demo import SANDBOX_SOURCE_ID, code_all_finished
from adapters.fhir.client import FhirClient
from adapters.pipeline import Outcome, Pipeline
from adapters.writeback.claim_writer import WriteAction
from fhir_coder.claim import CLAIM_IDENTIFIER_SYSTEM
from fhir_coder.systems import ICD10CM, SNOMED, canonical_system, normalise_icd10cm
from sandbox.seed import build_seed_bundle


def codable(coding, system: str, code: str, on: date, sex: str) -> bool:
    """Whether a Condition coding yields a valid billable ICD-10-CM code with no review."""
    registry = coding.codesets
    if canonical_system(system) == ICD10CM:
        icd = normalise_icd10cm(code)
        targets = [icd] if icd else []
    elif canonical_system(system) == SNOMED:
        targets = [
            t.code
            for t in coding.crosswalks.translate(SNOMED, code, ICD10CM, on=on, sex=sex)
            if not t.needs_review and t.equivalence not in ("unmatched", "disjoint")
        ]
    else:
        targets = []
    for target in targets:
        info = registry.lookup(ICD10CM, normalise_icd10cm(target), on)
        if info.valid and info.billable:
            return True
    return False


def completed(coding, icd: dict, codings: list[dict], on: date, sex: str) -> bool:
    """An incomplete ICD-10-CM code (a header) the Condition's SNOMED CT target lies within."""
    code = (
        normalise_icd10cm(icd["code"]) if canonical_system(icd.get("system")) == ICD10CM else None
    )
    if not code or coding.codesets.lookup(ICD10CM, code, on).billable:
        return False
    return any(
        codable(coding, SNOMED, c["code"], on, sex)
        and any(
            normalise_icd10cm(t.code).startswith(code)
            for t in coding.crosswalks.translate(SNOMED, c["code"], ICD10CM, on=on, sex=sex)
            if not t.needs_review
        )
        for c in codings
        if canonical_system(c.get("system")) == SNOMED
    )


def expected_claims(coding) -> set[str]:
    """Ids of the finished seeded encounters with at least one codable diagnosis.

    Worked out from the seed Bundle itself, not from the pipeline: a Condition linked to
    the encounter, neither refuted nor entered in error, carrying an ICD-10-CM code valid
    and billable on the date of service, or (without one) a SNOMED CT code the crosswalk
    maps to such a code with no review needed; or a category header beside a SNOMED CT code
    whose target lies within it.
    """
    resources = [e["resource"] for e in build_seed_bundle()["entry"]]
    conditions = [r for r in resources if r["resourceType"] == "Condition"]
    patients = {f"Patient/{r['id']}": r for r in resources if r["resourceType"] == "Patient"}
    expected = set()
    for encounter in (r for r in resources if r["resourceType"] == "Encounter"):
        if encounter["status"] != "finished":
            continue
        period = encounter["period"]
        inpatient = encounter["class"]["code"] == "IMP"
        on = date.fromisoformat((period["end"] if inpatient else period["start"])[:10])
        listed = {d["condition"]["reference"] for d in encounter.get("diagnosis", [])}
        for condition in conditions:
            linked = (condition.get("encounter") or {}).get(
                "reference"
            ) == f"Encounter/{encounter['id']}"
            if not linked and f"Condition/{condition['id']}" not in listed:
                continue
            status = condition.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
            if status in ("refuted", "entered-in-error"):
                continue
            codings = condition["code"].get("coding", [])
            icd = [c for c in codings if canonical_system(c.get("system")) == ICD10CM]
            sex = patients[encounter["subject"]["reference"]].get("gender")
            for c in icd or codings:  # an ICD-10-CM coding, when present, is the one used
                if codable(coding, c.get("system"), c["code"], on, sex) or completed(
                    coding, c, codings, on, sex
                ):
                    expected.add(encounter["id"])
    return expected


async def check_demo_run(fhir: FhirClient, coding) -> None:
    summary = await code_all_finished(fhir, coding, source_id=SANDBOX_SOURCE_ID)
    written = {r.encounter_id for r in summary.by_outcome(Outcome.WRITTEN)}
    want = expected_claims(coding)
    assert want, "the seed must hold codable encounters"
    assert written == want
    assert summary.by_outcome(Outcome.FAILED) == []
    for held in summary.by_outcome(Outcome.HELD):
        assert any(issue.severity.blocks for issue in held.issues), held.encounter_id
    assert summary.claims_on_server == len(want)
    for result in summary.by_outcome(Outcome.WRITTEN):
        stored = await fhir.read("Claim", result.claim["id"])
        Claim.model_validate(stored)
        assert {k: v for k, v in stored.items() if k != "meta"} == {
            k: v for k, v in result.claim.items() if k != "meta"
        }
        assert stored["identifier"][0]["system"] == CLAIM_IDENTIFIER_SYSTEM
        for item in stored.get("item", []):
            assert item["encounter"] == [{"reference": f"Encounter/{result.encounter_id}"}]
    again = await code_all_finished(fhir, coding, source_id=SANDBOX_SOURCE_ID)
    assert again.claims_on_server == len(want), "a second run must not duplicate Claims"
    # a new run (a new process: no ledger of the first) finds each Claim as it would write it
    assert {r.receipt.action for r in again.by_outcome(Outcome.WRITTEN)} == {WriteAction.UNCHANGED}
    assert {r.receipt.version for r in again.by_outcome(Outcome.WRITTEN)} == {"1"}


async def test_every_codable_finished_encounter_gets_one_claim_over_asgi(asgi_fhir, coding):
    await check_demo_run(asgi_fhir, coding)


async def test_every_codable_finished_encounter_gets_one_claim_over_loopback_http(
    loopback_base_url, coding
):
    async with FhirClient(loopback_base_url) as fhir:  # the production (aiohttp) transport
        await check_demo_run(fhir, coding)


async def test_one_encounter_is_gathered_in_two_batches_then_one_when_the_run_knows_its_patient(
    asgi_fhir, coding
):
    pipeline = Pipeline(asgi_fhir, coding, write=False)
    first = await pipeline.process("enc-0001-1")
    assert first.outcome in (Outcome.BUILT, Outcome.HELD)
    assert first.round_trips == 3  # /metadata once per server, then two batches
    again = await pipeline.process("enc-0001-1")
    assert again.round_trips == 1  # patient, coverage and practitioners come from the cache


async def test_dry_run_writes_nothing(asgi_fhir, coding):
    summary = await code_all_finished(asgi_fhir, coding, write=False)
    assert summary.by_outcome(Outcome.BUILT)
    assert summary.claims_on_server == 0


async def test_unknown_encounter_fails_cleanly_and_writes_nothing(asgi_fhir, coding):
    result = await Pipeline(asgi_fhir, coding).process("no-such-encounter")
    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert result.error.status_code == 404  # type: ignore[union-attr]
    assert await asgi_fhir.count("Claim") == 0


@pytest.mark.parametrize(
    ("sent", "rule"),
    [
        ("E11.999", "ICD10CM-INVALID-ON-DATE"),
        ("E11", "ICD10CM-NOT-BILLABLE"),
        ("S72.001", "ICD10CM-7TH-CHARACTER"),
        ("IMO0002", "ICD10CM-MALFORMED"),
    ],
)
async def test_condition_with_a_bad_icd10cm_code_becomes_a_finding_not_a_line(
    asgi_fhir, coding, sent, rule
):
    encounter = await asgi_fhir.read("Encounter", "enc-0001-1")
    condition = {
        "resourceType": "Condition",
        "id": "bad-code",
        "subject": encounter["subject"],
        "encounter": {"reference": "Encounter/enc-0001-1"},
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10CM, "code": sent}]},
    }
    await asgi_fhir.update(condition)
    result = await Pipeline(asgi_fhir, coding).process("enc-0001-1")
    [finding] = [i for i in result.issues if i.source == "Condition/bad-code"]
    assert finding.rule == rule
    assert finding.severity.blocks
    codes = [line.code for line in result.coded.diagnoses]
    assert normalise_icd10cm(sent) not in codes
    if result.claim is not None:
        assert result.claim["status"] == "draft"
