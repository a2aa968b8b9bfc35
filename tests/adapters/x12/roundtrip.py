"""837 -> x12sdk's reader -> the claim facts it states, to compare with what we meant to send."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from x12sdk.io import X12ModelReader

from adapters.x12.claim_facts import ClaimFacts


def _value(x: Any) -> str:
    return str(getattr(x, "value", x)) if x is not None else ""


def facts_read_back(text: str) -> dict[str, dict[str, Any]]:
    """Per CLM01, the facts the 837 states: kind, frequency, codes, lines, charges."""
    found: dict[str, dict[str, Any]] = {}
    with X12ModelReader(text) as reader:
        for model in reader.models():
            institutional = "Institutional" in type(model).__name__
            for submitted in model.claims():
                claim = submitted.claim
                where = claim.clm_segment.health_care_service_location_information.split(":")
                codes = [
                    list(getattr(hi, f"health_care_code_{i}"))
                    for hi in claim.hi_segment or []
                    for i in range(1, 13)
                    if getattr(hi, f"health_care_code_{i}")
                ]
                lines = []
                for loop in submitted.service_lines:
                    if institutional:
                        sv = loop.sv2_segment
                        product = (sv.composite_medical_procedure_identifier or ":").split(":")
                        lines.append(
                            (
                                sv.service_line_revenue_code,
                                product[1],
                                tuple(product[2:]),
                                Decimal(sv.service_unit_count),
                                Decimal(sv.line_item_charge_amount),
                                (),
                            )
                        )
                    else:
                        sv = loop.sv1_segment
                        product = sv.product_service_id_qualifier.split(":")
                        pointers = tuple(
                            int(p) for p in sv.composite_diagnosis_code_pointer.split(":")
                        )
                        lines.append(
                            (
                                "",
                                product[1],
                                tuple(product[2:]),
                                Decimal(sv.service_unit_count),
                                Decimal(sv.line_item_charge_amount),
                                pointers,
                            )
                        )
                refs = {
                    _value(r.reference_identification_qualifier): r.reference_identification
                    for r in claim.ref_segment or []
                }
                found[claim.clm_segment.patient_control_number] = {
                    "kind": "institutional" if institutional else "professional",
                    "place": where[0],
                    "frequency": where[2],
                    "charge": Decimal(claim.clm_segment.total_claim_charge_amount),
                    "diagnoses": [c[1] for c in codes if c[0] in ("ABK", "ABF", "ABJ")],
                    "poa": [c[8] if len(c) > 8 else "" for c in codes if c[0] in ("ABK", "ABF")]
                    if institutional
                    else [],
                    "drg": next((c[1] for c in codes if c[0] == "DR"), ""),
                    "pcs": [c[1] for c in codes if c[0] in ("BBR", "BBQ")],
                    "lines": lines,
                    "payer_claim_number": refs.get("F8", ""),
                    "member_id": submitted.member_id,
                    "subscriber": submitted.subscriber_name,
                    "patient": submitted.patient_name,
                    "payer_id": submitted.payer.nm1_segment.identification_code,
                    "billing_npi": submitted.billing_provider_npi,
                }
    return found


def facts_meant(facts: ClaimFacts) -> dict[str, Any]:
    """The same view of what we meant to send."""
    institutional = facts.kind == "institutional"
    ordered = sorted(facts.diagnoses, key=lambda d: (d.role != "principal", d.role != "admitting"))
    return {
        "kind": facts.kind,
        "place": "11" if institutional else facts.place_of_service,
        "frequency": facts.frequency,
        "charge": facts.total,
        "diagnoses": [d.code for d in (ordered if institutional else facts.diagnoses[:12])],
        "poa": [d.poa for d in ordered if d.role != "admitting"] if institutional else [],
        "drg": facts.drg,
        "pcs": [p.code for p in facts.procedures],
        "lines": [
            (
                line.revenue if institutional else "",
                line.code,
                line.modifiers,
                line.units,
                line.charge,
                () if institutional else (line.pointers or (1,)),
            )
            for line in facts.lines
        ],
        "payer_claim_number": facts.payer_claim_number,
        "member_id": facts.subscriber.member_id,
        "subscriber": (facts.subscriber.last, facts.subscriber.first or None),
        "patient": (facts.patient.last, facts.patient.first or None),
        "payer_id": facts.payer_id,
        "billing_npi": "1526018159",  # the parties' (tests/adapters/x12/conftest.py)
    }
