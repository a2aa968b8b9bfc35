"""Pregnancy and the newborn in text suggestions: Chapter 15 first, and the numbers as codes.

Words about a pregnancy or a newborn carry facts the word ranking cannot weigh: a number of
weeks or grams, a time between rupture and labor, a drug that says how a gestational diabetes
is controlled. This module reads them as the Official Guidelines and the Tabular say:

- **A condition in pregnancy** (Guidelines I.C.15.a.1): a condition a pregnant patient has is
  coded to Chapter 15, "complicating pregnancy", unless the provider says the pregnancy is
  incidental (then Z33.1). Where Chapter 15 names the condition itself ("cholestasis of
  pregnancy", "UTI in pregnancy"), the ranking finds that code; where it does not, the
  condition's own code is found from its words alone and its chapter gives the Chapter 15
  subcategory (the Index: Pregnancy, complicated by, [condition]; the Tabular's O98, O99,
  O9A, O10, O24, O23, O25, O26.8 families), with the trimester, before the condition's code
  (the Tabular's notes at O98, O99 and O9A: "use additional code to identify the condition").
- **Weeks of a pregnancy** (I.C.15.a.3): the trimester (first less than 14 weeks 0 days,
  second 14 weeks 0 days to less than 28 weeks 0 days, third from 28 weeks 0 days), read by
  :mod:`codesets.suggest_variants`; written without a word of pregnancy ("short cervix 22
  weeks") they are a pregnancy's when a Chapter 15 code holds the other words at least as
  well as any code does without them; the Z3A code of the weeks follows the pregnancy's code
  (the Tabular's note at Z3A: code first the complication).
- **Premature rupture of membranes** (the Tabular's O42 axes; the Index: Rupture, membranes,
  premature): preterm before 37 completed weeks, with its trimester; full-term from 37; the
  onset of labor "within 24 hours" (O42.0-), "more than 24 hours" (O42.1-) or not said (O42.9-).
- **Gestational diabetes and its treatment** (I.C.15.g; the Tabular's O24.41-): a drug of the
  drugs table whose long-term use is Z79.84 (oral hypoglycemic) or Z79.4 (insulin) says the
  diabetes is "controlled by oral hypoglycemic drugs" or "insulin controlled"; Z79.4 and Z79.84
  are not reported with O24.4- (I.C.15.g), so they are not offered beside it.
- **A preterm or small newborn** (I.C.16.e; the Tabular's P07): completed weeks of gestation
  to P07.2- (extreme immaturity, less than 28 completed weeks) or P07.3- (preterm, 28 to 36);
  a birth weight in grams (or kilograms, or pounds and ounces) to P07.0- (less than 1000
  grams) or P07.1- (1000 to 2499 grams); both written, the weight's code comes first
  (I.C.16.e: "the code for birth weight sequenced before the code for gestational age").
- **After a delivery**: "after delivery", "after having a baby", "after giving birth" are the
  Index's "postpartum" and "puerperal" (the Index: Depression, postpartum F53.0; Mastitis,
  puerperal, postpartum O91.2-).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from codesets import suggest_tables
from codesets.search import stem, words_of
from fhir_coder.ports import Suggestion
from fhir_coder.systems import ICD10CM

__all__ = [
    "Obstetric",
    "arrange",
    "chapter_15_for",
    "gestational_weeks",
    "in_pregnancy",
    "newborn_codes",
    "prom_code",
    "read_obstetric",
]

_IN_PREGNANCY: Final = re.compile(
    r"\b(?:pregnan\w*|gravid\w*|primigravida|multigravida|g\d+\s?p\d+\w*|"
    r"\d+ ?(?:w|wk|wks|weeks?) pregnant)\b",
    re.IGNORECASE,
)
_NOT_PREGNANT: Final = re.compile(r"\b(?:not|non|never|no) ?pregnan", re.IGNORECASE)
_INCIDENTAL: Final = re.compile(r"\bincidental", re.IGNORECASE)
"""The provider's statement that the pregnancy is incidental: Z33.1 and the condition's own
code, not Chapter 15 (I.C.15.a.1)."""


def in_pregnancy(text: str) -> bool:
    """Whether the words put the condition in a pregnancy ("in pregnancy", "pregnant, 16 wks")."""
    return _IN_PREGNANCY.search(text) is not None and _NOT_PREGNANT.search(text) is None


_WEEKS: Final = re.compile(
    r"\b(\d{1,2})(?:\s*\+\s*\d|\s+\d/7|\s+and\s+\d(?:/7)?(?:\s+days?)?)?\s*-?\s*"
    r"(?:completed\s+)?(?:w|wk|wks|weeks?|weeker)(?:\s*\d\s*d(?:ays?)?)?\b",
    re.IGNORECASE,
)
_DURATION_BEFORE: Final = re.compile(
    r"\b(?:for|x|past|last|over|since|within|about|approx\w*|after|in|every|q|each|lasting|"
    r"nearly|almost|around|~)\s*$",
    re.IGNORECASE,
)
_DURATION_AFTER: Final = re.compile(
    r"^\s*(?:ago|old|of life|of age|postpartum|post partum|pp|after|since|duration|history|"
    r"post ?op\w*|prior|before|later|apart)\b",
    re.IGNORECASE,
)
"""Weeks that are a duration or an age ("cough x 3 weeks", "2 weeks old", "6 weeks
postpartum"), not a pregnancy's gestational age."""


def gestational_weeks(text: str) -> int | None:
    """The completed weeks of gestation the words give ("at 22 wks", "32+4 weeks"), or None.

    Weeks of a duration or an age are not gestational; two different numbers decide nothing.
    """
    found = set()
    for match in _WEEKS.finditer(text):
        if _DURATION_BEFORE.search(text[: match.start()]) or _DURATION_AFTER.match(
            text[match.end() :]
        ):
            continue
        found.add(int(match.group(1)))
    return found.pop() if len(found) == 1 else None


def _trimester_digit(weeks: int | None, named: str | None) -> str:
    """The Tabular's trimester character: 1, 2, 3, or 9 for unspecified (I.C.15.a.3)."""
    if named is not None:
        return {"first": "1", "second": "2", "third": "3"}[named]
    if weeks is None:
        return "9"
    return "1" if weeks < _SECOND_FROM else "2" if weeks < _THIRD_FROM else "3"


_SECOND_FROM: Final = 14
_THIRD_FROM: Final = 28
_TERM_FROM: Final = 37
"""Full term from 37 completed weeks (the Index: Rupture, membranes, premature, preterm "before
37 completed weeks"; P07.3- ends at 36 completed weeks)."""


# --- premature rupture of membranes -------------------------------------------------------

_PROM: Final = re.compile(
    r"\b(?:p?prom|(?:preterm |pre term |full term |term )?premature rupture of (?:the )?membranes|"
    r"rupture of (?:the )?membranes before (?:the )?(?:onset of )?labou?r|"
    r"waters? (?:broke|has broken|have broken|breaking))\b",
    re.IGNORECASE,
)
_PRETERM: Final = re.compile(r"\b(?:pprom|preterm|pre term)\b", re.IGNORECASE)
_FULL_TERM: Final = re.compile(r"\b(?:full term|at term|term prom)\b", re.IGNORECASE)
_WITHIN_24: Final = re.compile(
    r"\b(?:within|less than|under|<)\s*24\s*(?:h|hrs?|hours?)\b|<\s*24\s*(?:h|hrs?|hours?)\b",
    re.IGNORECASE,
)
_AFTER_24: Final = re.compile(
    r"\b(?:more than|over|after|greater than|longer than|beyond)\s*24\s*(?:h|hrs?|hours?)\b|"
    r">\s*24\s*(?:h|hrs?|hours?)\b",
    re.IGNORECASE,
)


def prom_code(text: str, named_trimester: str | None = None) -> str | None:
    """The O42 code for premature rupture of membranes written in ``text``, or None.

    "Water broke" is the patient's words for it (Index: Rupture, membranes, premature).

    The Tabular's three axes: the onset of labor after rupture (O42.0 within 24 hours, O42.1
    more than 24, O42.9 not said); preterm (before 37 completed weeks, by trimester) or
    full-term; no weeks and no term said: "unspecified weeks of gestation".
    """
    lowered = text.lower().replace("-", " ")
    if _PROM.search(lowered) is None:
        return None
    timing = "0" if _WITHIN_24.search(lowered) else "1" if _AFTER_24.search(lowered) else "9"
    weeks = gestational_weeks(lowered)
    preterm = _PRETERM.search(lowered) is not None or (weeks is not None and weeks < _TERM_FROM)
    full_term = not preterm and (
        (weeks is not None and weeks >= _TERM_FROM) or _FULL_TERM.search(lowered) is not None
    )
    if full_term:
        return f"O42.{timing}2"
    if preterm:
        return f"O42.{timing}1{_trimester_digit(weeks, named_trimester)}"
    return f"O42.{timing}0"


# --- gestational diabetes and its treatment -------------------------------------------------

_GESTATIONAL_DIABETES: Final = re.compile(
    r"\b(?:(?:a[12] ?)?gdm\w*|gestational (?:diabetes|dm)\w*)\b", re.IGNORECASE
)
_CHILDBIRTH: Final = re.compile(
    r"\b(?:in (?:labou?r|childbirth|delivery)|intrapartum)\b", re.IGNORECASE
)
_PUERPERIUM: Final = re.compile(r"\b(?:postpartum|post partum|puerper\w*)\b", re.IGNORECASE)
_ORAL_WORDS: Final = re.compile(
    r"\boral (?:hypoglycemic|agents?|meds?|medications?)\b", re.IGNORECASE
)
_CLASS_A1: Final = re.compile(
    r"\b(?:a1 ?gdm|gdm ?a1|gestational (?:diabetes|dm)\w* (?:class )?a1)\b"
)
"""Gestational diabetes class A1 (White's classes as obstetricians write them): controlled by
diet alone; A2 needs a drug, which the words must name for its code."""
_DRUG_CONTROL: Final = {"Z7984": "5", "Z794": "4"}
"""A drug's long-term-use code (drugs table) -> O24.41-'s sixth character: oral hypoglycemic
drugs (5), insulin (4)."""
_NOT_WITH_O244: Final = frozenset(("Z7984", "Z794"))


def gestational_diabetes_code(text: str) -> str | None:
    """O24.41-/O24.42-/O24.43- with the control a named drug gives, or None.

    Only when the words name gestational diabetes and a drug (or "oral hypoglycemic") whose
    long-term use is Z79.84 or Z79.4: diet control and no control said are the ranking's.
    """
    lowered = text.lower().replace("-", " ")
    if _GESTATIONAL_DIABETES.search(lowered) is None:
        return None
    controls = {"5"} if _ORAL_WORDS.search(lowered) else set()
    if _CLASS_A1.search(lowered) and not controls:
        return "O24.410"  # class A1: controlled by diet (the Tabular: O24.410 diet controlled)
    drugs = suggest_tables.drugs()
    for word in _WORD.findall(lowered):
        drug = drugs.get(word)
        if drug is not None and drug.long_term in _DRUG_CONTROL:
            controls.add(_DRUG_CONTROL[drug.long_term])
    if not controls:
        return None
    # Insulin and an oral drug: the insulin-controlled code (I.C.15.g).
    control = "4" if "4" in controls else "5"
    when = "2" if _CHILDBIRTH.search(lowered) else "3" if _PUERPERIUM.search(lowered) else "1"
    return f"O24.4{when}{control}"


# --- the newborn: weeks and grams -----------------------------------------------------------

_NEWBORN: Final = re.compile(
    r"\b(?:newborns?|neonat\w*|infants?|bab(?:y|ies)|preemies?|premies?|nicu|weeker|"
    r"born|birth ?weight|bw|lbw|vlbw|elbw)\b",
    re.IGNORECASE,
)
_PRETERM_NEWBORN: Final = re.compile(
    r"\b(?:preterm|pre term|prematur\w*|preemies?|premies?|weeker|born at|gestational age|"
    r"ga|gestation|completed weeks?|extreme immaturity|immaturity)\b",
    re.IGNORECASE,
)
_MOTHER: Final = re.compile(
    r"\b(?:labou?r|p?prom|membranes|pregnan\w*|gravid\w*|contractions|cervix|cervical)\b",
    re.IGNORECASE,
)
"""Words of the mother's pregnancy: "preterm labor at 32 weeks" is hers, not a newborn's."""
_GRAMS: Final = re.compile(r"\b(\d{3,4})\s*(?:g|gm|gms|grams?)\b", re.IGNORECASE)
_KILOGRAMS: Final = re.compile(r"\b(\d(?:\.\d{1,3})?)\s*(?:kg|kgs|kilograms?)\b", re.IGNORECASE)
_POUNDS: Final = re.compile(
    r"\b(\d{1,2})\s*(?:lb|lbs|pounds?)(?:\s*,?\s*(\d{1,2})\s*(?:oz|ounces?))?\b", re.IGNORECASE
)
_GRAMS_A_POUND: Final = 453.592
_GRAMS_AN_OUNCE: Final = 28.3495
_BIRTH_WEIGHT: Final = (
    (500, "P07.01"), (750, "P07.02"), (1000, "P07.03"), (1250, "P07.14"), (1500, "P07.15"),
    (1750, "P07.16"), (2000, "P07.17"), (2500, "P07.18"),
)  # fmt: skip
"""P07.0-/P07.1- by the upper bound (exclusive) of each range of grams in the Tabular."""
_WEIGHT_DIGIT: Final = (
    (500, "1"), (750, "2"), (1000, "3"), (1250, "4"), (1500, "5"), (1750, "6"), (2000, "7"),
    (2500, "8"),
)  # fmt: skip
"""P05.0-/P05.1- by the upper bound (exclusive) of each range of grams; 9 is 2500 and over."""
_SMALL_FOR_AGE: Final = re.compile(
    r"\b(?:sga|small for (?:gestational )?(?:age|dates)|small for dates)\b", re.IGNORECASE
)
_LIGHT_FOR_AGE: Final = re.compile(r"\blight for (?:gestational )?(?:age|dates)\b", re.IGNORECASE)
_EXTREME_BEFORE: Final = 28
_LEAST_WEEKS: Final = 23
"""P07.21 is "less than 23 completed weeks"; P07.22-P07.26 are 23 to 27; P07.31-P07.39 are
28 to 36 (P07.31 is 28)."""


def _grams(text: str) -> int | None:
    found = _GRAMS.search(text)
    if found is not None:
        return int(found.group(1))
    found = _KILOGRAMS.search(text)
    if found is not None:
        return round(float(found.group(1)) * 1000)
    found = _POUNDS.search(text)
    if found is not None:
        ounces = int(found.group(2) or 0)
        return round(int(found.group(1)) * _GRAMS_A_POUND + ounces * _GRAMS_AN_OUNCE)
    return None


def newborn_codes(text: str, age: int | None) -> tuple[str, ...]:
    """The P07 (or P05) codes a newborn's birth weight and completed weeks give, weight first.

    A newborn's: the words name one ("preemie", "infant", "born at") or the patient is 0,
    and no word puts the weeks in the mother's pregnancy. A weight of 2500 grams or more and
    37 completed weeks or more are no P07 code. A newborn small or light for gestational age
    has its weight coded in P05.1-/P05.0- instead (P07's Excludes1). Weeks count only beside a
    word of prematurity or gestational age ("newborn check at 2 weeks" is the baby's age).
    """
    if (age is not None and age > 0) or _MOTHER.search(text):
        return ()
    if age is None and _NEWBORN.search(text) is None:
        return ()
    out: list[str] = []
    grams = _grams(text)
    slow = (
        "P05.1" if _SMALL_FOR_AGE.search(text) else "P05.0" if _LIGHT_FOR_AGE.search(text) else None
    )
    if grams is not None and slow is not None:
        # Small or light for gestational age by its weight (P05.0-/P05.1-); P07's Excludes1:
        # "low birth weight due to slow fetal growth and fetal malnutrition (P05.-)".
        digit = next((d for below, d in _WEIGHT_DIGIT if grams < below), "9")
        out.append(f"{slow}{digit}")
    elif grams is not None:
        out.extend(next(([c] for below, c in _BIRTH_WEIGHT if grams < below), []))
    weeks = gestational_weeks(text) if _PRETERM_NEWBORN.search(text) else None
    if weeks is not None and weeks < _TERM_FROM:
        if weeks >= _EXTREME_BEFORE:
            out.append(f"P07.3{weeks - _EXTREME_BEFORE + 1}")
        else:
            out.append(f"P07.2{max(1, weeks - _LEAST_WEEKS + 2)}")
    return tuple(out)


# --- after a delivery ------------------------------------------------------------------------

_NAMED_NEWBORN: Final = re.compile(r"\b(?:newborns?|neonat\w*|nicu|liveborn)\b", re.IGNORECASE)
"""Words that name a newborn whatever the age: "born" or "delivered" may be the mother's."""
_BIRTH: Final = re.compile(r"\b(?:born|delivered|liveborn)\b", re.IGNORECASE)
"""A birth, for a patient of age 0 ("baby" or "infant" alone name any child under one)."""
_NEWBORN_WORDS: Final = re.compile(
    r"\b(?:newborns?|neonat\w*|nicu|liveborn|infants?|bab(?:y|ies)|of|in|the|a|an|with)\b",
    re.IGNORECASE,
)
_AFFECTED: Final = re.compile(
    r"\b(?:affected|due to|from|because of|caused by|exposure|exposed)\b", re.IGNORECASE
)


def _newborn_condition(text: str) -> str:
    """``text`` without the words that say only that the patient is a newborn."""
    return " ".join(_NEWBORN_WORDS.sub(" ", text.replace("-", " ")).split())


def _newborn_first(found: list[Suggestion], text: str, codes: CodeSet) -> list[Suggestion]:
    """A newborn's own codes first, where the words name a newborn.

    A birth is the liveborn infant's Z38 code, not a "newborn affected by" code (P00-P04),
    which the Tabular's note at P00-P04 keeps for a maternal condition or delivery named as
    the cause of the newborn's morbidity ("newborn delivered by c-section": Z38.01, not
    P03.4). A condition of the perinatal period is Chapter 16's (Guidelines I.C.16.a): a P
    code holding a word of the condition comes first ("neonatal GERD": P78.83, not K21.9).
    A liveborn infant is single unless twins or more are said (Z38.0-Z38.2).
    """
    if not found:
        return found
    top = found[0]
    if top.code.startswith(("P00", "P01", "P02", "P03", "P04")) and not _AFFECTED.search(text):
        birth = next((s for s in found if s.code.startswith("Z38")), None)
        if birth is not None:
            return _single([birth, *(s for s in found if s is not birth)], text, codes)
    if top.code.startswith("Z38"):
        return _single(found, text, codes)
    if top.code.startswith(("P", "Z38", "Z00", "Z05")):
        return found
    named = next(
        (
            s
            for s in found
            if s.code.startswith("P")
            and not s.code.startswith(("P00", "P01", "P02", "P03", "P04"))
            and _names(s, text, _newborn_condition)
        ),
        None,
    )
    return found if named is None else [named, *(s for s in found if s is not named)]


_MULTIPLE: Final = re.compile(
    r"\b(?:twins?|triplets?|quadruplets?|quintuplets?|multiples?|multiple birth)\b", re.IGNORECASE
)
_AS_SINGLE: Final = {
    "Z3830": "Z3800", "Z3831": "Z3801", "Z384": "Z381", "Z385": "Z382", "Z3861": "Z3800",
    "Z3862": "Z3801", "Z3863": "Z3800", "Z3864": "Z3801", "Z3865": "Z3800", "Z3866": "Z3801",
    "Z3868": "Z3800", "Z3869": "Z3801", "Z387": "Z381", "Z388": "Z382",
}  # fmt: skip
"""A multiple birth's Z38 code -> the single liveborn infant's of the same place and delivery
(the Tabular's Z38.0-Z38.8 axes)."""


def _single(found: list[Suggestion], text: str, codes: CodeSet) -> list[Suggestion]:
    """The first code, a multiple birth's Z38, as a single birth's where none is said."""
    single = _AS_SINGLE.get(found[0].code)
    if single is None or _MULTIPLE.search(text):
        return found
    described = codes.offered(single)
    if described is None:
        return found
    made = Suggestion(ICD10CM, single, described, found[0].score, described)
    return [made, *(s for s in found[1:] if s.code != single)]


_AFTER_DELIVERY: Final = re.compile(
    r"\b(?:after|following|since|post)\s+(?:(?:having|giving birth to|delivering|the birth of|"
    r"birth of)\s+)?(?:(?:a|the|my|her|their)\s+)?(?:bab(?:y|ies)|delivery|childbirth|"
    r"giving birth|birth|c ?section|cesarean|caesarean)\b|"
    r"\b(?:gave birth|(?:just |recently )?had (?:a|the|my|her) bab(?:y|ies)|"
    r"(?:just|recently) delivered)\b",
    re.IGNORECASE,
)


_GRAVIDA: Final = re.compile(
    r"\bg\s?(\d{1,2})\s?p\s?(\d{1,2})(?:\d{3}|(?:-\d){3})?\b", re.IGNORECASE
)
_OB_VISIT: Final = re.compile(
    r"\b(?:ob|obstetric|antenatal)\s+(?:visit|check|checkup|check up|appointment|appt|care)\b",
    re.IGNORECASE,
)
_HYPEREMESIS: Final = re.compile(r"\bhyperemesis\b(?! gravidarum)", re.IGNORECASE)
_PREEMIE: Final = re.compile(r"\b(?:preemies?|premies?)\b", re.IGNORECASE)


def _obstetric_words(text: str, newborn: bool) -> str:
    """The shorthand of obstetrics in the Tabular's words.

    Gravida and para ("G1P0", "G3P2"): a primigravida (the first pregnancy, Z34.0- "normal
    first pregnancy") or a multigravida (a later one, Z34.8-); an OB visit is a prenatal visit
    (Z34, the Index: Supervision (of), pregnancy, normal); in a pregnancy, hyperemesis is the
    Index's "Hyperemesis, gravidarum"; for a newborn, a preemie is the Index's "Preterm,
    newborn" ("Prematurity - see Preterm, newborn").
    """
    text = _GRAVIDA.sub(
        lambda m: " primigravida " if m.group(1) == "1" else " multigravida ",
        text,
    )
    text = _OB_VISIT.sub(" prenatal visit ", text)
    if in_pregnancy(text) or _WEEKS.search(text):  # the Index: Hyperemesis, gravidarum O21.-
        text = _HYPEREMESIS.sub("hyperemesis gravidarum", text)
    return _PREEMIE.sub(" preterm newborn ", text) if newborn else text


def _postpartum(text: str) -> str:
    """``text`` with a delivery that came before written as the Index's "postpartum"."""
    return _AFTER_DELIVERY.sub(" postpartum ", text)


_LITTLE_FLUID: Final = re.compile(
    r"\b(?:low|little|decreased|reduced|too little|not enough|insufficient|deficient)\s+"
    r"(?:amniotic\s+)?fluid(?:\s+(?:around|surrounding)\s+(?:the\s+)?baby)?\b|"
    r"\blow\s+afi\b",
    re.IGNORECASE,
)
_MUCH_FLUID: Final = re.compile(
    r"\b(?:high|excess|excessive|increased|too much)\s+(?:amniotic\s+)?fluid"
    r"(?:\s+(?:around|surrounding)\s+(?:the\s+)?baby)?\b|\bhigh\s+afi\b",
    re.IGNORECASE,
)
"""The amniotic fluid in people's words: too little is oligohydramnios (the Index:
Oligohydramnios O41.0-), too much polyhydramnios (the Index: Polyhydramnios O40.-; AFI is the
amniotic fluid index)."""


def _amniotic(text: str) -> str:
    """``text`` with too little or too much amniotic fluid in the Index's words.

    Only in a pregnancy's words ("low fluid" alone may be a fluid volume deficit).
    """
    if not (in_pregnancy(text) or "amniotic" in text or "afi" in text or _WEEKS.search(text)):
        return text
    return _MUCH_FLUID.sub(" polyhydramnios ", _LITTLE_FLUID.sub(" oligohydramnios ", text))


# --- conditions complicating pregnancy --------------------------------------------------------

_CHAPTER_15: Final = (
    (re.compile(r"E10"), "O24.01"),  # Pre-existing type 1 diabetes mellitus, in pregnancy
    (re.compile(r"E11"), "O24.11"),  # Pre-existing type 2 diabetes mellitus, in pregnancy
    (re.compile(r"E(?:08|09|13)"), "O24.81"),  # Other pre-existing diabetes mellitus
    (re.compile(r"I10"), "O10.01"),  # Pre-existing essential hypertension
    (re.compile(r"I11"), "O10.11"),  # Pre-existing hypertensive heart disease
    (re.compile(r"I12"), "O10.21"),  # Pre-existing hypertensive chronic kidney disease
    (re.compile(r"I13"), "O10.31"),  # Pre-existing hypertensive heart and chronic kidney disease
    (re.compile(r"I15"), "O10.41"),  # Pre-existing secondary hypertension
    (re.compile(r"F17"), "O99.33"),  # Smoking (tobacco) complicating pregnancy
    (re.compile(r"F10"), "O99.31"),  # Alcohol use complicating pregnancy
    (re.compile(r"F1[1-69]"), "O99.32"),  # Drug use complicating pregnancy
    (re.compile(r"E66"), "O99.21"),  # Obesity complicating pregnancy
    (re.compile(r"E4[0-6]"), "O25.1"),  # Malnutrition in pregnancy
    (re.compile(r"D(?:5\d|6[0-4])"), "O99.01"),  # Anemia complicating pregnancy
    (re.compile(r"D(?:6[5-9]|[78]\d)"), "O99.11"),  # Blood and immune mechanism diseases
    (re.compile(r"C"), "O9A.11"),  # Malignant neoplasm complicating pregnancy
    (re.compile(r"A1[5-9]"), "O98.01"),  # Tuberculosis complicating pregnancy
    (re.compile(r"A5[0-3]"), "O98.11"),  # Syphilis complicating pregnancy
    (re.compile(r"A54"), "O98.21"),  # Gonorrhea complicating pregnancy
    (re.compile(r"A(?:5[5-9]|6[0-4])"), "O98.31"),  # Other predominantly sexual transmission
    (re.compile(r"B1[5-9]"), "O98.41"),  # Viral hepatitis complicating pregnancy
    (re.compile(r"A[89]|B0|B2[5-9]|B3[0-4]|U071"), "O98.51"),  # Other viral (COVID-19 too)
    (re.compile(r"B(?:5\d|6[0-4])"), "O98.61"),  # Protozoal diseases complicating pregnancy
    (re.compile(r"B20|Z21"), "O98.71"),  # HIV disease (and its asymptomatic status)
    (re.compile(r"[AB]"), "O98.81"),  # Other maternal infectious and parasitic diseases
    (re.compile(r"Z2233"), "O99.82"),  # Streptococcus B carrier state
    (re.compile(r"R730"), "O99.81"),  # Abnormal glucose complicating pregnancy
    (re.compile(r"N1[0-2]"), "O23.0"),  # Infections of kidney in pregnancy
    (re.compile(r"N30"), "O23.1"),  # Infections of bladder in pregnancy
    (re.compile(r"N34"), "O23.2"),  # Infections of urethra in pregnancy
    (re.compile(r"N390"), "O23.4"),  # Unspecified infection of urinary tract in pregnancy
    (re.compile(r"N(?:0\d|1[3-9])"), "O26.83"),  # Pregnancy related renal disease
    (re.compile(r"E"), "O99.28"),  # Endocrine, nutritional and metabolic diseases
    (re.compile(r"F"), "O99.34"),  # Other mental disorders complicating pregnancy
    (re.compile(r"G"), "O99.35"),  # Diseases of the nervous system complicating pregnancy
    (re.compile(r"I"), "O99.41"),  # Diseases of the circulatory system complicating pregnancy
    (re.compile(r"J"), "O99.51"),  # Diseases of the respiratory system complicating pregnancy
    (re.compile(r"K"), "O99.61"),  # Diseases of the digestive system complicating pregnancy
    (re.compile(r"L"), "O99.71"),  # Diseases of the skin complicating pregnancy
    (re.compile(r"[ST]"), "O9A.21"),  # Injury, poisoning complicating pregnancy
    (re.compile(r"[HM]"), "O99.89"),  # Other specified diseases and conditions
)
"""A condition's code to its Chapter 15 subcategory "complicating pregnancy", the more
particular first (Tabular O10, O23, O24, O25, O26.83, O98, O99, O9A; the Index: Pregnancy,
complicated by, [condition]). Chapter 15 codes have sequencing priority over other chapters'
codes (Guidelines I.C.15.a.1); the Tabular's notes at O98, O99 and O9A ask for the condition's
own code as well, so it follows. Signs and symptoms (R), factors (Z) and the genitourinary
conditions Chapter 15 names itself are left to the ranking."""


def chapter_15_for(code: str) -> str | None:
    """The Chapter 15 subcategory for a condition ``code`` in pregnancy, or None."""
    dotless = code.replace(".", "")
    return next((o for pattern, o in _CHAPTER_15 if pattern.match(dotless)), None)


_PREGNANCY_WORDS: Final = re.compile(
    r"\b(?:pregnan\w*|gravid\w*|primigravida|multigravida|g\d+\s?p\d+\w*|complicat\w*|"
    r"first pregnancy|currently|during|while|in|of|with|by|at|and|the|a|an|"
    r"(?:1st|first|2nd|second|3rd|third)"
    r"\s*(?:tri|trimester|trim)\b|trimester|weeks?|wks?|gestation\w*|ga|iup|pt|patient)\b",
    re.IGNORECASE,
)
"""The words that say only that the patient is pregnant, and when; what is left is the
condition ("depression complicating pregnancy, 3rd tri": "depression")."""


def condition_words(text: str) -> str:
    """``text`` without the words that say only the pregnancy and its weeks or trimester."""
    without_weeks = _WEEKS.sub(" ", text.replace("-", " "))
    return " ".join(_PREGNANCY_WORDS.sub(" ", without_weeks).replace(",", " ").split())


@dataclass(frozen=True, slots=True)
class Obstetric:
    """What the words say of a pregnancy or a newborn, read once per query.

    ``ranked``: the words to rank (a delivery that came before written "postpartum"; a
    newborn's weeks and grams taken out, for their codes come from the numbers). ``pregnant``:
    the words say the patient is pregnant, not incidentally (the Chapter 15 rule applies).
    ``implied``: only gestational weeks say it ("short cervix 22 weeks"): ``implied_words``
    are ranked too, kept when a Chapter 15 code leads them. ``first``: codes the numbers and
    rules give, offered first in this order; ``weeks``: the gestational weeks (Z3A).
    """

    ranked: str
    said: str
    """The words with the gestational weeks written as their trimester: the side and trimester
    slots are read from them (:mod:`codesets.suggest_variants`)."""
    pregnant: bool
    implied_words: str | None
    weeks: int | None
    condition: str
    first: tuple[str, ...]
    newborn: bool = False
    """The words name a newborn ("newborn", "neonatal"), and the patient may be one."""


def read_obstetric(text: str, age: int | None, sex: str | None) -> Obstetric | None:
    """What ``text`` says of a pregnancy or a newborn, or None when it says nothing."""
    from codesets.suggest_variants import wanted_trimester  # noqa: PLC0415 - a sibling reader

    lowered = text.lower()
    newborn = newborn_codes(lowered, age)
    baby = bool(newborn) or age == 0 or (age is None and _NEWBORN.search(lowered) is not None)
    ranked = _amniotic(_postpartum(_obstetric_words(lowered, baby)))
    if baby and _grams(ranked) is not None and not newborn:  # a weight is no word to rank
        ranked = " ".join(_GRAMS.sub(" ", _KILOGRAMS.sub(" ", _POUNDS.sub(" ", ranked))).split())
    named_newborn = age in (0, None) and (
        _NAMED_NEWBORN.search(lowered) is not None
        or (age == 0 and _BIRTH.search(lowered) is not None)
    )
    if newborn or named_newborn:
        bare = _weeks_as(_GRAMS.sub(" ", _KILOGRAMS.sub(" ", _POUNDS.sub(" ", ranked))), "")
        return Obstetric(
            " ".join(bare.split()),
            " ".join(bare.split()),
            pregnant=False,
            implied_words=None,
            weeks=None,
            condition="",
            first=newborn,
            newborn=named_newborn,
        )
    maternal = sex != "male" and (age is None or 9 <= age <= 64)  # the MCE's maternity ages
    pregnant = maternal and in_pregnancy(lowered) and _INCIDENTAL.search(lowered) is None
    weeks = gestational_weeks(lowered) if maternal else None
    if weeks is not None and not 1 <= weeks <= _WEEKS_AT_MOST:
        weeks = None
    named = wanted_trimester(_weeks_as(lowered, ""))  # a trimester said in words
    first = tuple(
        code
        for code in (
            prom_code(lowered, named) if maternal else None,
            gestational_diabetes_code(lowered) if maternal else None,
        )
        if code is not None
    )
    implied = None
    said = ranked
    if weeks is not None:
        # The weeks are the trimester (I.C.15.a.3) and the Z3A code, not words to rank ("fetus
        # 2", "20 weeks" in a description are no gestational age).
        trimester = f"{_TRIMESTERS[_trimester_digit(weeks, named)]} trimester"
        said = _weeks_as(ranked, "" if named else f" {trimester} ")
        ranked = _weeks_as(ranked, "")
        if not in_pregnancy(lowered) and not first and maternal:
            implied = f"{ranked}, pregnancy, {trimester}"
        condition = condition_words(ranked)
        if not condition and not first and weeks > _TERM_UNTIL:
            first = ("O48.1" if weeks > _POST_TERM_UNTIL else "O48.0",)
    if ranked == lowered and not pregnant and weeks is None and not first:
        return None
    return Obstetric(ranked, said, pregnant, implied, weeks, condition_words(ranked), first)


_TRIMESTERS: Final = {"1": "first", "2": "second", "3": "third"}
_WEEKS_AT_MOST: Final = 45
_TERM_UNTIL: Final = 40
_POST_TERM_UNTIL: Final = 42
"""The Tabular's O48.0 "Post-term pregnancy": over 40 completed weeks to 42 completed weeks;
O48.1 "Prolonged pregnancy": beyond 42 completed weeks."""


def _weeks_as(text: str, words: str) -> str:
    """``text`` with its gestational weeks (not a duration or an age) written as ``words``."""
    out = []
    at = 0
    for match in _WEEKS.finditer(text):
        if _DURATION_BEFORE.search(text[: match.start()]) or _DURATION_AFTER.match(
            text[match.end() :]
        ):
            continue
        out.append(text[at : match.start()])
        out.append(words)
        at = match.end()
    out.append(text[at:])
    return " ".join("".join(out).split())


@dataclass(frozen=True, slots=True)
class CodeSet:
    """What the arrangement asks of the code set, for the query's date and patient.

    ``offered(code)``: the code's description when it is billable on the date and fits the
    patient, else None. ``below(code)``: the codes under a header, in the Tabular's order.
    ``alone(words)``: the best suggestions for words ranked alone (the condition's own code).
    """

    offered: Callable[[str], str | None]
    below: Callable[[str], tuple[str, ...]]
    alone: Callable[[str], tuple[Suggestion, ...]]


def arrange(
    found: list[Suggestion], reading: Obstetric, trimester: str | None, codes: CodeSet
) -> list[Suggestion]:
    """``found`` with what the words say of a pregnancy or a newborn applied (see the module).

    The codes the numbers give come first; a condition in pregnancy is preceded by its
    Chapter 15 code where Chapter 15 does not name it; a pregnancy's code is its pregnancy's,
    not its childbirth's or puerperium's, and early in it (see :func:`_in_pregnancy`); the
    weeks' Z3A code follows the first Chapter 15 code; a long-term drug code is not offered
    beside a gestational diabetes code.
    """
    limit = len(found) or 1
    if reading.implied_words is not None:
        found = _implied(found, reading, codes)
    made = [
        Suggestion(ICD10CM, _dotless(code), described, 1.0, described)
        for code in reading.first
        if (described := codes.offered(code)) is not None
    ]
    out = made + [s for s in found if s.code not in {m.code for m in made}]
    if any(s.code.startswith("O244") for s in out[:1]):
        out = [s for s in out if s.code not in _NOT_WITH_O244]
    if reading.pregnant and not made:
        out = _complicating(out, reading, trimester, codes)
    if reading.pregnant or reading.weeks is not None:
        out = _in_pregnancy(out, reading, trimester, codes)
    out = _which_pregnancy(out, reading.said, trimester, codes)
    out = _weeks_after(out, reading.weeks, codes)
    if reading.newborn and not made:
        out = _newborn_first(out, reading.ranked, codes)
    return out[: max(limit, len(made))]


_FIRST_PREGNANCY: Final = re.compile(
    r"\b(?:first pregnancy|primigravida|primip\w*|g1(?:\s?p0)?|gravida 1|nulliparous|nullip\w*)\b",
    re.IGNORECASE,
)
_LATER_PREGNANCY: Final = re.compile(
    r"\b(?:multigravida|multip\w*|g(?:[2-9]|1\d)\s?p\d+\w*|g[2-9]|gravida [2-9]|"
    r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th) pregnancy)\b",
    re.IGNORECASE,
)


_DELIVERY: Final = re.compile(
    r"\b(?:deliver\w*|labou?r\w*|childbirth|intrapartum|postpartum|post partum|puerper\w*|"
    r"c ?section|cesarean|caesarean|after birth|giving birth|gave birth)\b",
    re.IGNORECASE,
)
_NOT_PREGNANCY: Final = re.compile(r"\b(?:in|complicating) (?:the )?(?:childbirth|puerperium)\b")
_EARLY_UNTIL: Final = 20
"""O20 "Hemorrhage in early pregnancy": before completion of 20 weeks gestation (O46,
antepartum hemorrhage, excludes it)."""


def _in_pregnancy(
    found: list[Suggestion], reading: Obstetric, trimester: str | None, codes: CodeSet
) -> list[Suggestion]:
    """The first code as its pregnancy's, where the words speak of a pregnancy only.

    Chapter 15's families have a code for the pregnancy, the childbirth and the puerperium
    (O98.x1-/x2/x3, O99.xx0-3/4/5, O24.x1-/x2/x3): words of no delivery, labor or puerperium
    take the pregnancy's, of the trimester said ("GBS carrier, 36 weeks": O99.820, not the
    childbirth's O99.824). Bleeding before 20 completed weeks is the Tabular's hemorrhage in
    early pregnancy (O20.9), not an antepartum hemorrhage (O46.9-, which excludes it).
    """
    if not found or _DELIVERY.search(reading.said):
        return found
    top = found[0]
    lowered = top.description.lower()
    early = codes.offered("O20.9")
    if (
        reading.weeks is not None
        and reading.weeks < _EARLY_UNTIL
        and top.code.startswith("O469")
        and early is not None
    ):
        made = Suggestion(ICD10CM, "O209", early, top.score, early)
        return [made, *(s for s in found if s.code != "O209")]
    if not top.code.startswith("O") or _NOT_PREGNANCY.search(lowered) is None:
        return found
    target = _NOT_PREGNANCY.sub(lambda m: m.group(0).split()[0] + " pregnancy", lowered)
    wanted = (target, f"{target}, {trimester or 'unspecified'} trimester")
    stack = list(codes.below(top.code[:3]))
    while stack:
        code = stack.pop(0)
        described = codes.offered(code)
        if described is None:
            stack[:0] = codes.below(code)
        elif described.lower() in wanted:
            made = Suggestion(ICD10CM, _dotless(code), described, top.score, described)
            return [made, *(s for s in found[1:] if s.code != made.code)]
    return found


def _which_pregnancy(
    found: list[Suggestion], said: str, trimester: str | None, codes: CodeSet
) -> list[Suggestion]:
    """A normal pregnancy's supervision (Z34) of the pregnancy the words number.

    The Tabular's Z34.0- "normal first pregnancy", Z34.8- "other normal pregnancy" (a second
    or later: multigravida, G2 and up), Z34.9- when neither is said; the 5th character is the
    trimester said, else "unspecified trimester". Only the codes of that family change, in
    place.
    """
    first = _FIRST_PREGNANCY.search(said) is not None
    later = _LATER_PREGNANCY.search(said) is not None
    if first == later:
        return found
    wanted = f"Z34{'0' if first else '8'}{_trimester_digit(None, trimester).replace('9', '0')}"
    out: list[Suggestion] = []
    for ranked in found:
        suggestion = ranked
        if ranked.code.startswith("Z34") and ranked.code != wanted:
            described = codes.offered(wanted)
            if described is not None:
                suggestion = Suggestion(ICD10CM, wanted, described, ranked.score, described)
        if suggestion.code not in {s.code for s in out}:
            out.append(suggestion)
    return out


def _implied(found: list[Suggestion], reading: Obstetric, codes: CodeSet) -> list[Suggestion]:
    """The words read as a pregnancy's, where only weeks said it and Chapter 15 names them.

    Where the words as written offer a Chapter 15 code holding a word of the condition, it
    comes first ("hyperemesis with dehydration, 11 weeks": O21.1, not E86.0). Otherwise the
    words are ranked with "pregnancy" and their trimester, kept when the first code is a
    Chapter 15 code holding a word of the condition and scoring at least as well as the first
    code of the words as written (a Z3A code aside: it is never first): "short cervix 22
    weeks" is the pregnancy's cervical shortening, "headache 2 weeks" stays a headache.
    """
    assert reading.implied_words is not None  # noqa: S101 - the caller checked
    plain = next((s for s in found if not s.code.startswith("Z3A")), None)
    if plain is not None and plain.code.startswith("O"):  # the words name it in Chapter 15
        return found
    named = next((s for s in found if s.code.startswith("O") and _names(s, reading.ranked)), None)
    if named is not None:  # Chapter 15 first (I.C.15.a.1): the words name its condition
        return [named, *(s for s in found if s is not named)]
    pregnancy = codes.alone(reading.implied_words)
    if not pregnancy or not pregnancy[0].code.startswith("O"):
        return found
    if (plain is not None and pregnancy[0].score < plain.score) or not _names(
        pregnancy[0], reading.ranked
    ):
        return found
    return list(pregnancy)


def _complicating(
    found: list[Suggestion], reading: Obstetric, trimester: str | None, codes: CodeSet
) -> list[Suggestion]:
    """A condition in pregnancy to its Chapter 15 code first, where the ranking has not.

    The first code stays where it is Chapter 15 and holds a word of the condition (the
    Tabular names the condition in pregnancy: "cholestasis of pregnancy", "UTI in
    pregnancy"), or a code of the pregnancy itself that does (Z34 "supervision of normal
    pregnancy" for a prenatal visit); a Chapter 15 code further down that holds one comes
    first. Otherwise the condition's words ranked alone give its code, and its chapter the
    Chapter 15 subcategory, of the trimester said. Words of nothing
    but the pregnancy are the Index's "Pregnancy": Z33.1, pregnant state.
    """
    top = next((s for s in found if not s.code.startswith("Z3A")), None)
    if not reading.condition:  # nothing but the pregnancy: the Index's Pregnancy Z33.1
        state = codes.offered("Z33.1")
        if state is None or (top is not None and top.code.startswith(("Z3", "O48"))):
            return found
        made = Suggestion(ICD10CM, "Z331", state, 1.0, state)
        return [made, *(s for s in found if s.code != "Z331")]
    if top is not None and top.code.startswith(("O", "Z3")) and _names(top, reading.ranked):
        return found
    named = next(
        (s for s in found if s.code.startswith("O") and _names(s, reading.ranked, every=True)),
        None,
    )
    # Chapter 15 names the condition further down, below another chapter's code: first.
    first = named if not (top is not None and top.code.startswith("O")) else None
    if first is None and top is not None and not top.code.startswith(("O", "Z3")):
        # As strong as another chapter's code: Chapter 15 has sequencing priority (I.C.15.a.1)
        first = next((s for s in found if s.code.startswith("O") and s.score >= top.score), None)
    if first is not None:
        return [first, *(s for s in found if s is not first)]
    alone = codes.alone(reading.condition)
    condition = alone[0] if alone else None
    complicating = (
        _of_trimester(chapter_15_for(condition.code), trimester, codes)
        if condition is not None and not condition.code.startswith(("O", "Z3"))
        else None
    )
    if condition is None or complicating is None:
        return found
    described = codes.offered(complicating) or ""
    score = max((s.score for s in found[:1]), default=condition.score)
    head = [
        Suggestion(ICD10CM, _dotless(complicating), described, score, described),
        condition,
    ]
    shown = {s.code for s in head}
    return head + [s for s in found if s.code not in shown]


def _names(
    suggestion: Suggestion,
    text: str,
    strip: Callable[[str], str] | None = None,
    *,
    every: bool = False,
) -> bool:
    """Whether a code's description or matched term holds a word of the condition in ``text``.

    The words are compared as the search compares them (stems, as word starts), in the words
    written and in the classification's ("UTI": "urinary tract infection"; "AMA": "elderly");
    ``every``: all the words of one of those readings ("hx of preterm labor": O09.21-
    "... history of pre-term labor", not O22.1- "genital varices" for "genital herpes").
    """
    from codesets.suggest import readings  # noqa: PLC0415 - the ranking's own reading

    said = [
        {stem(w) for w in words_of((strip or condition_words)(reading)) if w not in _SAYS_NOTHING}
        for reading in (text, *readings(text))
    ]
    if not any(said):
        return True
    written = f"{suggestion.description} {suggestion.matched}".lower()
    held = set(words_of(written)) | set(words_of(written.replace("-", "")))

    def holds(word: str) -> bool:
        return len(word) > 1 and any(h.startswith(word) for h in held)

    if every:
        return any(words and all(holds(w) for w in words) for words in said)
    return any(holds(w) for words in said for w in words)


_SAYS_NOTHING: Final = frozenset(
    ("with", "without", "in", "of", "the", "and", "unspecified", "site", "other", "disease",
     "disorder", "acute", "chronic", "type", "history", "personal", "current")
)  # fmt: skip


def _of_trimester(prefix: str | None, trimester: str | None, codes: CodeSet) -> str | None:
    """The billable code of ``prefix``'s family for pregnancy in ``trimester``.

    The named trimester's, else the unspecified trimester's; a family without trimesters
    (O99.82-, O99.89-): its code "complicating pregnancy".
    """
    if prefix is None:
        return None
    phrase = f"{trimester or 'unspecified'} trimester"
    plain = None
    stack = list(codes.below(prefix))
    while stack:
        code = stack.pop(0)
        described = codes.offered(code)
        if described is None:
            stack[:0] = codes.below(code)
            continue
        lowered = described.lower()
        if "pregnancy" not in lowered:
            continue
        if phrase in lowered:
            return code
        if "trimester" not in lowered and plain is None:
            plain = code
    return plain


def _weeks_after(found: list[Suggestion], weeks: int | None, codes: CodeSet) -> list[Suggestion]:
    """The Z3A code of the weeks after the pregnancy's code (the Tabular's note at Z3A).

    Z3A is never first: where the ranking put it first, the first Chapter 15 code goes before
    it; the weeks written give it where the ranking has not.
    """
    if found and found[0].code.startswith("Z3A"):
        first_o = next((i for i, s in enumerate(found) if s.code.startswith("O")), None)
        if first_o is not None:
            found.insert(0, found.pop(first_o))
    if weeks is None or not found or not found[0].code.startswith(("O", "Z33", "Z34")):
        return found
    if any(s.code.startswith("Z3A") for s in found):
        return found
    code = "Z3A.01" if weeks < _Z3A_FROM else "Z3A.49" if weeks > _Z3A_UNTIL else f"Z3A.{weeks:02d}"
    described = codes.offered(code)
    if described is None:
        return found
    made = Suggestion(ICD10CM, _dotless(code), described, found[0].score, described)
    # After the condition's own code where it follows its Chapter 15 code ("use additional
    # code to identify the condition", O98-O9A).
    family = chapter_15_for(found[1].code) if len(found) > 1 else None
    at = 2 if family is not None and found[0].code.startswith(_dotless(family)) else 1
    return [*found[:at], made, *found[at:]]


def _dotless(code: str) -> str:
    return code.replace(".", "")


_Z3A_FROM: Final = 8
_Z3A_UNTIL: Final = 42
"""Z3A.01 is "less than 8 weeks", Z3A.08-Z3A.42 each week, Z3A.49 "greater than 42 weeks"."""
_WORD: Final = re.compile(r"[a-z0-9]+")
