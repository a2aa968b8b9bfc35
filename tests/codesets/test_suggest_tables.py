"""The suggestion tables (codesets/data/suggest): every row a checked coding fact.

Each code is valid and billable in FY2026, each expansion's words are the Tabular's (a word
of some description or inclusion term), each drug's Table of Drugs category gives real
poisoning codes, and each abbreviation or plain phrase with a code of its own is offered that
code among five when it is searched alone for a patient it fits.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets import suggest_tables
from codesets.search import words_of
from codesets.suggest import readings, to_classification_words
from codesets.suggest_direct import direct_codes, table_codes
from fhir_coder.errors import ConfigurationError
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


def _billable(registry, code: str) -> bool:
    info = registry.lookup(ICD10CM, code, ON)
    return info.valid and info.billable


def _in_tabular(registry, words: str) -> list[str]:
    """The words of ``words`` that start no word of any description or inclusion term."""
    return [w for w in words_of(words) if not registry.search(w, limit=1)]


def test_every_abbreviation_code_is_billable_and_its_words_are_the_tabulars(registry):
    rows = [e for meanings in suggest_tables.abbreviations().values() for e in meanings]
    assert len(rows) >= 200
    bad = [(e.line, e.code) for e in rows if e.code and not _billable(registry, e.code)]
    assert not bad
    unknown = [
        (e.line, e.words, missing)
        for e in rows
        if (missing := _in_tabular(registry, to_classification_words(e.words)))
    ]
    assert not unknown


def test_an_abbreviation_alone_offers_its_code_for_a_patient_it_fits(registry):
    missed = []
    for meanings in suggest_tables.abbreviations().values():
        for e in meanings:
            if not e.code or e.context:
                continue
            age = e.min_age if e.min_age is not None else (0 if e.below_age == 1 else 40)
            if e.below_age is not None and age >= e.below_age:
                age = e.below_age - 1
            offered = [s.code for s in registry.suggest(e.abbreviation, on=ON, age=age, sex=e.sex)]
            if e.code not in offered:
                missed.append((e.line, e.abbreviation, e.code, offered))
    assert not missed


def test_every_synonym_code_is_billable_and_offered_for_its_words(registry):
    rows = list(suggest_tables.synonyms().values())
    assert len(rows) >= 200
    assert not [(r.line, r.code) for r in rows if r.code and not _billable(registry, r.code)]
    assert not [
        (r.line, missing)
        for r in rows
        if (missing := _in_tabular(registry, to_classification_words(r.classification)))
    ]
    missed = []
    for r in rows:
        if r.code:
            offered = [s.code for s in registry.suggest(r.words, on=ON)]
            if r.code not in offered:
                missed.append((r.line, r.words, r.code, offered))
    assert not missed


def test_every_drug_row_names_a_table_category_and_billable_status_codes(registry):
    rows = list(suggest_tables.drugs().values())
    assert len(rows) >= 150
    for drug in rows:
        if drug.table:
            # the Table's category with intent 1 (accidental) and the initial encounter
            codes = table_codes(drug.table, "1", "A")
            assert [c for c in codes if _billable(registry, c)], drug
        if drug.long_term:
            assert drug.long_term.startswith("Z79"), drug
            assert _billable(registry, drug.long_term), drug
        if drug.allergy:
            assert drug.allergy.startswith("Z88"), drug
            assert _billable(registry, drug.allergy), drug


def test_every_index_default_is_billable_and_offered_first_for_its_words(registry):
    rows = suggest_tables.defaults()
    assert len(rows) >= 80
    for words, (code, line) in rows.items():
        assert _billable(registry, code), (line, code)
        offered = [s.code for s in registry.suggest(words, on=ON)]
        assert offered[:1] == [code], (line, words, offered)


def test_every_status_and_social_phrase_code_is_billable(registry):
    rows = suggest_tables.phrases()
    assert len(rows) >= 60
    assert not [(r.line, r.code) for r in rows if not _billable(registry, r.code)]


@pytest.mark.parametrize(
    ("words", "age", "sex", "code"),
    [
        ("on Plavix", 70, "male", "Z7902"),  # long-term use, I.C.21.c.3
        ("long-term insulin use", 50, "female", "Z794"),
        ("PCN allergy", 30, "female", "Z880"),
        ("allergic to codeine", 30, "female", "Z885"),
        ("tylenol overdose", 19, "female", "T391X1A"),  # no intent said: accidental
        ("intentional overdose of sertraline, initial", 25, "male", "T43222A"),
        ("adverse effect of lisinopril, subsequent encounter", 60, "male", "T464X5D"),
        ("underdosing of insulin", 60, "male", "T383X6A"),
        ("living in my car", 44, "male", "Z5902"),
        ("no heat in apartment", 70, "female", "Z5911"),
        ("can't afford food", 35, "female", "Z5941"),
        ("no transportation to appointments", 66, "female", "Z5982"),
        ("pacemaker in situ", 80, "male", "Z950"),
        ("s/p CABG", 70, "male", "Z951"),
        ("quit smoking in 2010", 65, "male", "Z87891"),
        ("DNR", 90, "female", "Z66"),
        ("ED", 60, "male", "N529"),  # erectile dysfunction for a man
        ("AECOPD", 70, "female", "J441"),
        ("low potassium", 70, "female", "E876"),
        ("coughing up blood", 50, "male", "R042"),
        ("warfarin toxicity, initial", 80, "male", "T45515A"),  # as prescribed: I.C.19.e.5.a
        ("grieving loss of son", 60, "female", "Z634"),
        ("runs out of food before end of month", 60, "female", "Z5941"),
        ("GDM on insulin", 30, "female", "O24414"),  # insulin is the Tabular's own word
        ("bronchitis", 40, "male", "J40"),  # the Index's code for the main term alone
    ],
)
def test_a_named_code_comes_first(registry, words, age, sex, code):
    offered = [s.code for s in registry.suggest(words, on=ON, age=age, sex=sex)]
    assert offered[:1] == [code], offered


def test_a_drug_name_is_left_out_of_the_words_ranked(registry):
    offered = [s.code for s in registry.suggest("afib on Eliquis", on=ON, age=75, sex="female")]
    assert offered[:2] == ["I4891", "Z7901"]


def test_an_effect_of_a_drug_comes_after_the_condition_it_caused(registry):
    offered = [s.code for s in registry.suggest("hyponatremia due to HCTZ", on=ON, age=70)]
    assert offered[:2] == ["E871", "T502X5A"]


def test_an_abbreviation_is_read_by_its_context_age_and_sex():
    assert "erectile" in readings("ED", 60, "male")[0]
    assert all("erectile" not in r for r in readings("ED", 30, "female"))
    assert readings("ED visit for chest pain", 40, "male")[0] == "visit for chest pain"
    assert readings("severe AS", 80, "male")[0] == "severe nonrheumatic aortic valve stenosis"
    assert readings("as needed", 80, "male")[0] == "as needed"  # no context: the word stays
    first, second = readings("MS", 40, "female")
    assert (first, second) == ("multiple sclerosis", "mitral stenosis")
    assert readings("MS valve disease", 40, "female")[0].startswith("mitral stenosis")


def test_a_status_word_left_over_decides_whether_a_named_code_comes_first():
    assert direct_codes("history of CABG")[0].covers
    assert not direct_codes("pacemaker malfunction")[0].covers
    assert direct_codes("incarcerated inguinal hernia") == []


def test_a_table_of_another_shape_is_refused_with_its_place(tmp_path, monkeypatch):
    (tmp_path / "drugs.tsv").write_text(
        "# comment\ndrug\ttable\tlong_term\tallergy\tbasis\nwarfarin\tT45.51\tZ79.01\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(suggest_tables, "TABLES", tmp_path)
    suggest_tables.drugs.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"drugs.tsv:3: expected 5"):
            suggest_tables.drugs()
    finally:
        suggest_tables.drugs.cache_clear()


def test_a_bmi_value_follows_the_condition_it_is_reported_with(registry):
    offered = [s.code for s in registry.suggest("obesity, BMI 35", on=ON, age=45, sex="female")]
    assert offered[:2] == ["E669", "Z6835"]
    assert [s.code for s in registry.suggest("BMI 35", on=ON, age=45)][:1] == ["Z6835"]
