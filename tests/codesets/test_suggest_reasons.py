"""Reasons for the visit and injuries by what happened (index/reasons-and-injuries.tsv).

Every row is checked against the FY2026 Tabular by test_coders_index.py. Here: phrases
written for these tests (not taken from a measured list) find the code a coder gives them:
an encounter for a test is screening (Guidelines I.C.21.c.5), a treatment session is coded
by the session first (I.C.2.e.2), a routine postpartum visit is Z39.2, and injuries are
found by what happened: an object in an ear or nose (T16-T17), a splinter (a superficial
foreign body by site), a sting (the venom's toxic effect), a scratch (an abrasion by site),
a missing part (acquired absence, Z89).
"""

from __future__ import annotations

from datetime import date

import pytest

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("screening for HIV", "Z114"),
        ("std testing", "Z113"),
        ("encounter for sterilization", "Z302"),
        ("here for vasectomy", "Z302"),
        ("chemo session for colon cancer", "Z5111"),
        ("radiation therapy for lung cancer", "Z510"),
        ("routine postpartum visit", "Z392"),
        ("bead stuck in right ear", "T161XXA"),
        ("crayon in left nostril", "T171XXA"),
        ("splinter in right hand", "S60551A"),
        ("splinter in left foot", "S90852A"),
        ("stung by a wasp", "T63461A"),
        ("stung by bee on leg", "T63441A"),
        ("frostbite of right fingers", "T33531A"),
        ("burned tongue on hot soup", "T280XXA"),
        ("scratched by dog on right hand", "S60511A"),
        ("cat scratch on left thigh", "S70312A"),
        ("missing left thumb", "Z89012"),
        ("missing left foot", "Z89432"),
        ("barking cough in toddler", "J050"),
    ],
)
def test_the_reason_or_what_happened_leads_first(registry, text: str, code: str) -> None:
    offered = registry.suggest(text, on=ON)
    assert offered, f"nothing offered for {text!r}"
    assert offered[0].code == code, [s.code for s in offered[:5]]


def test_a_session_and_its_neoplasm_are_both_offered(registry) -> None:
    """I.C.2.e.2: the session's code and the neoplasm are both coded; both are offered."""
    offered = [s.code for s in registry.suggest("chemo for stomach cancer", on=ON)[:5]]
    assert "Z5111" in offered, offered
    assert any(code.startswith("C16") for code in offered), offered


@pytest.mark.parametrize(
    "text",
    [
        "fracture of left radius, cast change",
        "fractured right forearm healing well",
        "fracture right wrist, here for cast removal",
    ],
)
def test_a_healing_fractures_visit_is_the_injury_with_d(registry, text: str) -> None:
    """I.C.19.a: cast change or removal and a healing check are subsequent care (7th D)."""
    offered = registry.suggest(text, on=ON)
    assert offered, f"nothing offered for {text!r}"
    first = offered[0].code
    assert first.startswith("S"), [s.code for s in offered[:5]]
    assert first.endswith("D"), [s.code for s in offered[:5]]
