"""The same gathering against Medplum's FHIR router: a server the project did not write."""

from adapters.fhir.client import FhirClient
from adapters.gathering.gather import GatherSession
from sandbox.seed import build_seed_bundle
from tests.adapters.synthea_gathering import gather_finished, synthea_bundles
from tests.peer_server import load_transaction_chunks


def finished(bundle):
    return sum(
        1
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Encounter" and e["resource"]["status"] == "finished"
    )


async def test_every_finished_seeded_and_synthea_encounter_is_gathered_from_medplum(
    medplum_clean,
):
    bundles = [build_seed_bundle(), *synthea_bundles()]
    for bundle in bundles:
        load_transaction_chunks(medplum_clean, bundle)
    async with FhirClient(medplum_clean) as fhir:
        session = GatherSession(fhir)
        strategy = await session.decide()
        assert strategy.profile.name == "medplum"
        gathered = await gather_finished(fhir, session=session)
    assert len(gathered.encounters) == sum(finished(b) for b in bundles)
    assert max(gathered.round_trips.values()) <= 3
    with_npi = [e for e in gathered.encounters.values() if any(p.npi for p in e.providers)]
    assert len(with_npi) == len(gathered.encounters)
    assert not session.cache.failed
