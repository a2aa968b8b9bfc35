"""Gathering from the real sandbox: its seed, the Synthea bundles, every reference form."""

import httpx
import pytest

from adapters.fhir.client import FhirClient, count_round_trips
from adapters.fhir.references import ReferenceCache, subject_patient_id
from adapters.gathering.gather import GatherSession, gather_encounter
from sandbox.app import create_app
from sandbox.seed import build_seed_bundle
from tests.adapters.conftest import ASGI_BASE
from tests.adapters.synthea_gathering import gather_finished, synthea_bundles

NPI = "http://hl7.org/fhir/sid/us-npi"


def finished_ids(bundle):
    return {
        e["resource"]["id"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Encounter" and e["resource"]["status"] == "finished"
    }


async def test_every_finished_seeded_encounter_is_gathered_in_at_most_two_round_trips(
    asgi_fhir,
):
    gathered = await gather_finished(asgi_fhir)
    assert set(gathered.encounters) == finished_ids(build_seed_bundle())
    # /metadata is read once per server: one encounter pays for it.
    assert max(gathered.round_trips.values()) <= 3
    assert sum(1 for n in gathered.round_trips.values() if n > 2) <= 1
    again = await gather_finished(asgi_fhir)  # the run's cache now knows every patient
    assert set(again.round_trips.values()) == {1}
    assert again.encounters == gathered.encounters
    for encounter in gathered.encounters.values():
        assert encounter.patient.birth_date is not None
        assert any(p.npi for p in encounter.providers), encounter.id
        assert not [i for i in encounter.read_issues if i.rule == "READ-UNRESOLVED-REFERENCE"]


async def test_batch_and_plain_strategies_gather_the_same(asgi_fhir):
    batch = GatherSession(asgi_fhir)
    strategy = await batch.decide()
    assert strategy.batch
    plain = GatherSession(asgi_fhir, strategy=strategy.with_overrides(batch=False))
    by_batch = await gather_finished(asgi_fhir, session=batch)
    by_plain = await gather_finished(asgi_fhir, session=plain)
    assert by_batch.encounters == by_plain.encounters
    assert by_plain.mean_round_trips > by_batch.mean_round_trips


async def test_the_reference_cache_reads_each_practitioner_once_per_run(asgi_fhir):
    session = GatherSession(asgi_fhir, cache=ReferenceCache())
    await gather_finished(asgi_fhir, session=session, concurrency=1)
    practitioners = [k for k in session.cache.found if k.startswith("Practitioner/")]
    assert practitioners
    assert not session.cache.failed


async def test_loopback_with_the_production_transport(loopback_base_url):
    async with FhirClient(loopback_base_url) as fhir:
        gathered = await gather_finished(fhir)
    assert set(gathered.encounters) == finished_ids(build_seed_bundle())
    assert max(gathered.round_trips.values()) <= 3


@pytest.fixture(scope="module")
def synthea_app(tmp_path_factory):
    bundles = synthea_bundles()
    app = create_app(tmp_path_factory.mktemp("synthea") / "sandbox.sqlite3")
    yield app, bundles
    app.state.store.close()


@pytest.fixture
async def synthea_fhir(synthea_app):
    app, bundles = synthea_app
    async with FhirClient(ASGI_BASE, transport=httpx.ASGITransport(app=app)) as fhir:
        if await fhir.count("Encounter") == 0:
            for bundle in bundles:
                response, body = await fhir.request("POST", "", json_body=bundle)
                assert response.status_code == 200, body
        yield fhir


async def test_every_finished_synthea_encounter_is_gathered(synthea_fhir):
    gathered = await gather_finished(synthea_fhir)
    assert len(gathered.encounters) == 139
    assert max(gathered.round_trips.values()) <= 3
    with_procedures = [e for e in gathered.encounters.values() if e.procedures]
    with_conditions = [e for e in gathered.encounters.values() if e.diagnoses]
    assert with_procedures
    assert with_conditions
    for encounter in gathered.encounters.values():
        assert encounter.patient.sex in ("female", "male")
        roles = {p.role for p in encounter.providers}
        assert "service-provider" in roles, encounter.id
        assert all(
            p.reference.split("/")[0] in ("Practitioner", "Organization")
            for p in encounter.providers
        )
        assert any(p.npi for p in encounter.providers if p.role != "service-provider"), encounter.id


async def reference_forms_encounter(fhir):
    """A finished encounter whose references take every form servers send."""
    practitioner, *_ = await fhir.search_all("Practitioner")
    npi = next(i for i in practitioner["identifier"] if i["system"] == NPI)["value"]
    patient, *_ = await fhir.search_all("Patient")
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"{fhir.base_url}/Patient/{patient['id']}"},
        "period": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T10:00:00Z"},
        "contained": [
            {"resourceType": "Practitioner", "id": "locum", "name": [{"text": "Dr Locum"}]}
        ],
        "participant": [
            {"individual": {"reference": f"Practitioner?identifier={NPI}|{npi}"}},
            {"individual": {"type": "Practitioner", "identifier": {"system": NPI, "value": npi}}},
            {"individual": {"reference": "#locum"}},
            {"individual": {"reference": "Practitioner/no-such-practitioner"}},
        ],
        "serviceProvider": {"reference": "https://elsewhere.test/fhir/Organization/9"},
        "diagnosis": [
            {"condition": {"reference": "urn:uuid:6b1c0a54-0000-4000-8000-000000000001"}}
        ],
    }
    response, body = await fhir.request("POST", "Encounter", json_body=encounter)
    assert response.status_code == 201
    return body, npi


async def test_every_reference_form_is_followed_or_reported(asgi_fhir):
    created, npi = await reference_forms_encounter(asgi_fhir)
    encounter = await gather_encounter(asgi_fhir, created["id"])
    found = {(p.reference, p.npi, p.display) for p in encounter.providers}
    resolved = [p for p in encounter.providers if p.npi == npi]
    assert len(resolved) == 2  # the conditional and the identifier-only reference
    assert all(p.reference.startswith("Practitioner/") for p in resolved)
    assert ("#locum", "", "Dr Locum") in found
    unresolved = [i.message for i in encounter.read_issues if i.rule == "READ-UNRESOLVED-REFERENCE"]
    assert any("no-such-practitioner" in m for m in unresolved)
    assert any("another server" in m for m in unresolved)
    assert any("urn:uuid" in m for m in unresolved)
    assert encounter.patient.reference.startswith("Patient/")


async def test_the_include_strategy_gathers_the_same_as_batches(asgi_fhir):
    caps = await asgi_fhir.capabilities()
    if not caps.can_revinclude("Encounter", "Condition:encounter"):
        pytest.skip("the sandbox does not declare _revinclude=Condition:encounter on Encounter")
    batch = GatherSession(asgi_fhir)
    strategy = await batch.decide()
    by_include = GatherSession(
        asgi_fhir, strategy=strategy.with_overrides(batch=False, include=True)
    )
    expected = await gather_finished(asgi_fhir, session=batch)
    found = await gather_finished(asgi_fhir, session=by_include)
    assert found.encounters == expected.encounters


async def _first_encounter_per_patient(fhir):
    firsts: dict[str, str] = {}
    async for resource in fhir.search("Encounter", {"status": "finished", "_count": "200"}):
        firsts.setdefault(subject_patient_id(resource), str(resource["id"]))
    return firsts


async def test_a_patient_hint_brings_the_patient_and_coverage_in_round_one(asgi_fhir):
    firsts = await _first_encounter_per_patient(asgi_fhir)
    assert "" not in firsts
    assert len(firsts) > 3
    trips: dict[str, list[int]] = {"hinted": [], "plain": []}
    gathered: dict[str, list[object]] = {"hinted": [], "plain": []}
    for name, counts in trips.items():
        session = GatherSession(asgi_fhir)
        for patient, encounter_id in firsts.items():
            hint = patient if name == "hinted" else ""
            with count_round_trips() as counted:
                found = await gather_encounter(
                    asgi_fhir, encounter_id, session=session, patient_hint=hint
                )
            counts.append(counted.count)
            gathered[name].append(found)
    assert gathered["hinted"] == gathered["plain"]
    # each patient is new to the session: without the hint every one needs round two
    assert all(n >= 2 for n in trips["plain"][1:])
    assert sum(trips["hinted"]) < sum(trips["plain"])
    assert trips["hinted"][1:].count(1) > len(firsts) // 2


async def test_a_wrong_patient_hint_costs_reads_but_never_changes_the_encounter(asgi_fhir):
    firsts = list((await _first_encounter_per_patient(asgi_fhir)).items())
    (patient, encounter_id), (other_patient, _) = firsts[0], firsts[1]
    right = await gather_encounter(asgi_fhir, encounter_id, session=GatherSession(asgi_fhir))
    session = GatherSession(asgi_fhir)
    misled = await gather_encounter(
        asgi_fhir, encounter_id, session=session, patient_hint=other_patient
    )
    assert misled == right
    # the hinted patient was read, and then the Encounter's own subject
    assert {f"Patient/{other_patient}", f"Patient/{patient}"} <= set(session.cache.found)


async def test_searching_by_patient_gathers_what_searching_by_encounter_does(asgi_fhir):
    """The Epic/Oracle Cerner path, on the sandbox: the same encounters, hint or none."""
    generic = GatherSession(asgi_fhir)
    strategy = await generic.decide()
    assert not strategy.by_patient
    by_patient = GatherSession(asgi_fhir, strategy=strategy.with_overrides(by_patient=True))
    expected = await gather_finished(asgi_fhir, session=generic)
    found = await gather_finished(asgi_fhir, session=by_patient)
    assert found.encounters == expected.encounters
    firsts = list((await _first_encounter_per_patient(asgi_fhir)).items())
    (_, encounter_id), (other_patient, _) = firsts[0], firsts[1]
    misled = GatherSession(asgi_fhir, strategy=strategy.with_overrides(by_patient=True))
    wrong_hint = await gather_encounter(
        asgi_fhir, encounter_id, session=misled, patient_hint=other_patient
    )
    assert wrong_hint == expected.encounters[encounter_id]
