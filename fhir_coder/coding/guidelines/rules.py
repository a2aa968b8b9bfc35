"""The rule tables of the encounter-level stage, read from the TOML files shipped beside them.

Each file is one family of the ICD-10-CM Official Guidelines (``combinations.toml``,
``symptoms.toml``, ...); each row names its id, the section of the Guidelines it applies
(``citation``) and the Index or Tabular fact it rests on (``fact``), so an auditor reads the
tables, not the code. The files are part of the package (no configuration reads them);
they are parsed and compiled once per process. A malformed row is a ``ConfigurationError``
naming the file and the row: the tables are checked by the tests against the Tabular.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from fhir_coder.coding.guidelines.patterns import CodeSet
from fhir_coder.errors import ConfigurationError

__all__ = [
    "AddRule",
    "BmiTable",
    "Combination",
    "Conversion",
    "DropRule",
    "LateralityTable",
    "OrderRule",
    "Plan",
    "PromptRule",
    "Rulebook",
    "SeventhTable",
    "load_rulebook",
]

_REMEMBERED = 4096  # sets of codes whose plan is remembered
_REMEMBERED_CODES = 16384  # codes whose rows are remembered
_SEVEN = 7  # characters of a code that carries a 7th character

FAMILIES = (
    "status.toml",
    "combinations.toml",
    "symptoms.toml",
    "conversions.toml",
    "pairs.toml",
    "sequencing.toml",
    "encounter.toml",
)
"""The rule files, in the order their rows are read (ids must be unique across them)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What every row carries: its id, its Guidelines section and the fact it rests on."""

    id: str
    citation: str
    fact: str


@dataclass(frozen=True, slots=True)
class Combination(Rule):
    """Two conditions the Index links with "with" coded as one combination code (I.A.15).

    ``anchor``: the condition the combination code belongs to (``E08-E13``); ``needs``:
    the partners that must each be coded (any line, the anchor included); the new code is
    ``target`` or the anchor's category followed by ``suffix``. An anchor in ``replace``
    (the uncomplicated or unspecified form) is replaced, any other anchor keeps its line
    and the combination is added beside it. Partners in ``drop`` are included in the
    combination and go; the others stay ("use additional code", "code also"). Of rows
    sharing a ``group``, only the first whose partners are all present acts on an anchor.
    """

    anchor: CodeSet
    needs: tuple[CodeSet, ...]
    replace: CodeSet
    drop: CodeSet
    target: str = ""
    suffix: str = ""
    stem: int = 3
    group: str = ""


@dataclass(frozen=True, slots=True)
class DropRule(Rule):
    """A code left off when another is coded: an integral symptom (I.B.5), a redundant form.

    ``codes`` go when a different line in ``when`` is coded; with ``same`` set, that line
    must share the first ``same`` characters (the same category or subcategory).
    """

    codes: CodeSet
    when: CodeSet
    same: int = 0


@dataclass(frozen=True, slots=True)
class Conversion(Rule):
    """A code turned into another because of the condition's facts or the encounter's.

    ``to`` (or a ``rewrite`` of the leading characters) is the new code, "" to leave the
    condition out with a note. It applies when the condition's clinical status is in
    ``status`` (when given), its verification status in ``verification``, the encounter
    in ``setting`` (inpatient or outpatient), every pattern list of ``when`` is coded on
    another line, and, with ``pregnancy``, in a pregnancy (the trimester character is
    appended). With ``keep`` the original stays beside the new code. A status row with
    ``older_than_days`` applies to a condition whose onset is more than that many days
    before the encounter began (an infarction past the 4 weeks of I21); with no new code it
    leaves the condition to a coder (a warning), since the record must say what it is now.
    """

    codes: CodeSet
    to: str = ""
    rewrite: tuple[str, str] | None = None
    last: tuple[str, str] | None = None
    status: frozenset[str] = frozenset()
    verification: frozenset[str] = frozenset()
    setting: str = ""
    when: tuple[CodeSet, ...] = ()
    pregnancy: bool = False
    keep: bool = False
    note: str = ""
    older_than_days: int = 0


@dataclass(frozen=True, slots=True)
class AddRule(Rule):
    """A code the Index or Tabular pairs with another, added when the pair is missing."""

    codes: CodeSet
    add: str
    unless: CodeSet


@dataclass(frozen=True, slots=True)
class PromptRule(Rule):
    """A "use additional code" a coder must supply when the record does not say it."""

    codes: CodeSet
    unless: CodeSet
    message: str


@dataclass(frozen=True, slots=True)
class OrderRule(Rule):
    """Where a code must stand: ``first``, ``not-first``, ``before`` or ``after`` ``of``.

    With ``unless_not_poa`` a line whose condition was not present on admission stays
    where it is (sepsis that developed after admission, I.C.1.d.4); ``unless`` names codes
    whose presence switches the rule off; with ``pregnancy`` the rule acts only in a
    pregnancy (as for conversions: not for a male patient, not when incidental, Z33.1).
    """

    move: CodeSet
    to: str
    of: CodeSet
    unless: CodeSet
    unless_not_poa: bool = False
    pregnancy: bool = False


@dataclass(frozen=True, slots=True)
class SeventhTable(Rule):
    """7th characters chosen from the encounter (I.C.19.a): subsequent care and sequelae."""

    codes: CodeSet
    subsequent: dict[str, str]
    sequela: str
    follow_up_types: frozenset[str]
    follow_up_words: tuple[str, ...]
    aftercare: CodeSet
    sequela_words: tuple[str, ...]
    earlier_days: int = 0


@dataclass(frozen=True, slots=True)
class LateralityTable(Rule):
    """The side documented in ``Condition.bodySite`` (or the concept) picks the lateral code."""

    left: frozenset[str]
    right: frozenset[str]
    bilateral: frozenset[str]
    unspecified_words: tuple[str, ...]
    ignored_words: frozenset[str]


@dataclass(frozen=True, slots=True)
class BmiTable(Rule):
    """BMI from an Observation to Z68, only beside a provider's weight diagnosis (I.B.14)."""

    bmi_codes: frozenset[str]
    percentile_codes: frozenset[str]
    weight_diagnoses: CodeSet
    adult_age: int
    pediatric_age: int
    adult: tuple[tuple[float, str], ...]  # (upper bound, exclusive; code), ascending
    pediatric: tuple[tuple[float, str], ...]


PREGNANCY = CodeSet(["O00-O9A", "Z33", "Z34", "Z3A"])
"""The codes that say the encounter is in a pregnancy (I.C.15: Chapter 15, Z33, Z34, Z3A)."""

_PHASES = ("status", "combination", "drop", "conversion", "add", "prompt", "order")
"""The tables a code can set off a row of, in :class:`CodeRules`' order."""


@dataclass(frozen=True, slots=True)
class CodeRules:
    """The rows of each phase whose codes include one code: found once per code.

    Positions in the phase's table, in table order (``status`` holds the rows themselves:
    that phase asks them line by line). ``acts``: whether anything but a status row (asked
    only of a resolved, uncertain or old condition) or a pregnancy row (asked only beside a
    pregnancy code, itself ``acts``) may act on the code. Most codes set off nothing.
    """

    status: tuple[Conversion, ...] = ()
    combinations: tuple[int, ...] = ()
    drops: tuple[int, ...] = ()
    conversions: tuple[int, ...] = ()
    adds: tuple[int, ...] = ()
    prompts: tuple[int, ...] = ()
    orders: tuple[int, ...] = ()
    seventh: bool = False  # a code whose 7th character the encounter decides
    pregnancy: bool = False  # a code of :data:`PREGNANCY`
    acts: bool = False


_NO_RULES = CodeRules()


@dataclass(frozen=True, slots=True)
class Plan:
    """The rows each phase asks of an encounter whose lines carry one set of codes.

    In table order, only rows that can act on those codes: a combination whose anchor and
    every partner are among them, a code left off beside a code that keeps it, a conversion
    whose other codes are there (its pregnancy rows only beside a pregnancy code), each
    pair, prompt and order row one of the codes sets off. Combinations and pairs carry their
    position in the table: after one acts, the engine asks the rows after it of the new set.
    """

    combinations: tuple[tuple[int, Combination], ...] = ()
    drops: tuple[DropRule, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    plain_conversions: tuple[Conversion, ...] = ()  # the conversions outside a pregnancy
    adds: tuple[tuple[int, AddRule], ...] = ()
    # Each prompt row none of whose ``unless`` codes is coded, with the codes it names
    # (the line it prompts for is the first with one of them).
    prompts: tuple[tuple[PromptRule, frozenset[str]], ...] = ()
    orders: tuple[OrderRule, ...] = ()
    pregnancy: bool = False  # a code of :data:`PREGNANCY` among them
    seventh: bool = False  # a code whose 7th character the encounter decides among them
    acts: bool = False  # any row above, or a 7th character to decide


_NO_PLAN = Plan()


class _CodeIndex(dict[str, CodeRules]):
    """Code -> its :class:`CodeRules`, worked out on first sight from the category index.

    A plain dictionary read (``index[code]``) for every code seen before; bounded, since
    the codes an engine meets are unbounded in principle.
    """

    __slots__ = ("book",)

    def __init__(self, book: Rulebook) -> None:
        super().__init__()
        self.book = book

    def __missing__(self, code: str) -> CodeRules:
        found = self.book.code_rules(code)
        if len(self) >= _REMEMBERED_CODES:
            self.clear()
        self[code] = found
        return found


class _PlanIndex(dict[frozenset[str], "Plan"]):
    """Set of codes -> its :class:`Plan`, made on first sight (encounters repeat the same few).

    A plain dictionary read for every set seen before; bounded.
    """

    __slots__ = ("book",)

    def __init__(self, book: Rulebook) -> None:
        super().__init__()
        self.book = book

    def __missing__(self, codes: frozenset[str]) -> Plan:
        found = self.book.plan(codes)
        if len(self) >= _REMEMBERED:
            self.clear()
        self[codes] = found
        return found


@dataclass(frozen=True, slots=True)
class Rulebook:
    """Every table, compiled; the engine reads nothing else."""

    status: tuple[Conversion, ...] = ()
    combinations: tuple[Combination, ...] = ()
    drops: tuple[DropRule, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    adds: tuple[AddRule, ...] = ()
    prompts: tuple[PromptRule, ...] = ()
    orders: tuple[OrderRule, ...] = ()
    seventh: SeventhTable | None = None
    laterality: LateralityTable | None = None
    bmi: BmiTable | None = None
    # Phase -> 3-character category -> the rows whose codes touch it (their position in
    # the phase's table and the codes that set them off): built from the tables when the
    # rulebook is made, so the rows a code sets off are found among a few candidates, once
    # per code (``by_code``).
    rows_by_category: dict[str, dict[str, tuple[tuple[int, CodeSet], ...]]] = field(
        init=False, repr=False, compare=False
    )
    # Code -> the rows it sets off (``by_code[code]``), and set of codes -> the plan of an
    # encounter coded with them (``plans[codes]``): derived from the tables and nothing else,
    # so neither can go stale.
    by_code: _CodeIndex = field(init=False, repr=False, compare=False)
    plans: _PlanIndex = field(init=False, repr=False, compare=False)
    # The fewest days of ``older_than_days`` among the status rows (0: none has it), worked
    # out once from them.
    onset_days: int = field(default=0, init=False, repr=False, compare=False)
    is_empty: bool = field(default=True, init=False, repr=False, compare=False)
    """Whether there is no rule at all (the stage is then skipped)."""

    def __post_init__(self) -> None:
        days = min((r.older_than_days for r in self.status if r.older_than_days), default=0)
        object.__setattr__(self, "onset_days", days)
        tables: dict[str, list[CodeSet]] = {
            "status": [r.codes for r in self.status],
            "combination": [r.anchor for r in self.combinations],
            "drop": [r.codes for r in self.drops],
            "conversion": [r.codes for r in self.conversions],
            "add": [r.codes for r in self.adds],
            "prompt": [r.codes for r in self.prompts],
            "order": [r.move for r in self.orders],
        }
        index: dict[str, dict[str, tuple[tuple[int, CodeSet], ...]]] = {}
        for phase, sets in tables.items():
            rows: dict[str, list[tuple[int, CodeSet]]] = {}
            for position, codes in enumerate(sets):
                for category in codes.categories:
                    rows.setdefault(category, []).append((position, codes))
            index[phase] = {c: tuple(found) for c, found in rows.items()}
        object.__setattr__(self, "rows_by_category", index)
        object.__setattr__(self, "by_code", _CodeIndex(self))
        object.__setattr__(self, "plans", _PlanIndex(self))
        empty = not any(tables.values()) and not (self.seventh or self.laterality or self.bmi)
        object.__setattr__(self, "is_empty", empty)

    def code_rules(self, code: str) -> CodeRules:
        """The rows ``code`` sets off (read ``by_code[code]``: this works it out)."""
        category = code[:3]
        status, combinations, drops, conversions, adds, prompts, orders = (
            tuple(p for p, codes in self.rows_by_category[phase].get(category, ()) if code in codes)
            for phase in _PHASES
        )
        seventh = self.seventh is not None and len(code) == _SEVEN and code in self.seventh.codes
        pregnancy = code in PREGNANCY
        plain = [p for p in conversions if not self.conversions[p].pregnancy]
        acts = bool(
            combinations or drops or plain or adds or prompts or orders or seventh or pregnancy
        )
        if not (acts or status or conversions):
            return _NO_RULES
        return CodeRules(
            status=tuple(self.status[p] for p in status),
            combinations=combinations,
            drops=drops,
            conversions=conversions,
            adds=adds,
            prompts=prompts,
            orders=orders,
            seventh=seventh,
            pregnancy=pregnancy,
            acts=acts,
        )

    def plan(self, codes: frozenset[str]) -> Plan:
        """The rows each phase asks of an encounter whose lines carry ``codes``.

        Read ``plans[codes]``, remembered per set of codes: this works it out.
        """
        each = [self.by_code[code] for code in codes]
        if not any(rules.acts for rules in each):
            return _NO_PLAN

        def rows(positions: Iterable[tuple[int, ...]]) -> list[int]:
            return sorted({p for found in positions for p in found})

        def among(need: CodeSet) -> bool:
            return any(code in need for code in codes)

        pregnancy = any(rules.pregnancy for rules in each)
        conversions = tuple(
            row
            for row in (self.conversions[p] for p in rows(r.conversions for r in each))
            if (pregnancy or not row.pregnancy) and all(among(w) for w in row.when)
        )
        combinations = tuple(
            (p, self.combinations[p])
            for p in rows(r.combinations for r in each)
            if all(among(need) for need in self.combinations[p].needs)
        )
        drops = tuple(
            row for row in (self.drops[p] for p in rows(r.drops for r in each)) if among(row.when)
        )
        adds = tuple((p, self.adds[p]) for p in rows(r.adds for r in each))
        prompts = tuple(
            (row, frozenset(code for code in codes if code in row.codes))
            for row in (self.prompts[p] for p in rows(r.prompts for r in each))
            if not (row.unless and among(row.unless))
        )
        orders = tuple(self.orders[p] for p in rows(r.orders for r in each))
        seventh = any(rules.seventh for rules in each)
        if not (combinations or drops or conversions or adds or prompts or orders or seventh):
            return _NO_PLAN
        return Plan(
            combinations=combinations,
            drops=drops,
            conversions=conversions,
            plain_conversions=tuple(r for r in conversions if not r.pregnancy),
            adds=adds,
            prompts=prompts,
            orders=orders,
            pregnancy=pregnancy,
            seventh=seventh,
            acts=True,
        )

    def rules(self) -> list[Rule]:
        """Every row, for the tests and the docs."""
        tables: list[Rule] = [
            *self.status,
            *self.combinations,
            *self.drops,
            *self.conversions,
            *self.adds,
            *self.prompts,
            *self.orders,
        ]
        return tables + [t for t in (self.seventh, self.laterality, self.bmi) if t is not None]


class _Row:
    """One TOML row being read, so every error names its file and row."""

    def __init__(self, where: str, raw: dict[str, Any]) -> None:
        self.where = where
        self.raw = raw

    def fail(self, why: str) -> ConfigurationError:
        return ConfigurationError(f"{self.where}: {why}")

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"{key!r} must be {'a non-empty ' if required else 'a '}string")
        return value.strip()

    def words(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key!r} must be a list of strings")
        return tuple(value)

    def codes(self, key: str, *, required: bool = False) -> CodeSet:
        patterns = self.words(key)
        if required and not patterns:
            raise self.fail(f"{key!r} must name at least one code")
        try:
            return CodeSet(patterns)
        except ValueError as exc:
            raise self.fail(f"{key!r}: {exc}") from exc

    def code_lists(self, key: str) -> tuple[CodeSet, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
            raise self.fail(f"{key!r} must be a list of lists of codes")
        try:
            return tuple(CodeSet(v) for v in value)
        except ValueError as exc:
            raise self.fail(f"{key!r}: {exc}") from exc

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{key!r} must be true or false")
        return value

    def head(self) -> dict[str, str]:
        """The id, citation and fact every row carries."""
        return {
            "id": self.text("id", required=True),
            "citation": self.text("citation", required=True),
            "fact": self.text("fact", required=True),
        }


def _code(text: str) -> str:
    return text.replace(".", "").strip().upper()


def _combination(row: _Row) -> Combination:
    target, suffix = _code(row.text("target")), row.text("suffix").upper()
    if bool(target) == bool(suffix):
        raise row.fail("a combination needs exactly one of 'target' and 'suffix'")
    return Combination(
        **row.head(),
        anchor=row.codes("anchor", required=True),
        needs=row.code_lists("needs"),
        replace=row.codes("replace"),
        drop=row.codes("drop"),
        target=target,
        suffix=suffix,
        stem=_number(row, "stem") if "stem" in row.raw else 3,
        group=row.text("group"),
    )


def _conversion(row: _Row) -> Conversion:
    rewrite = row.words("rewrite")
    if rewrite and len(rewrite) != 2:
        raise row.fail("'rewrite' is a pair: the leading characters and what replaces them")
    last = row.words("last")
    if last and (len(last) != 2 or not all(len(c) == 1 for c in last)):
        raise row.fail("'last' is a pair of single characters: the last one and its new value")
    setting = row.text("setting")
    if setting not in ("", "inpatient", "outpatient"):
        raise row.fail("'setting' is inpatient or outpatient")
    return Conversion(
        **row.head(),
        codes=row.codes("codes", required=True),
        to=_code(row.text("to")),
        rewrite=(_code(rewrite[0]), _code(rewrite[1])) if rewrite else None,
        last=(last[0].upper(), last[1].upper()) if last else None,
        status=frozenset(row.words("status")),
        verification=frozenset(row.words("verification")),
        setting=setting,
        when=row.code_lists("when"),
        pregnancy=row.flag("pregnancy"),
        keep=row.flag("keep"),
        note=row.text("note"),
        older_than_days=_days(row),
    )


def _days(row: _Row) -> int:
    days = row.raw.get("older_than_days", 0)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise row.fail("'older_than_days' is a whole number of days")
    return days


def _order(row: _Row) -> OrderRule:
    to = row.text("to", required=True)
    if to not in ("first", "not-first", "before", "after"):
        raise row.fail("'to' is first, not-first, before or after")
    of = row.codes("of", required=to in ("before", "after"))
    return OrderRule(
        **row.head(),
        move=row.codes("move", required=True),
        to=to,
        of=of,
        unless=row.codes("unless"),
        unless_not_poa=row.flag("unless_not_poa"),
        pregnancy=row.flag("pregnancy"),
    )


def _bands(row: _Row, key: str) -> tuple[tuple[float, str], ...]:
    value = row.raw.get(key, [])
    bands: list[tuple[float, str]] = []
    for band in value if isinstance(value, list) else [None]:
        if not (isinstance(band, list) and len(band) == 2):
            raise row.fail(f"{key!r} rows are [upper bound, code]")
        bound, code = band
        if not isinstance(bound, int | float) or not isinstance(code, str):
            raise row.fail(f"{key!r} rows are [upper bound, code]")
        bands.append((float(bound), _code(code)))
    if [b for b, _ in bands] != sorted(b for b, _ in bands):
        raise row.fail(f"{key!r} bounds must ascend")
    return tuple(bands)


def _number(row: _Row, key: str) -> int:
    value = row.raw.get(key)
    if not isinstance(value, int):
        raise row.fail(f"{key!r} must be a whole number")
    return value


def _tables(book: dict[str, list[Any]], name: str, raw: dict[str, Any]) -> None:
    for kind, rows in raw.items():
        if not isinstance(rows, list):
            raise ConfigurationError(f"{name}: [{kind}] must be an array of tables ([[{kind}]])")
        book.setdefault(kind, []).extend(
            _Row(f"{name} [[{kind}]] row {n} ({r.get('id', 'no id')})", r)
            for n, r in enumerate(rows, start=1)
        )


def _single(rows: list[_Row], kind: str) -> _Row | None:
    if len(rows) > 1:
        raise rows[1].fail(f"there is one [[{kind}]] table")
    return rows[0] if rows else None


def compile_rulebook(texts: dict[str, str]) -> Rulebook:
    """The rulebook from the text of each rule file (name -> TOML)."""
    rows: dict[str, list[Any]] = {}
    for name, text in texts.items():
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{name}: {exc}") from exc
        _tables(rows, name, raw)
    known = {
        "status", "combination", "drop", "conversion", "add", "prompt", "order",
        "seventh", "laterality", "bmi",
    }  # fmt: skip
    for kind, found in rows.items():
        if kind not in known:
            raise found[0].fail(f"unknown table [[{kind}]] (known: {', '.join(sorted(known))})")
    seventh = _single(rows.get("seventh", []), "seventh")
    laterality = _single(rows.get("laterality", []), "laterality")
    bmi = _single(rows.get("bmi", []), "bmi")
    book = Rulebook(
        status=tuple(_conversion(r) for r in rows.get("status", [])),
        combinations=tuple(_combination(r) for r in rows.get("combination", [])),
        drops=tuple(
            DropRule(
                **r.head(),
                codes=r.codes("codes", required=True),
                when=r.codes("when", required=True),
                same=int(r.raw.get("same", 0)),
            )
            for r in rows.get("drop", [])
        ),
        conversions=tuple(_conversion(r) for r in rows.get("conversion", [])),
        adds=tuple(
            AddRule(
                **r.head(),
                codes=r.codes("codes", required=True),
                add=_code(r.text("add", required=True)),
                unless=r.codes("unless"),
            )
            for r in rows.get("add", [])
        ),
        prompts=tuple(
            PromptRule(
                **r.head(),
                codes=r.codes("codes", required=True),
                unless=r.codes("unless"),
                message=r.text("message", required=True),
            )
            for r in rows.get("prompt", [])
        ),
        orders=tuple(_order(r) for r in rows.get("order", [])),
        seventh=SeventhTable(
            **seventh.head(),
            codes=seventh.codes("codes", required=True),
            subsequent={
                str(k).upper(): str(v).upper()
                for k, v in (seventh.raw.get("subsequent") or {}).items()
            },
            sequela=seventh.text("sequela", required=True).upper(),
            follow_up_types=frozenset(seventh.words("follow_up_types")),
            follow_up_words=tuple(w.lower() for w in seventh.words("follow_up_words")),
            aftercare=seventh.codes("aftercare"),
            sequela_words=tuple(w.lower() for w in seventh.words("sequela_words")),
            earlier_days=_number(seventh, "earlier_days") if "earlier_days" in seventh.raw else 0,
        )
        if seventh
        else None,
        laterality=LateralityTable(
            **laterality.head(),
            left=frozenset(laterality.words("left")),
            right=frozenset(laterality.words("right")),
            bilateral=frozenset(laterality.words("bilateral")),
            unspecified_words=tuple(w.lower() for w in laterality.words("unspecified_words")),
            ignored_words=frozenset(w.lower() for w in laterality.words("ignored_words")),
        )
        if laterality
        else None,
        bmi=BmiTable(
            **bmi.head(),
            bmi_codes=frozenset(bmi.words("bmi_codes")),
            percentile_codes=frozenset(bmi.words("percentile_codes")),
            weight_diagnoses=bmi.codes("weight_diagnoses", required=True),
            adult_age=_number(bmi, "adult_age"),
            pediatric_age=_number(bmi, "pediatric_age"),
            adult=_bands(bmi, "adult"),
            pediatric=_bands(bmi, "pediatric"),
        )
        if bmi
        else None,
    )
    ids = [rule.id for rule in book.rules()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigurationError(f"rule ids used twice: {', '.join(duplicates)}")
    return book


@cache
def load_rulebook() -> Rulebook:
    """The rule tables shipped with the package, compiled once per process."""
    folder = files("fhir_coder.coding.guidelines")
    texts = {name: folder.joinpath(name).read_text(encoding="utf-8") for name in FAMILIES}
    return compile_rulebook(texts)
