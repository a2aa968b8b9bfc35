"""Sites as people write them, found as the Tabular names them (codesets.suggest_sites).

The examples are this module's own, written from the Tabular and the Index (armpit: axilla;
calf: lower leg; a hand's skin: upper limb; both lids of one eye: upper and lower eyelids; a
side alone: unilateral), not phrases of the held-out lists.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets import suggest_sites
from codesets.coders_index import IndexRow
from codesets.search import words_of
from codesets.suggest_leads import Lead, QueryWord
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


def _offered(registry, words: str, age: int = 45, sex: str = "female") -> list[str]:
    return [s.code for s in registry.suggest(words, on=ON, age=age, sex=sex)]


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("abscess of right armpit", "L02411"),  # Index: Abscess, axilla L02.41-
        ("boil under the left underarm", "L02422"),  # Furuncle of left axilla
        ("cellulitis of right foot", "L03115"),  # Index: Cellulitis, foot: lower limb
        ("squamous cell carcinoma of skin of left hand", "C44629"),  # Neoplasm Table: hand
        ("SCC of skin of left forearm", "C44629"),
        ("laceration of left calf", "S81812A"),  # S81: lower leg
        ("lung cancer LLL", "C3432"),
        ("adenocarcinoma of the lung, RLL", "C3431"),
        ("FB right eye", "T1591XA"),
        ("blepharitis both lids left eye", "H0100B"),  # not both eyes: one eye's two lids
        ("sensorineural hearing loss left ear", "H9042"),  # a side alone: unilateral
        ("conductive hearing loss both ears", "H900"),
        ("osteoarthritis of basal joint of thumb, right", "M1811"),
        ("ingrown fingernail", "L600"),
    ],
)
def test_a_site_written_otherwise_finds_the_tabulars_code_first(registry, words, code):
    assert registry.lookup(ICD10CM, code, ON).billable
    assert _offered(registry, words)[:1] == [code]


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("pain in right wrist", "M25531"),  # no row: the Tabular names the wrist itself
        ("pain in left hand", "M79642"),  # "hand" also finds the upper limb; hand's own first
        ("pain in right foot", "M79671"),
        ("laceration of right thumb", "S61011A"),
        ("cellulitis of left axilla", "L03112"),
    ],
)
def test_a_code_naming_the_written_site_itself_still_comes_first(registry, words, code):
    assert _offered(registry, words)[:1] == [code]


def test_a_nearer_name_of_the_site_ranks_before_a_broader_one(registry):
    # "Pain in left lower leg" holds the calf's whole name; "Pain in left leg" only its head.
    assert _offered(registry, "left calf pain")[0] == "M79662"


def test_one_side_alone_also_finds_unilateral_and_both_sides_do_not():
    assert "unilateral" in suggest_sites.alternates(("hearing", "loss", "right"))["right"]
    assert "right" not in suggest_sites.alternates(("right", "left", "ear"))
    assert "left" not in suggest_sites.alternates(("left", "both", "ears"))


def test_a_site_word_also_finds_the_tabulars_head_word_and_tolerates_its_modifiers():
    assert suggest_sites.alternates(("abscess", "armpit")) == {"armpit": ("axilla",)}
    assert suggest_sites.alternates(("bite", "calf"))["calf"] == ("leg",)
    assert suggest_sites.tolerated(("bite", "calf")) == ("lower",)
    assert suggest_sites.alternates(("pain", "wrist")) == {}


def test_a_site_phrase_is_replaced_before_the_side_is_read():
    assert suggest_sites.site_phrases("Blepharitis BOTH  lids, right eye") == (
        "Blepharitis upper and lower eyelids, right eye"
    )
    assert suggest_sites.site_phrases("thumb CMC arthritis") == (
        "first carpometacarpal joint arthritis"
    )
    assert suggest_sites.site_phrases("myopia, both eyes") == "myopia, bilateral eyes"
    assert suggest_sites.site_phrases("both legs") == "both legs"


def test_site_cost_orders_own_word_whole_name_head_only():
    sites = suggest_sites.sites_of(("calf",))
    own = suggest_sites.site_cost(sites, tuple(sorted(("pain", "calf"))))
    whole = suggest_sites.site_cost(sites, tuple(sorted(("pain", "lower", "leg"))))
    head = suggest_sites.site_cost(sites, tuple(sorted(("pain", "leg"))))
    assert own < whole < head


def test_every_tabular_word_of_the_sites_table_is_the_tabulars(registry):
    table = suggest_sites.site_words()
    assert len(table.lines) >= 30
    written = set(table.phrases.values())
    for names in table.words.values():
        written.update(" ".join(name) for name in names)
    missing = [w for text in written for w in words_of(text) if not registry.search(w, limit=1)]
    assert not missing


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("forehead laceration 2 cm", "S0181XA"),  # Index: Laceration, forehead S01.81-
        ("laceration of scalp, 4.5cm long", "S0101XA"),
        ("laceration of spleen, 2 cm", "S36031A"),  # the Tabular grades the spleen's by length
    ],
)
def test_a_wounds_length_is_no_word_unless_the_tabular_grades_the_organ_by_it(
    registry, words, code
):
    assert _offered(registry, words)[:1] == [code]


def test_without_size_keeps_an_organs_length():
    assert suggest_sites.without_size("lac of chin, 2 cm") == "lac of chin"
    assert suggest_sites.without_size("3mm laceration of lip") == " laceration of lip"
    assert suggest_sites.without_size("kidney laceration 2 cm") == "kidney laceration 2 cm"


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("traumatic wedge compression fracture T8", "S22060A"),  # S22.06- T7-T8 vertebra
        ("traumatic fracture of L2 vertebra", "S32029A"),  # S32.02- second lumbar vertebra
        ("fracture of T2 vertebra", "S22029A"),  # S22.02- second thoracic vertebra
    ],
)
def test_a_spinal_level_finds_the_code_naming_it_before_the_regions(registry, words, code):
    assert registry.lookup(ICD10CM, code, ON).billable
    assert _offered(registry, words, age=60)[:1] == [code]


def test_a_level_is_read_beside_its_region():
    words, levels = suggest_sites.spinal_levels(["fracture", "thoracic", "t12"])
    assert words == ["fracture", "thoracic"]
    assert set(levels.names) == {"t12", "t11"}
    assert dict(levels.forms)["thoracic"] == ("t12", "t11")
    words, lumbar = suggest_sites.spinal_levels(["lumbar", "l1", "fracture"])
    assert words == ["lumbar", "fracture"]
    assert "first" in lumbar.names  # the Tabular's "first lumbar vertebra"
    assert suggest_sites.spinal_levels(["c1", "esterase"])[1].names == ()  # no region: no level


@pytest.mark.parametrize(
    ("words", "code"),
    [
        # Index: Ingrowing, nail L60.0 (any toe or finger): L60 names no side, so the digit
        # written costs the Index's entry as little as a side does.
        ("ingrowing nail of left thumb", "L600"),
        ("farsighted both eyes", "H5203"),  # Hypermetropia, bilateral
        ("broke a front tooth", "S025XXA"),  # the Tabular names no tooth by its place
    ],
)
def test_a_site_the_index_entry_lacks_costs_little_where_the_tabular_names_none(
    registry, words, code
):
    assert registry.lookup(ICD10CM, code, ON).billable
    assert _offered(registry, words)[:1] == [code]


def test_a_site_counts_in_full_where_the_category_names_sides(registry):
    # M10 names sides by site (M10.071 right ankle and foot): gout, unspecified (M10.9) is no
    # first answer for a foot named, though the Index's "Gout" lacks the foot.
    assert _offered(registry, "gout attack in right foot", age=60, sex="male")[0] == "M10071"


def test_weighed_keeps_a_cheap_site_only_for_an_unsided_category():
    row = IndexRow(
        "Ingrowing, nail", "L600", False, "", frozenset(), frozenset(), frozenset(), "t", 1
    )
    words = (QueryWord(("ingrow",), 1.0), QueryWord(("toe",), 0.25, site=True))
    lead = Lead(row, 0.64, (True, False))
    unsided = suggest_sites.weighed(lead, words, lambda _code: ((1, "Ingrowing nail", ()),))
    assert unsided == (lead, words)
    sided = suggest_sites.weighed(
        lead, words, lambda _code: ((1, "Ingrowing nail, right toe", ()),)
    )
    assert sided is not None
    assert sided[1][1].weight == 1.0
    assert sided[0].strength < lead.strength


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("cellulitis of left leg", "L03116"),  # lower limb before upper limb: both are "limb"
        ("abscess of left thigh", "L02416"),  # Index: Abscess, thigh: lower limb
        ("cellulitis right arm", "L03113"),
        ("CKD stage IIIa", "N1831"),  # a roman sub-stage keeps its letter: stage 3a
        ("chronic kidney disease, stage IIIb", "N1832"),
    ],
)
def test_a_limb_named_by_its_part_and_a_roman_sub_stage(registry, words, code):
    assert registry.lookup(ICD10CM, code, ON).billable
    assert _offered(registry, words, age=60, sex="male")[:1] == [code]
