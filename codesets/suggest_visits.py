"""Why the patient came: the encounter's reason read from the words before they are ranked.

A coder codes the reason for the encounter (ICD-10-CM Official Guidelines I.C.21, IV.A):
the words people write for a visit ("here for", "med refill", "follow-up of", "recheck",
"chemo for ...") say what kind of encounter it is, and the condition's words say what for.
Three readings, each a rule a coder states:

* **A treatment session** (I.C.2.e.2): an encounter solely to receive chemotherapy,
  immunotherapy or radiation therapy for a neoplasm is coded Z51.11, Z51.12 or Z51.0 first,
  the neoplasm after ("chemo for colon cancer", "here for radiation, prostate cancer",
  "immunotherapy infusion"). Words saying the treatment is a status, a history or a cause
  ("on chemo", "h/o radiation", "anemia due to chemo", "radiation dermatitis") are no session.
* **Follow-up after completed treatment** (I.C.21.c.8): "follow-up after completed
  treatment", "resolved", "finished treatment" is Z09 (Z08 for a malignant neoplasm, the
  Index: Examination, follow-up, following treatment, malignant neoplasm Z08), first, the
  history code the words also give after it.
* **A visit for a condition being treated**: "here for med refill, hypertension", "med check
  for anxiety", "follow up hypertension", "recheck ear infection" is the condition (the
  encounter's reason is the condition under care, IV.A/IV.C); the visit words are taken out
  so they do not pull to codes that share them ("follow" is the Tabular's "following
  cerebral infarction"). A refill with a condition offers Z76.0 after it; "refill" alone is
  Z76.0 (the Index: Issue of repeat prescription), which the ranking finds already. An
  injury's follow-up words ("cast removal", "healing normally") are taken out too: the
  injury is ranked as its initial encounter and the 7th character the words give is chosen
  afterwards (I.C.19.a, :func:`codesets.suggest_variants.wanted_seventh`).

Each reading leaves the words alone where nothing but visit words would be left ("follow-up
visit", "refill"), or where the rest names an encounter of its own kind ("postpartum
follow-up" is Z39.2, "prenatal visit" Z34.-): those are the Tabular's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from fhir_coder.ports import Suggestion
from fhir_coder.systems import ICD10CM

__all__ = ["Visit", "arranged", "read_visit", "visit_reading"]

CHEMOTHERAPY: Final = "Z5111"
IMMUNOTHERAPY: Final = "Z5112"
RADIOTHERAPY: Final = "Z510"
REPEAT_PRESCRIPTION: Final = "Z760"
FOLLOW_UP: Final = "Z09"
FOLLOW_UP_NEOPLASM: Final = "Z08"


@dataclass(frozen=True, slots=True)
class Visit:
    """What the visit words say: the words to rank, codes before and after their best code."""

    words: str
    """The words naming the condition (the visit words out), to be ranked."""
    first: tuple[str, ...] = ()
    """Codes of the encounter's reason, offered first in this order (dotless)."""
    after: tuple[str, ...] = ()
    """Codes offered after the condition's best code (Z76.0 for a refill)."""
    said: str = ""
    """All the words, the visit's too: an injury's encounter (its 7th character) is read there."""


_LEFT_OUT: Final = (
    r"(?:\s+(?:today|now|again|currently|this week))?"
    r"(?:\s+(?:of|for|on|re|about|with|to))?"
)
_TREATMENT: Final = re.compile(
    r"\b(?:(?P<chemo>chemo(?:therapy)?|antineoplastic chemotherapy|chemoradiation|"
    r"chemo ?radiotherapy|chemo ?rad)|(?P<immuno>immuno ?therapy|immunotherapy)|"
    r"(?P<radio>radiotherapy|radiation(?: therapy| treatment| oncology)?|xrt|rad onc))"
    r"(?P<session>(?:\s+(?:session|infusion|treatment|tx|therapy|cycle|visit|appointment|appt|"
    r"fraction|today|day|c\d+d\d+|#?\d+|round))*)\b"
)
_NOT_SESSION_BEFORE: Final = re.compile(
    r"\b(?:on|after|post|s/p|status post|h/o|hx|history|completed?|finished|prior|previous|"
    r"past|refused|refuses|declined|declines|declining|due|from|following|since|undergoing|"
    r"receiving|currently|candidate|needs|need|considering|plan|planned|planning|scheduled|"
    r"secondary|caused|by|with|of|exposure|exposed|failed|last|s p|"
    r"(?:due|secondary|related|owing|attributed|attributable|reaction|response) to)\W*$"
)
"""A treatment word after these is a status, a history, a plan or a cause, not the visit."""
_NOT_SESSION_AFTER: Final = re.compile(
    r"^\W*(?:induced|related|associated|toxicity|side|effects?|reaction|complications?|port|"
    r"pump|sickness|dermatitis|burn|burns|pneumonitis|proctitis|cystitis|enteritis|colitis|"
    r"fibrosis|necrosis|exposure|injury|retinopathy|mucositis|recall|brain|fog|nausea|"
    r"vomiting|neuropathy|neutropenia|anemia|fatigue|completed|finished|done|ended)\b"
)
_NEEDS_FOR: Final = re.compile(r"\b(?:radiation|xrt|rad onc)\b")
""""Radiation" alone is as often an exposure: it is a session only with session words, with
a neoplasm named, or asked for ("here for radiation")."""
_NEOPLASM: Final = re.compile(
    r"\b(?:cancer|ca|carcinoma|malignan\w*|neoplasm|tumou?r|lymphoma|leukemia|melanoma|"
    r"sarcoma|myeloma|metasta\w*|mets|adenocarcinoma|glioma|glioblastoma|blastoma|seminoma|"
    r"mesothelioma|hodgkin\w*|cll|aml|cml|all|nhl|scc|bcc|dcis)\b"
)
_ASKED_FOR: Final = re.compile(
    r"\b(?:for|here for|encounter for|admit(?:ted)? for|admission for|visit for|came in for|"
    r"presents for|getting|get|start|starting|begin|beginning|receive)\W*$"
)

_COMPLETED: Final = re.compile(
    r"\b(?:completed|finished|done with|after (?:completing |completion of )?"
    r"(?:treatment|therapy|tx|chemo\w*|radiation)|completion of|resolved|now resolved|"
    r"treated|no (?:longer|current|evidence)|cured|in remission)\b"
)
_FOLLOW: Final = re.compile(
    r"\b(?:follow(?:ing)?[ -]?ups?|followup|f/u|fu|re-?check|surveillance|check[ -]?up|"
    r"post[ -]?treatment (?:visit|exam))\b"
)

_VISIT_WORDS: Final = re.compile(
    r"\b(?:reason for (?:the )?(?:visit|encounter|appointment)\W*|chief complaint\W*|"
    r"here(?: today)? (?:for|with|about)|(?:office |clinic )?visit (?:for|about|re)|"
    r"came in (?:for|with|about)|comes? in (?:for|with|about)|presents? (?:for|with)|"
    r"presenting (?:for|with)|seen (?:today )?for|(?:appointment|appt) (?:for|about)|"
    r"(?:med(?:ication)?s?|rx|prescription|script)\s+(?:refills?|renewal|check|review|"
    r"management)|refills?|renewal|med(?:ication)? check|"
    r"follow(?:ing)?[ -]?ups?(?:\s+(?:visit|appointment|appt|exam))?|followup|f/u|"
    r"re-?check(?:ed)?|check[ -]?up|monitoring|routine (?:visit|follow[ -]?up))"
    + _LEFT_OUT
    + r"(?![\w/])"
)
_REFILL: Final = re.compile(r"\b(?:refills?|renewal)\b")
_OWN_ENCOUNTER: Final = re.compile(
    r"\b(?:postpartum|post partum|prenatal|antenatal|pregnan\w*|ob|newborn|well|exam\w*|"
    r"physical|screen\w*|tests?|testing|vaccin\w*|immuniz\w*|shots?|contracep\w*|iud|"
    r"birth control|pap|labs?|x ?rays?|imaging|mammo\w*|colonoscopy|surg\w*|post ?op\w*|"
    r"procedure|transplant\w*|completed|treatment|dressing|sutures?|stitch\w*|staples?|"
    r"drains?|wound|aftercare|chemo\w*|radiation|immunotherapy|pacemaker|device|counsel\w*|"
    r"results?|visit|encounter|history|h/o|hx|personal|family|status|s/p|presence|absence)\b"
)
"""Words of an encounter the Tabular names itself (Z00-Z99): the visit words stay with them."""
_INJURY: Final = re.compile(
    r"\b(?:fx|fractur\w*|broken?|sprain\w*|strain\w*|lac|laceration|dislocat\w*|contusion|"
    r"injur\w*|burns?|wound)\b"
)
_AFTERCARE_WORDS: Final = re.compile(
    r"\b(?:cast (?:check|change|removal|off|removed)|(?:removal|change) of (?:the )?cast|"
    r"heal(?:ing|s|ed)? (?:normally|well|as expected|fine|ok)|doing well|"
    r"(?:sutures?|stitch(?:es)?|staples?) (?:removal|removed|out)|"
    r"removal of (?:the )?(?:sutures?|stitch(?:es)?|staples?))\b"
)
"""An injury's follow-up words no Tabular description holds (I.C.19.a: the 7th character D)."""
_SUTURES_OUT: Final = re.compile(r"\b(?:sutures?|stitch(?:es)?|staples?)\b")
REMOVAL_OF_SUTURES: Final = "Z4802"
_WORD: Final = re.compile(r"[a-z0-9]+")
_FILLER: Final = frozenset(
    """a an the and of for on in to with at by is was has here today now again visit pt
    patient w needs need""".split()  # noqa: SIM905 - a word list reads best as text
)


_HEALTH_CHECK: Final = re.compile(
    r"\b(?:well[ -]?(?:baby|child|infant|newborn|visit|check)|wcc|newborn (?:check|exam|visit)|"
    r"(?:weight|health|baby|routine|newborn) (?:check(?:[ -]?up)?|exam\w*|visit))\b"
)
_DAYS_OLD: Final = re.compile(
    r"\b(\d{1,2})[ -]?(?:(?P<days>days?|d)|weeks?|wks?|w)(?:[ -]old)?\b(?! (?:ago|after|since))"
)
NEWBORN_UNDER_8_DAYS: Final = "Z00110"
NEWBORN_8_TO_28_DAYS: Final = "Z00111"
_NEWBORN_DAYS: Final = 28
_FIRST_WEEK: Final = 8
_PERSON_HELD: Final = re.compile(r"\bincarcerat(?:ed|ion)\b")
_HELD_ORGAN: Final = re.compile(
    r"\b(?:hern\w*|bowel|intestin\w*|gut|colon|omentum|uterus|gravid\w*|placenta|"
    r"phimosis|paraphimosis|stone|calcul\w*|umbilical|inguinal|femoral|ventral|incisional|"
    r"hiatal|diaphragmatic|epigastric|spigelian|obturator)\b"
)
"""Incarcerated is a hernia's obstruction where an organ or hernia is named (the Index:
Incarceration, incarcerated - see also Hernia, by site, with obstruction), else a person's
imprisonment (the Index: Imprisonment Z65.1)."""


def visit_reading(text: str, age: int | None, written: str) -> tuple[str, Visit]:
    """The words to rank and the visit they describe (:func:`read_visit`; nothing if none)."""
    visit = read_visit(text, age, written) or Visit(text)
    return visit.words, replace(visit, said=text)


def read_visit(text: str, age: int | None = None, written: str | None = None) -> Visit | None:
    """The encounter the words describe (see the module), or None: the words rank as written.

    ``age``: the patient's, in years; a newborn's health check is read only for 0 or unknown.
    ``written``: the words before their history and status words were read as the Index's
    (:func:`codesets.suggest_qualifiers.qualified`): "completed treatment" is read there.
    """
    lowered = text.lower()
    said = (written or text).lower()
    session = _session(lowered)
    if session is not None:
        return session
    newborn = _newborn_check(lowered) if age in (None, 0) else None
    if newborn is not None:
        return Visit(text, first=(newborn,))
    if _PERSON_HELD.search(lowered) and not _HELD_ORGAN.search(lowered):
        return Visit(_PERSON_HELD.sub("in prison", lowered))
    if _FOLLOW.search(said) and _COMPLETED.search(said):
        neoplasm = _NEOPLASM.search(said) or _TREATMENT.search(said)  # chemo treats a cancer
        code = FOLLOW_UP_NEOPLASM if neoplasm else FOLLOW_UP
        return Visit(text, first=(code,))
    return _condition(lowered)


def _condition(lowered: str) -> Visit | None:
    """The condition a visit is for, its visit words out (see the module), or None."""
    rest = _VISIT_WORDS.sub(" ", lowered)
    injury = _INJURY.search(rest) is not None
    if injury:
        rest = _AFTERCARE_WORDS.sub(" ", rest)
    if rest == lowered or not _names_something(rest):
        return None
    if _OWN_ENCOUNTER.search(rest) and not injury:
        return None
    after: tuple[str, ...] = ()
    if _REFILL.search(lowered) and not injury:
        after = (REPEAT_PRESCRIPTION,)
    elif injury and _SUTURES_OUT.search(lowered):  # the injury with D first (I.C.21.c.7)
        after = (REMOVAL_OF_SUTURES,)
    return Visit(_tidy(rest), after=after)


def _newborn_check(lowered: str) -> str | None:
    """A newborn's health examination by its age in days (the Tabular's Z00.110, Z00.111)."""
    found = _DAYS_OLD.search(lowered)
    if found is None or not _HEALTH_CHECK.search(lowered):
        return None
    days = int(found.group(1)) * (1 if found.group("days") else 7)
    if days > _NEWBORN_DAYS:
        return None
    return NEWBORN_UNDER_8_DAYS if days < _FIRST_WEEK else NEWBORN_8_TO_28_DAYS


def _session(lowered: str) -> Visit | None:
    """A treatment session's codes first, the neoplasm's words to rank (I.C.2.e.2)."""
    codes: list[str] = []
    spans: list[tuple[int, int]] = []
    for found in _TREATMENT.finditer(lowered):
        before, after = lowered[: found.start()], lowered[found.end() :]
        if _NOT_SESSION_BEFORE.search(before) and not _ASKED_FOR.search(before):
            continue
        if _NOT_SESSION_AFTER.search(after):
            continue
        if (
            found.group("radio")
            and _NEEDS_FOR.search(found.group("radio"))
            and not found.group("session").strip()
            and not _ASKED_FOR.search(before)
            and not _NEOPLASM.search(lowered)
        ):
            continue
        if found.group("chemo") and "rad" in found.group("chemo"):
            codes.extend((RADIOTHERAPY, CHEMOTHERAPY))  # either may come first (I.C.2.e.2)
        elif found.group("chemo"):
            codes.append(CHEMOTHERAPY)
        elif found.group("immuno"):
            codes.append(IMMUNOTHERAPY)
        else:
            codes.append(RADIOTHERAPY)
        spans.append(found.span())
    if not codes:
        return None
    rest = lowered
    for start, end in reversed(spans):
        rest = rest[:start] + " " + rest[end:]
    rest = _VISIT_WORDS.sub(" ", rest)
    rest = re.sub(r"\b(?:encounter|admit(?:ted)?|admission|for|session|infusion)\b", " ", rest)
    words = _tidy(rest) if _names_something(rest) else lowered
    return Visit(words, first=tuple(dict.fromkeys(codes)))


def _names_something(words: str) -> bool:
    """Whether ``words`` hold a word that may name a condition (not filler, not a number)."""
    return any(w not in _FILLER and not w.isdigit() and len(w) > 1 for w in _WORD.findall(words))


def _tidy(words: str) -> str:
    """``words`` without the punctuation left at their ends and doubled spaces."""
    return " ".join(words.split()).strip(" ,;:-")


def arranged(
    found: list[Suggestion], visit: Visit, offered: Callable[[str], str | None], limit: int
) -> list[Suggestion]:
    """``found`` with the visit's codes placed: its reason first, a refill's Z76.0 after the best.

    ``offered(code)``: the code's description where the code may be offered (valid on the
    date, fitting the patient), else None.
    """
    first = [
        Suggestion(ICD10CM, code, described, 1.0, f"reason for the encounter: {described}")
        for code in visit.first
        if (described := offered(code)) is not None
    ]
    out = first + [s for s in found if s.code not in {m.code for m in first}]
    for code in visit.after:
        described = offered(code)
        if described is None or any(s.code == code for s in out[: max(limit - 1, 1)]):
            continue
        out = [s for s in out if s.code != code]
        score = out[0].score if out else 1.0
        out.insert(1 if out else 0, Suggestion(ICD10CM, code, described, score, described))
    return out[: max(limit, len(first))]
