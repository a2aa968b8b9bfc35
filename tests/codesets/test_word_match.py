"""The one "same word" test the word index, the ranking and the coders' index share."""

from __future__ import annotations

from datetime import date

import pytest

from codesets.coders_index import CodersIndex, IndexRow
from codesets.search import Icd10cmSearch
from codesets.word_match import Vocabulary, Whole, finds, same, same_word, words_matching

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("asked", "word"),
    [
        ("bean", "beans"),  # a plural
        ("fracture", "fractured"),  # a participle
        ("fracture", "fractures"),
        ("cut", "cutting"),  # a doubled consonant
        ("injuries", "injury"),
        ("diabetes", "diabetic"),  # the adjective the Tabular writes
        ("allergy", "allergic"),
        ("asthma", "asthmatic"),
        ("hemorrhage", "hemorrhagic"),
        ("artery", "arterial"),
        ("myocardium", "myocardial"),
        ("depression", "depressive"),
        ("hypothyroid", "hypothyroidism"),
        ("exposed", "exposure"),
        ("leak", "leakage"),
        ("patella", "patellar"),
        ("bit", "bite"),  # English irregular forms
        ("broke", "broken"),
        ("fell", "falling"),
        ("torn", "tear"),
        ("teeth", "tooth"),
        ("burned", "burnt"),  # a regular and an irregular past
        ("smokes", "smoker"),  # the one who does it, beside an inflection
        ("numb", "numbness"),
        ("pain", "painful"),
        ("itch", "itchy"),
        ("uterus", "uterine"),
        ("cervix", "cervical"),
        ("vertebra", "vertebrae"),
        ("abnormal", "abnormalities"),
    ],
)
def test_a_word_is_its_inflections_and_derived_forms(asked, word):
    assert same_word(asked, word)
    assert same_word(word, asked)  # either way round


@pytest.mark.parametrize(
    ("asked", "word"),
    [
        ("cut", "cutaneous"),
        ("cut", "cutis"),  # a noun's ending on a whole other word
        ("tetanus", "tetany"),  # two nouns of one base: A35 and R29.0
        ("chancre", "chancroid"),  # A51.0 and A57
        ("numb", "number"),
        ("pin", "pineal"),
        ("cyst", "cystitis"),  # "-itis" makes another condition
        ("thyroid", "thyroiditis"),
        ("head", "headache"),  # a compound is another word
        ("toe", "toenail"),
        ("eye", "eyelid"),
        ("moth", "mother"),  # "-er" on a whole other word
        ("pain", "painless"),
        ("severe", "severity"),  # "unspecified severity" (F03.90) is not "severe" (F03.C0)
    ],
)
def test_a_word_is_not_a_longer_other_word(asked, word):
    assert not same_word(asked, word)
    assert not same_word(word, asked)


VOCABULARY = (
    "cut", "cutaneous", "cutis", "cuts", "cutting", "tetanus", "tetany", "tetanic", "fracture",
    "fractured", "fractures", "fracturing", "diabetes", "diabetic", "hypothyroidism",
    "hypothyroid", "pneumonia", "pneumonitis", "ra", "rash", "rabies",
)  # fmt: skip


def test_a_complete_word_finds_the_same_word_a_fragment_the_words_it_starts():
    vocabulary = Vocabulary(VOCABULARY)
    cut = vocabulary.form("cut")
    assert isinstance(cut, Whole)
    assert cut.same == {"cut", "cuts", "cutting"}
    assert vocabulary.form("tetanus", "tetan") == "tetan"  # keyed as the caller keys it
    tetanus = vocabulary.form("tetanus", "tetan")
    assert not same(tetanus, "tetany")
    assert same(tetanus, "tetanus")
    assert same(vocabulary.form("fractures", "fractur"), "fractured")
    # Fragments, as a coder types them in the workbench: every word they start.
    pneumon = vocabulary.form("pneumon")
    assert not isinstance(pneumon, Whole)
    assert same(pneumon, "pneumonia")
    assert same(pneumon, "pneumonitis")
    assert same(vocabulary.form("hypothyr"), "hypothyroidism")
    # An inflection of a known word is complete; a prefix the Tabular joins is a start.
    assert isinstance(vocabulary.form("rashes"), Whole)
    assert same(vocabulary.form("post"), "postmenopausal")
    assert same(vocabulary.form("non"), "nontraumatic")


def test_a_short_word_is_only_itself():
    vocabulary = Vocabulary(VOCABULARY)
    assert same(vocabulary.form("ra"), "ra")
    assert not same(vocabulary.form("ra"), "rash")
    hyp = vocabulary.form("hyp")  # three letters, no word: not every hyp- word
    assert not same(hyp, "hypothyroidism")
    assert same("pe", "pes")  # a short form another module gives: itself and its plural
    assert not same("pe", "pelvis")
    assert same("c", "c")
    assert not same("c", "cs")  # one letter is only itself ("hepatitis c")


def test_finds_reads_sorted_and_unsorted_words_alike():
    vocabulary = Vocabulary(VOCABULARY)
    forms = (vocabulary.form("tetanus", "tetan"),)
    assert not finds(forms, ("neonatal", "tetany"))
    assert not finds(forms, frozenset(("neonatal", "tetany")))
    assert finds(forms, ("other", "tetanus"))
    assert finds((vocabulary.form("pneumon"),), ("pneumonitis",))
    assert finds((vocabulary.form("pneumon"),), frozenset(("pneumonitis",)))


def test_words_matching_looks_the_same_word_up_in_a_vocabulary():
    assert words_matching("fracture", tuple(sorted(VOCABULARY))) == {
        "fracture",
        "fractured",
        "fractures",
        "fracturing",
    }
    assert words_matching("diabetes", tuple(sorted(VOCABULARY))) == {"diabetes", "diabetic"}


def test_the_word_index_finds_the_same_word_not_a_longer_one():
    search = Icd10cmSearch(
        [(0, "Tetany"), (1, "Other tetanus"), (2, "Cutaneous abscess"), (3, "Cut of scalp")]
    )
    assert [hit.row for hit in search.search("tetanus")] == [1]
    assert [hit.row for hit in search.search("cut")] == [3]
    assert [hit.row for hit in search.search("teta")] == [0, 1]  # a fragment: both


def _row(term: str, code: str, line: int) -> IndexRow:
    words = frozenset(term.lower().replace(",", " ").split())
    return IndexRow(term, code, False, "Index", words, frozenset(), frozenset(), "t.tsv", line)


def test_the_coders_index_finds_the_same_word_not_a_longer_one():
    index = CodersIndex.of([_row("Tetany", "R290", 1), _row("Tetanus", "A35", 2)])
    vocabulary = Vocabulary(index.vocabulary)
    tetanus = vocabulary.form("tetanus", "tetan")
    assert [index.vocabulary[at] for at in index.words_starting(tetanus)] == ["tetanus"]
    assert len(index.words_starting("teta")) == 2  # a fragment: both


@pytest.mark.parametrize(
    ("text", "code", "not_first"),
    [
        ("tetanus", "A35", "R290"),  # not tetany
        ("tetany", "R290", "A35"),
        ("cyst", None, "N3090"),  # a cyst is no cystitis
        ("chancre", None, "A57"),  # nor chancroid
    ],
)
def test_suggestions_read_a_complete_word_as_itself(registry, text, code, not_first):
    found = [s.code for s in registry.suggest(text, on=ON)]
    if code is not None:
        assert found[0] == code
    assert not_first not in found[:1]


def test_suggestions_still_complete_a_fragment(registry):
    assert registry.suggest("hypothyr", on=ON)[0].code == "E039"
    assert registry.suggest("pneumon", on=ON)[0].code == "J189"
