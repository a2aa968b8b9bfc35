"""The encounter-level rule tables checked against the ICD-10-CM Tabular the project loads.

Every code a row can emit (a target, a combination suffix for each type the anchor names,
a trimester form, a rewrite of each code it applies to, a BMI band) must be valid and
billable in FY2026, and every code a row names must exist: a typo in a table would
otherwise make a rule silently never act.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.registry import default_registry
from fhir_coder.coding.guidelines import load_rulebook
from fhir_coder.coding.guidelines.rules import Combination, Conversion
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


@pytest.fixture(scope="module")
def icd():
    registry = default_registry()

    def lookup(code: str):
        return registry.lookup(ICD10CM, code, ON)

    return lookup


def _usable(icd, code: str) -> bool:
    info = icd(code)
    return info.valid and info.billable and not info.needs_seventh_character


def _children(icd, prefix: str) -> tuple[str, ...]:
    info = icd(prefix)
    return (prefix,) if info.billable else info.billable_children


def test_the_tables_load_with_unique_ids_and_a_citation_and_fact_on_every_row():
    book = load_rulebook()
    rules = book.rules()
    assert len(rules) > 150
    assert len({rule.id for rule in rules}) == len(rules)
    assert all(rule.citation and rule.fact for rule in rules)


def test_every_code_a_row_names_exists(icd):
    book = load_rulebook()
    missing = []
    for rule in book.rules():
        for name in ("anchor", "replace", "drop", "codes", "when", "unless", "move", "of"):
            sets = getattr(rule, name, None)
            for codes in sets if isinstance(sets, tuple) else (sets,) if sets else ():
                for pattern in codes.patterns:
                    code = pattern.lstrip("!").replace(".", "")
                    if "-" in code:
                        continue
                    info = icd(code)
                    if not (info.valid or info.billable_children or info.needs_seventh_character):
                        missing.append(f"{rule.id}: {pattern}")
    assert missing == []


def test_every_combination_target_exists_for_each_anchor_it_can_apply_to(icd):
    problems = []
    for rule in load_rulebook().combinations:
        if rule.target:
            if not _usable(icd, rule.target):
                problems.append(f"{rule.id}: {rule.target}")
            continue
        stems = {
            child[: rule.stem]
            for pattern in rule.anchor.patterns
            for category in sorted(rule.anchor.categories)
            if icd(category).valid or icd(category).billable_children
            for child in _children(icd, category)
            if child in rule.anchor and len(child) >= rule.stem
        }
        assert stems, rule.id
        problems += [
            f"{rule.id}: {s}{rule.suffix}" for s in stems if not _usable(icd, s + rule.suffix)
        ]
    assert problems == []


def _conversion_targets(icd, rule: Conversion) -> list[tuple[str, str | None]]:
    """(source code, emitted code or None) for every code ``rule`` can convert."""
    out: list[tuple[str, str | None]] = []
    if rule.to:
        endings = ("1", "2", "3", "9", "0", "") if rule.pregnancy else ("",)
        found = next((rule.to + e for e in endings if _usable(icd, rule.to + e)), None)
        return [(rule.to, found)]
    for pattern in rule.codes.patterns:
        for code in _children(icd, pattern.replace(".", "")):
            if rule.rewrite is not None:
                start, to = rule.rewrite
                target = to + code[len(start) :]
            elif rule.last is not None:
                target = code[:-1] + rule.last[1]
            else:
                continue
            out.append((code, target if _usable(icd, target) else None))
    return out


def test_every_conversion_emits_a_billable_code(icd):
    book = load_rulebook()
    problems = []
    for rules in (book.status, book.conversions):
        earlier: list[Conversion] = []
        for rule in rules:
            for source, target in _conversion_targets(icd, rule):
                # A code an earlier row of the same table converts never reaches this row.
                if target is None and not any(
                    source in e.codes and e.status == rule.status for e in earlier
                ):
                    problems.append(f"{rule.id}: {source}")
            earlier.append(rule)
    assert problems == []


def test_added_codes_and_bmi_bands_are_billable(icd):
    book = load_rulebook()
    assert all(_usable(icd, rule.add) for rule in book.adds)
    assert book.bmi is not None
    bands = [code for _, code in book.bmi.adult + book.bmi.pediatric]
    assert [code for code in bands if not _usable(icd, code)] == []


def test_a_rule_with_a_target_that_is_not_billable_would_be_caught(icd):
    broken = Combination(
        id="X", citation="I.A.15", fact="f", anchor=load_rulebook().combinations[0].anchor,
        needs=(), replace=load_rulebook().combinations[0].replace,
        drop=load_rulebook().combinations[0].drop, suffix="2",
    )  # fmt: skip
    stems = {"E11"}
    assert [s for s in stems if not _usable(icd, s + broken.suffix)] == ["E11"]
