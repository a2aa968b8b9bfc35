"""Codes a phrase names outright: a drug's Table row, a status, a history, a social need.

Word ranking cannot reach these: "on Plavix" shares no word with Z79.02 *Long term (current)
use of antithrombotics/antiplatelets*, nor "living in my car" with Z59.02 *Unsheltered
homelessness*. The facts are tables (:mod:`codesets.suggest_tables`): a drug's category in the
Table of Drugs and Chemicals with its Z79 and Z88 codes, and the ways a status or a social need
is written. Each answer says whether it *covers* the phrase (nothing is left but words that
only say status, history, intent or encounter), in which case it is offered first; otherwise
it is offered after the best ranked code ("hyponatremia due to HCTZ": E87.1, then the adverse
effect of the diuretic).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from codesets import suggest_tables
from codesets.suggest_words import PERSON_WORDS

__all__ = ["Direct", "direct_codes", "table_codes", "without_drug"]


@dataclass(frozen=True, slots=True)
class Direct:
    """A code the phrase names, why, and whether it covers the whole phrase.

    An empty ``why``: the words are the code's own term (the Index's code for a main term).
    """

    code: str
    why: str
    covers: bool


_POSSESSIVE: Final = re.compile(r"['\u2019]s\b|s'(?=\s|$)")
_POISONING: Final = re.compile(
    r"\b(poison(ing|ed)?|overdos(e|ed|ing)|od|toxicity|toxic effect|ingestion|"
    r"ingested|took too (much|many))\b"
)
_ADVERSE: Final = re.compile(
    r"\b(adverse (effect|reaction|drug reaction)|side effects?|reaction to)\b"
)
_CAUSED_BY: Final = r"\b(due to|caused by|from|secondary to|after) (the |his |her |taking )?{drug}"
_CAUSING: Final = r"{drug}\W+(induced|related|associated)\b"
"""An effect tied to the drug in the words: "hyponatremia due to HCTZ", "steroid-induced"."""
_TOXICITY_ONLY: Final = re.compile(r"\b(toxicity|toxic effect)\b")
_OVERDOSE: Final = re.compile(r"\b(overdos\w*|od|poison\w*|ingest\w*|took too)\b")
_UNDERDOSING: Final = re.compile(
    r"\b(underdos(e|ed|ing)|missed (dose|doses)|not taking|ran out of|run out of|"
    r"stopped taking|skipp(ed|ing) (doses?|meds?|medications?))\b"
)
_ALLERGY: Final = re.compile(r"\ballerg(y|ies|ic)\b|\bintoleran")
_LONG_TERM: Final = re.compile(
    r"\b(on|long term|longterm|chronic|current|daily|maintenance|therapy|takes|taking|"
    r"prescribed)\b"
)
_INTENT: Final = (
    (re.compile(r"\b(intentional|suicid\w*|self harm|self inflicted|deliberate)\b"), "2"),
    (re.compile(r"\b(assault|homicid\w*|by another|poisoned by)\b"), "3"),
    (re.compile(r"\bundetermined\b"), "4"),
)
"""The Table's intent columns; none written is accidental (Guidelines I.C.19.e.5.b)."""
_SEVENTH: Final = (
    (re.compile(r"\b(subsequent|follow up|followup)\b"), "D"),
    (re.compile(r"\b(sequela|sequelae|late effect)\b"), "S"),
)
_FILLER: Final = PERSON_WORDS | frozenset(
    """a an and the of on in at to for with by from as is was has have had having patient pt
    history h o hx s p status post prior previous past remote known presence present situ place
    chronic long term longterm current currently use using uses takes taking daily therapy
    maintenance prescribed medication medications med meds drug drugs
    initial encounter subsequent sequela visit accidental unintentional intentional self harm
    inflicted assault undetermined overdose overdosed poisoning poisoned od toxicity toxic
    effect adverse reaction side effects allergy allergies allergic intolerance intolerant
    underdosing missed dose doses home his her my their years year ago yrs months since who
    lives living currently recently recent now elderly initial systemic oral screening screen
    encounter
    injection shot mutation carrier positive gene variant suicide attempt attempted
    suicidal ingestion ingested child kid toddler wrong before end month week every often
    sometimes always usually day days nightly once twice
    postmenopausal menopausal prophylactic prophylaxis preventive""".split()  # noqa: SIM905 - a word list reads best as text
)
"""Words that say only status, history, intent, encounter or that the patient is meant; the
last line, why a drug is taken long-term (the Index: Long-term (current) (prophylactic) drug
therapy; hormone replacement (postmenopausal) Z79.890)."""
_STATUS: Final = frozenset(
    """dependent dependence dependency bound care sleeping sleeps slept staying stays stayed
    uses user requires requiring needs permanent recipient""".split()  # noqa: SIM905 - a word list reads best as text
)
"""More words that say only a status, where no drug is named ("opioid dependence" is not
the long-term use of an opioid, "trach dependent" is the tracheostomy's status)."""
_WORD: Final = re.compile(r"[a-z0-9]+")


@functools.cache
def _drug_pattern() -> re.Pattern[str]:
    names = sorted(suggest_tables.drugs(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")s?\b")


def _lowered(text: str) -> str:
    return " ".join(_POSSESSIVE.sub("", text.lower()).replace("-", " ").split())


def _covers(lowered: str, spans: list[tuple[int, int]], filler: frozenset[str] = _FILLER) -> bool:
    """Whether only filler words are left outside ``spans`` (each widened to whole words)."""
    kept = [True] * len(lowered)
    for first, last in spans:
        start, end = first, last
        while start > 0 and lowered[start - 1].isalnum():  # "allerg" is "allergy"
            start -= 1
        while end < len(lowered) and lowered[end].isalnum():
            end += 1
        kept[start:end] = [False] * (end - start)
    left = "".join(c if keep else " " for c, keep in zip(lowered, kept, strict=True))
    return all(w in filler or w.isdigit() for w in _WORD.findall(left))


def direct_codes(text: str, reading: str | None = None) -> list[Direct]:
    """The codes ``text`` names outright, in the order they are offered (codes not checked).

    Each covers the words when nothing is left once every named drug, status or need is
    taken out but words of :data:`_FILLER` ("lives in a homeless shelter": both Z59.01 and
    Z59.00; "trach dependent"). A status or need comes before a drug's code ("on insulin
    pump": the pump, then the insulin). The caller keeps only codes valid on the date and
    fitting the patient. A main term written alone (or as ``reading``, its abbreviations spelt
    out) first gives the Index's code for it (``defaults.tsv``).
    """
    lowered = _lowered(text)
    table = suggest_tables.defaults()
    for words in (" ".join(_WORD.findall(lowered)), " ".join(_WORD.findall(reading or ""))):
        if words in table:
            return [Direct(table[words][0], "", covers=True)]  # the words are the code's own
    found: list[tuple[Direct, tuple[int, int]]] = []
    for row in suggest_tables.phrases():
        found.extend(  # every place it matches: "grieving loss of son"
            (Direct(row.code, "status or social need", covers=False), match.span())
            for match in row.pattern.finditer(lowered)
        )
    drug = _drug_pattern().search(lowered)
    if drug is not None:
        spans = _same_drug(lowered, drug)
        found.extend((d, span) for d in _drug_codes(lowered, drug, spans) for span in spans)
    if not found:
        return []
    filler = _FILLER if drug is not None else _FILLER | _STATUS
    covers = _covers(lowered, [span for _, span in found], filler)
    named = {d.code: Direct(d.code, d.why, covers) for d, _ in reversed(found)}
    return list(named.values())[::-1]


def without_drug(text: str, known: Callable[[str], bool]) -> str:
    """``text`` without a drug name the Tabular does not use ("afib on Eliquis" -> "afib on ").

    ``known`` tells whether the Tabular has a word: "insulin" stays ("GDM on insulin" is
    O24.414, insulin controlled).
    """
    lowered = _lowered(text)
    drug = _drug_pattern().search(lowered)
    if drug is None or all(known(word) for word in _WORD.findall(drug.group(0))):
        return lowered
    for start, end in reversed(_same_drug(lowered, drug)):
        lowered = lowered[:start] + " " + lowered[end:]
    return lowered


def _same_drug(lowered: str, first: re.Match[str]) -> list[tuple[int, int]]:
    """Where ``lowered`` names the first drug's Table entry, each no other word to code.

    Its name and a brand beside it ("apixaban (Eliquis)"): the same Table row and Z79 code.
    """
    drugs = suggest_tables.drugs()
    named = drugs[first.group(1)]
    return [
        match.span()
        for match in _drug_pattern().finditer(lowered)
        if (drugs[match.group(1)].table, drugs[match.group(1)].long_term)
        == (named.table, named.long_term)
    ]


def _drug_codes(
    lowered: str, match: re.Match[str], spans: list[tuple[int, int]] | None = None
) -> list[Direct]:
    drug = suggest_tables.drugs()[match.group(1)]
    covers = _covers(lowered, spans or [match.span()])
    seventh = next((c for p, c in _SEVENTH if p.search(lowered)), "A")
    why = f"Table of Drugs and Chemicals: {drug.name}"
    out: list[Direct] = []
    if drug.table and _UNDERDOSING.search(lowered):
        out.extend(Direct(code, why, covers) for code in table_codes(drug.table, "6", seventh))
    if drug.table and _POISONING.search(lowered):
        intent = next((c for p, c in _INTENT if p.search(lowered)), "1")
        columns = [intent]
        if intent == "1" and _TOXICITY_ONLY.search(lowered) and not _OVERDOSE.search(lowered):
            # A toxicity of a drug taken as prescribed is its adverse effect (Guidelines
            # I.C.19.e.5.a); an overdose or a wrong drug would be a poisoning.
            columns = ["5", "1"]
        for column in columns:
            out.extend(
                Direct(code, why, covers) for code in table_codes(drug.table, column, seventh)
            )
    elif drug.table and not _ALLERGY.search(lowered) and _adverse(lowered, match.group(0)):
        out.extend(Direct(code, why, covers) for code in table_codes(drug.table, "5", seventh))
    if out:
        return out
    if drug.allergy and _ALLERGY.search(lowered):
        return [Direct(drug.allergy, f"allergy status: {drug.name}", covers)]
    if drug.long_term and (_LONG_TERM.search(lowered) or covers):
        return [Direct(drug.long_term, f"long-term drug therapy: {drug.name}", covers)]
    return []


def table_codes(table: str, column: str, seventh: str) -> tuple[str, ...]:
    """The codes a Table of Drugs category may take for one column and encounter.

    The column (1-4 intent, 5 adverse effect, 6 underdosing) is the sixth character after
    a five-character subcategory (T39.1X1A, T43.221A) and the fifth of a four-character one
    that has no placeholder (T36.91XA); the caller keeps the one the Tabular holds.
    """
    padded = f"{table.ljust(5, 'X')}{column}{seventh}"
    if len(table) == 4:
        return (padded, f"{table}{column}X{seventh}")
    return (padded,)


def _adverse(lowered: str, drug: str) -> bool:
    if _ADVERSE.search(lowered):
        return True
    name = re.escape(drug)
    return bool(
        re.search(_CAUSED_BY.format(drug=name), lowered)
        or re.search(_CAUSING.format(drug=name), lowered)
    )
