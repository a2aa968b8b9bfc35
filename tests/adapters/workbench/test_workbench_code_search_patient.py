"""The coder's code search and the item's suggestions know the item's patient (issue 17).

A work item carries its encounter, patient facts included (sex, birth date): the ICD-10-CM
search for an item and the suggestions made for it leave out the codes that patient cannot
have, as the MCE's age and sex edits would refuse them (no newborn code for a 60-year-old
man, no maternity code for a man), and offer them to the newborn they fit.
"""

import re

from adapters.jobs import WorkerSettings
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.workbench.app import create_workbench
from tests.adapters.held_cases import put_header_encounter

from .conftest import client_for, sign_in

DAY = "2025-11-04"
PATIENTS = {
    "pat-man-60": ("male", "1965-03-02"),
    "pat-newborn": ("female", "2025-11-01"),
}


async def _held_items(bench) -> dict[str, int]:
    """One held item (an E03 header sent for "neonatal jaundice") per patient above."""
    for patient, (gender, born) in PATIENTS.items():
        await bench.fhir.update(
            {"resourceType": "Patient", "id": patient, "gender": gender, "birthDate": born}
        )
        version = await put_header_encounter(
            bench.fhir, f"enc-{patient}", patient=patient, words="Neonatal jaundice", day=DAY
        )
        bench.ledger.enqueue("sb", f"enc-{patient}", version)
    settings = WorkerSettings(concurrency=1, retry_base_seconds=0.01, max_attempts=3)
    await WorkerPool(bench.ledger, Pipeline(bench.fhir, bench.coding), "sb", settings).drain()
    return {p: bench.ledger.work.find("sb", f"enc-{p}").id for p in PATIENTS}


def _offered(html: str) -> list[str]:
    return re.findall(r'data-code="([^"]+)"', html)


async def test_the_search_for_an_item_leaves_out_codes_its_patient_cannot_have(held_bench):
    items = await _held_items(held_bench)
    async with client_for(create_workbench(held_bench)) as client:
        await sign_in(client, "ada")

        async def search(q: str, item: int | None = None) -> list[str]:
            params = {"q": q, **({"item": item} if item else {})}
            answer = await client.get("/codes", params=params)
            assert answer.status_code == 200, answer.text
            return _offered(answer.text)

        man, newborn = items["pat-man-60"], items["pat-newborn"]
        for_man = await search("jaundice", man)
        assert "R17" in for_man
        assert not [c for c in for_man if c.startswith("P")], for_man
        assert not [c for c in await search("pregnancy", man) if c.startswith(("O", "Z3"))]
        assert (await search("neonatal jaundice", newborn))[0] == "P599"
        # without an item there is no patient, and nothing is left out
        assert "P599" in await search("neonatal jaundice")
        assert "P599" not in await search("neonatal jaundice", man)


async def test_the_items_suggestions_are_made_for_its_patient(held_bench):
    items = await _held_items(held_bench)

    def offered(item_id: int) -> list[str]:
        payload = held_bench.ledger.work.get(item_id).payload
        return [o["code"] for entry in payload["suggestions"] for o in entry["options"]]

    assert "P599" in offered(items["pat-newborn"])
    for_man = offered(items["pat-man-60"])
    assert "E039" in for_man  # below the E03 the EHR sent, whoever the patient
    assert not [c for c in for_man if c.startswith("P")], for_man
