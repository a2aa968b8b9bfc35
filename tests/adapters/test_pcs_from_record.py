"""ICD-10-PCS built from an OR record's facts, read from a sandbox over real HTTP on loopback.

The default seed's coronary bypasses on inpatient stays carry what an operating room's record
states (``sandbox/procedure_records.py``): the arteries bypassed to, the aorta, the saphenous
vein graft and the open approach; one also names the left internal mammary artery, a second
source, which the record does not pair with its artery (B3.6c), so it stays with a coder.
"""

from __future__ import annotations

from adapters.fhir.client import FhirClient
from adapters.gathering.gather import gather_encounter
from fhir_coder.model import CodingMethod
from fhir_coder.systems import ICD10PCS


async def _coded(base_url: str, encounter_id: str, coding):
    async with FhirClient(base_url) as client:
        encounter = await gather_encounter(client, encounter_id)
    return coding.code(encounter)


async def test_a_bypass_whose_record_states_every_axis_is_built(loopback_base_url, coding):
    coded = await _coded(loopback_base_url, "enc-0001-4", coding)
    [line] = [line for line in coded.procedures if line.system == ICD10PCS]
    # one artery (the LAD) from the aorta, autologous vein, open: B3.6b
    assert (line.code, line.method) == ("021009W", CodingMethod.BUILT)
    assert line.source.reference == "Procedure/proc-0001-4-1"
    assert "bypassed from the aorta" in line.rule
    assert "B3.6b" in line.rule


async def test_a_bypass_from_two_sources_names_what_the_coder_decides(loopback_base_url, coding):
    coded = await _coded(loopback_base_url, "enc-0003-4", coding)
    assert not [line for line in coded.procedures if line.system == ICD10PCS]
    [task] = [
        issue
        for issue in coded.issues
        if issue.rule == "NEEDS-CODER-NO-PROCEDURE-CODE"
        and issue.source == "Procedure/proc-0003-4-1"
    ]
    assert "021...." in task.message
    assert "B3.6c" in task.message
