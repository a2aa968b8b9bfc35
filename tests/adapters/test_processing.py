"""``code_and_build``: its findings and Claims are those of the scrubber on the Claim JSON.

The pipeline scrubs the form laid out from the coded lines; ``fhir-coder validate`` scrubs
any Claim read from its JSON. Over the generated corpus both must find the same things,
so a Claim checked in the pipeline and the same Claim validated later agree.
"""

from datetime import UTC, datetime

from adapters.bundle_source import encounters_in_bundle
from adapters.processing import code_and_build
from adapters.scrubbing import default_scrubber, scrub_claim_json
from fhir_coder.claim import build_claim
from fhir_coder.outcome import has_errors
from fhir_coder.validation import claim_can_be_built, validate
from sandbox.seed import build_seed_bundle

CREATED = datetime(2026, 11, 22, tzinfo=UTC)


def test_the_pipeline_scrub_finds_what_validate_finds_on_the_built_claim(coding):
    scrubber = default_scrubber(codesets=coding.codesets, notes=coding.notes)
    encounters = encounters_in_bundle(build_seed_bundle(seed=3, patients=60), source_id="seed")
    drafts = scrubbed = 0
    for encounter in encounters:
        processed = code_and_build(encounter, coding, created=CREATED, scrubber=scrubber)
        coded = processed.coded
        before = coded.issues + validate(coded)
        if not claim_can_be_built(before):
            assert processed.claim is None
            continue
        built = build_claim(coded, before, created=CREATED)
        facts = encounter.patient
        patient = {"resourceType": "Patient", "gender": facts.sex}
        if facts.birth_date is not None:
            patient["birthDate"] = facts.birth_date.isoformat()
        found = scrub_claim_json(built, scrubber, patient=patient, label=f"Claim/{built['id']}")
        assert processed.issues == before + found, encounter.reference
        expected = (
            build_claim(coded, before + found, created=CREATED) if has_errors(found) else built
        )
        assert processed.claim == expected
        scrubbed += 1
        drafts += processed.claim["status"] == "draft"
    assert scrubbed > 100
    assert drafts > 0
