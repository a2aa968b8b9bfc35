"""What a cath lab's or an operating room's procedure record says, beside the procedure's concept.

Synthea writes a Procedure as its concept alone. The systems that document interventional
cardiology and surgery (cath-lab reporting, the OR's intra-operative record and implant log)
send more, and their FHIR Procedure carries it:

* the vessels treated as ``bodySite``: SNOMED CT body structures (the coronary artery
  segments of DICOM PS3.16 CID 3014/3016: proximal LAD 68787002, mid RCA 450960006...),
  the proximal anastomosis of a bypass (the aorta, 15825003), a conduit harvested in situ
  by its name (the left internal mammary artery);
* each implant as a ``focalDevice``, action *Implantation* (SNOMED CT 129336009), pointing
  at a contained ``Device`` whose ``type`` is the GMDN term that scanning the implant's UDI
  brings from the FDA's GUDID ("Drug-eluting coronary artery stent, non-bioabsorbable-polymer-
  coated"), with its lot number;
* a bypass conduit that is the patient's own tissue as ``usedCode`` (a saphenous vein graft);
* the approach, where the operative record states it, in the core ``procedure-method``
  extension (*Open approach - access*, SNOMED CT 129236007).

:func:`record_details` adds those facts to the seed's coronary interventions on inpatient
stays. The draws use their own generator seeded by the Procedure's id, so the rest of the
seed population stays byte for byte what it was; ``build_seed_bundle(...,
procedure_details=False)`` writes the Synthea-like records (the concept alone) for comparison.
Most cases state everything an ICD-10-PCS code needs; some, as in real records, do not (two
arteries whose stents are not paired with them, a bypass from two sources), and stay with a coder.
"""

from __future__ import annotations

import random
from typing import Any, Final

__all__ = ["CORONARY_INTERVENTIONS", "record_details"]

_SCT: Final = "http://snomed.info/sct"
PCI: Final = "415070008"
CABG: Final = "232717009"
CORONARY_INTERVENTIONS: Final = frozenset({PCI, CABG})

_SEGMENTS: Final = (
    (("68787002", "Proximal left anterior descending coronary artery"),
     ("91748002", "Mid left anterior descending coronary artery")),
    (("52433000", "Proximal circumflex coronary artery"),
     ("91753007", "Mid circumflex coronary artery")),
    (("91083009", "Proximal right coronary artery"),
     ("450960006", "Mid right coronary artery")),
)  # fmt: skip
"""Per major artery (LAD, circumflex, right coronary), segments a lesion is treated in."""
_ARTERIES: Final = (
    ("59438005", "Left anterior descending coronary artery"),
    ("57396003", "Circumflex coronary artery"),
    ("13647002", "Right coronary artery"),
)
_STENTS: Final = (
    "Drug-eluting coronary artery stent, non-bioabsorbable-polymer-coated",
    "Bare-metal coronary artery stent",
)
_IMPLANTED: Final = {"coding": [{"system": _SCT, "code": "129336009",
                                 "display": "Implantation - action"}]}  # fmt: skip
_OPEN: Final = {
    "url": "http://hl7.org/fhir/StructureDefinition/procedure-method",
    "valueCodeableConcept": {
        "coding": [{"system": _SCT, "code": "129236007", "display": "Open approach - access"}]
    },
}


def _site(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": _SCT, "code": code, "display": display}], "text": display}


def _pci(rng: random.Random) -> dict[str, Any]:
    """Arteries (one in four cases two) and one to three stents of one kind."""
    arteries = rng.sample(range(len(_SEGMENTS)), 2 if rng.random() < 0.25 else 1)
    stents = rng.choices((1, 2, 3), weights=(65, 30, 5))[0]
    kind = _STENTS[0] if rng.random() < 0.85 else _STENTS[1]
    devices = [
        {"resourceType": "Device", "id": f"stent{n}", "status": "active",
         "type": {"text": kind}, "lotNumber": f"L{rng.randint(10000, 99999)}"}
        for n in range(1, stents + 1)
    ]  # fmt: skip
    return {
        "bodySite": [_site(*rng.choice(_SEGMENTS[a])) for a in sorted(arteries)],
        "contained": devices,
        "focalDevice": [
            {"action": _IMPLANTED, "manipulated": {"reference": f"#{d['id']}"}} for d in devices
        ],
    }


def _cabg(rng: random.Random) -> dict[str, Any]:
    """One to three arteries; saphenous vein grafts from the aorta, or a LIMA beside them."""
    arteries = sorted(rng.sample(range(len(_ARTERIES)), rng.randint(1, 3)))
    sites = [_site("15825003", "Aortic structure")]
    used = [{"text": "Saphenous vein graft"}]
    if 0 in arteries and len(arteries) > 1 and rng.random() < 0.4:
        # the left internal mammary artery to the LAD in situ, veins to the others (B3.6c)
        sites.append({"text": "Left internal mammary artery"})
    sites += [_site(*_ARTERIES[a]) for a in arteries]
    return {"bodySite": sites, "usedCode": used, "extension": [_OPEN]}


def record_details(procedure: dict[str, Any], concept: str) -> dict[str, Any]:
    """``procedure`` with the facts its cath-lab or OR record states; others unchanged."""
    if concept not in CORONARY_INTERVENTIONS:
        return procedure
    rng = random.Random(str(procedure["id"]))  # noqa: S311 - reproducible test data
    details = _pci(rng) if concept == PCI else _cabg(rng)
    return {**procedure, **details}
