from __future__ import annotations

from datetime import date

from codesets.search import Icd10cmSearch, words_of
from fhir_coder.ports import TextSearchPort
from fhir_coder.systems import ICD10CM


def test_words_drop_stop_words():
    assert words_of("Type 2 diabetes mellitus without complications") == [
        "type",
        "2",
        "diabetes",
        "mellitus",
        "complications",
    ]


def test_every_word_must_match_the_start_of_a_word():
    search = Icd10cmSearch([(0, "Acute bronchitis"), (1, "Chronic bronchitis"), (2, "Acne")])
    assert [hit.row for hit in search.search("bronch")] == [0, 1]
    assert [hit.row for hit in search.search("acute bronch")] == [0]
    assert search.search("of the") == []
    assert search.search("missing") == []


def test_search_by_words_ranks_the_closest_description_first(registry):
    found = registry.search("type 2 diabetes mellitus")
    assert found[0].code == "E11"
    assert found[0].score == 1.0


def test_inclusion_terms_are_searched(registry):
    found = registry.search("fracture hip NOS")
    assert any(hit.code == "S7200" and hit.matched == "Fracture of hip NOS" for hit in found)


def test_suggestions_are_billable_and_valid_on_the_date(registry):
    port: TextSearchPort = registry
    later = port.suggest("diabetes remission", on=date(2026, 1, 1), limit=50)
    assert all(hit.system == ICD10CM for hit in later)
    assert "E11A" in {hit.code for hit in later}
    assert all(registry.lookup(ICD10CM, hit.code, date(2026, 1, 1)).billable for hit in later)
    earlier = port.suggest("diabetes remission", on=date(2025, 9, 30), limit=50)
    assert "E11A" not in {hit.code for hit in earlier}
    assert 0 < later[0].score <= 1
