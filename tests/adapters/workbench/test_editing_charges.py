"""A coder's re-scrub keeps the stay's charges the ICD-10-PCS policy left off its procedures."""

from __future__ import annotations

from datetime import UTC, date, datetime

from adapters.coding_setup import default_coding
from adapters.jobs.work_items import ItemKind, ItemState, WorkItem
from adapters.workbench.editing import rescrub, start_work
from fhir_coder.model import (
    Coding,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    SourceRef,
)
from fhir_coder.snapshot import to_plain
from fhir_coder.systems import ICD10PCS, SNOMED

CREATED = datetime(2026, 1, 20, tzinfo=UTC)


def _item(encounter: Encounter) -> WorkItem:
    coded = default_coding().code(encounter)
    payload = {
        "encounter": to_plain(encounter),
        "diagnoses": [to_plain(line) for line in coded.diagnoses],
        "procedures": [to_plain(line) for line in coded.procedures],
    }
    return WorkItem(
        1, "sb", encounter.id, "1", 1, ItemKind.HELD, ItemState.OPEN, (), (),
        "", "IMP", "", "", "", "", 0.0, 0.0, 0, "", 0.0, "", 0.0, payload, None,
    )  # fmt: skip


def test_the_charges_survive_a_rescrub_and_a_coded_one_is_not_charged_twice():
    ecg = Procedure(SourceRef("Procedure/ecg"), (Coding(SNOMED, "268400002", "ECG"),))
    stay = Encounter(
        id="s1",
        reference="Encounter/s1",
        status="finished",
        encounter_class=EncounterClass.INPATIENT,
        patient=PatientFacts("Patient/p1", "male", date(1960, 5, 1)),
        period_start=datetime(2026, 1, 12, 9, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, tzinfo=UTC),
        procedures=(ecg,),
    )
    item = _item(stay)
    work = start_work(item)
    assert work["procedures"] == []  # the ECG is not reported in ICD-10-PCS
    again = rescrub(item, work, default_coding(), created=CREATED)
    assert [(c.system, c.code) for c in again.coded.charges] == [(ICD10PCS, "4A02X4Z")]
    # The coder reports it after all: it is that line now, and no longer a separate charge.
    charge = to_plain(again.coded.charges[0])
    work["procedures"] = [{"line": charge, "how": "coder"}]
    coded = rescrub(item, work, default_coding(), created=CREATED).coded
    assert [line.code for line in coded.procedures] == ["4A02X4Z"]
    assert coded.charges == ()
