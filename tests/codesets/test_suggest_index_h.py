"""Everyday words for chapters 1-13 (codesets/data/suggest/index/everyday-index-h.tsv).

The file adds to the coders' index the words people write for conditions of A00-M99 that the
other index files lack: lay organ and site names (voice box, womb, a mole or a fatty lump on
the back), lay forms of the Index's terms (razor bumps, broken blood vessel in the eye, fluid
behind the eardrum, leaky aortic valve), and combinations the Index gives with "with"
(diabetes with peripheral vascular disease, I.A.15). Every row is checked against the FY2026
Tabular by test_coders_index.py. Here: the file keeps its promises (no term of another index
file written again, no row its own term cannot reach), phrases written for these tests (not
taken from a measured list or the probe lists) find the code a coder gives them first, and
the probe lists keep their recorded figures.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codesets.coders_index import FOLDER, read_table
from codesets.suggest_eval import read_phrases, score
from fhir_coder.systems import ICD10CM
from tests.codesets.suggesting import ON, first_code, same_term

FILE = FOLDER / "everyday-index-h.tsv"
DATA = Path(__file__).resolve().parent / "data"


def test_the_file_keeps_to_its_chapters():
    rows = read_table(FILE)
    assert len(rows) >= 100
    outside = [row.where for row in rows if not "A" <= row.code[0] <= "M"]
    assert not outside, outside


def test_no_term_of_another_index_file_is_written_again():
    """A term written twice would be two rows to keep true (and maybe two codes)."""
    others = {
        same_term(row.term)
        for path in FOLDER.glob("*.tsv")
        if path != FILE
        for row in read_table(path)
    }
    again = [row.where for row in read_table(FILE) if same_term(row.term) in others]
    assert not again, again


def test_no_term_needs_a_word_the_ranking_reads_as_absent():
    """A query's "no ..." or "without ..." words are what is absent (codesets.suggest): a term
    needing them could never be reached. The Index's own "without" subterm (what must not be
    said, codesets.coders_index) is the one place they belong."""
    clause = re.compile(r"\b(not|without|no)\b", re.IGNORECASE)
    outside = [
        row.where
        for row in read_table(FILE)
        for subterm in re.sub(r"\([^)]*\)", " ", row.term).split(",")
        if clause.search(subterm) and not subterm.strip().lower().startswith("without")
    ]
    assert not outside, outside


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # lay organ and site names: the Neoplasm Table and Nevus/Lipoma by site
        ("cancer of the voice box", "C329"),  # larynx
        ("cancer of the womb", "C55"),  # uterus
        ("dark mole on my back", "D225"),  # Nevus, skin, trunk
        ("mole right thigh", "D2271"),  # Nevus, skin, limb, lower (the side completes it)
        ("fatty lump on my neck", "D170"),  # Lipoma, skin, neck
        ("fatty lump on right arm", "D1721"),
        ("cellulitis of the chin", "L03211"),  # Cellulitis, face
        ("abscess on my cheek", "L0201"),
        ("arthritis in my left shoulder", "M19012"),  # Osteoarthritis, shoulder
        ("arthritis right wrist", "M19031"),
        ("arthritis of both knees", "M170"),  # bilateral primary
        ("sciatica down my left leg", "M5432"),
        ("pneumonia in the left lung", "J189"),  # a lung's side changes no code
        # lay forms of the Index's terms
        ("broken blood vessel in my left eye", "H1132"),  # Hemorrhage, subconjunctival
        ("fluid behind the eardrum", "H6590"),  # Otitis media, nonsuppurative
        ("fluid around the heart", "I3139"),  # Effusion, pericardium
        ("enlarged nasal turbinates", "J343"),
        ("infected tooth", "K047"),  # Abscess, tooth
        ("razor bumps on neck", "L731"),  # Pseudofolliculitis barbae
        ("blocked arteries in my legs", "I70209"),  # Atherosclerosis, extremities
        ("heart rhythm problem", "I499"),  # Arrhythmia, not a fetal heart rhythm
        ("spring allergies", "J302"),  # Rhinitis, allergic, seasonal
        ("allergic to dogs", "J3081"),
        ("inflamed colon", "K529"),
        ("bleeding from the back passage", "K625"),
        ("lice eggs in her hair", "B850"),
        ("pin worm infection", "B80"),
        ("fear of needles", "F40231"),
        # drugs and combinations: the Index's "with" (I.A.15), the type from the words
        ("vaping nicotine daily", "F17290"),
        ("bipolar depression", "F3130"),
        ("high LDL cholesterol", "E7800"),
        ("morbidly obese adult", "E6601"),
        ("diabetic ulcer on big toe", "E11621"),  # foot ulcer: a toe is the foot (L97.5-)
        ("type 1 diabetic with low blood sugar", "E10649"),  # the type said is kept
    ],
)
def test_everyday_words_find_the_code_a_coder_gives(registry, text: str, code: str) -> None:
    assert first_code(registry, text) == code


PROBES = (
    # (file, phrases, top-1 at least, top-5 at least): the figures measured at landing.
    # probe_index_h.tsv: 658 and 672 before the rows (then three of its keys were corrected
    # to the Index: knee osteoarthritis M17.10, a mole on the arm D22.60); a tuning list.
    ("probe_index_h.tsv", 693, 678, 691),
    # probe_index_h_2.tsv: written after the rows and measured once before any fix in it,
    # top-1 77, top-5 89 (the honest figure); tuned on since.
    ("probe_index_h_2.tsv", 110, 86, 99),  # 86: main with every part landed (2026-12-08 01:05)
)


@pytest.mark.parametrize(("name", "phrases", "top_1", "top_5"), PROBES)
def test_the_probe_lists_keep_their_figures(registry, name, phrases, top_1, top_5):
    """index-h's own probe lists (tuning lists: their misses were fixed by class)."""
    listed = read_phrases(DATA / name)
    assert len(listed) == phrases
    for phrase in listed:
        info = registry.lookup(ICD10CM, phrase.code, ON)
        assert (info.valid, info.billable) == (True, True), phrase
    measured = score(registry, listed, on=ON)
    assert measured.first >= top_1, measured.missed
    assert measured.five >= top_5, measured.missed
