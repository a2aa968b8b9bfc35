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

* **Encounters of their own kind** (I.C.21.c): a vaccine or a vaccine-preventable disease's
  shot is Z23 first ("tetanus shot", "hep B vaccine"; the Index: Immunization, encounter for),
  after the injury where one is named; refused, Z28.21 (the patient) or Z28.82 (a caregiver);
  an examination said to have abnormal findings takes the Tabular's "with abnormal findings"
  code of its pair (Z00.01, Z00.121, Z01.01, Z01.118, Z01.21, Z01.31, Z01.411), its findings'
  words out of the ranked words; a routine postpartum check is Z39.2 whatever the weeks
  written; a blood pressure check of known hypertension is I10; a newborn's health check
  goes by its days (Z00.110 under 8 days, Z00.111 8 to 28 days); "incarcerated" is a
  person's imprisonment (Z65.1) unless a hernia or an organ is named.

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
    abnormal: bool = False
    """An examination with abnormal findings: its "with abnormal findings" code is taken."""


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
    r"\b(?:completed?|completing|finished|finishing|done with|after (?:a |the )?course of|"
    r"post[ -]?(?:treatment|therapy|tx)|"
    r"after (?:completing |completion of )?"
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
    r"subsequent (?:visit|encounter|care)(?: for)?|(?:routine |delayed )?healing|"
    r"(?:sutures?|stitch(?:es)?|staples?) (?:removal|removed|out)|"
    r"removal of (?:the )?(?:sutures?|stitch(?:es)?|staples?))\b"
)
"""An injury's follow-up words no Tabular description holds (I.C.19.a: the 7th character D)."""
_SUTURES_OUT: Final = re.compile(r"\b(?:sutures?|stitch(?:es)?|staples?)\b")
REMOVAL_OF_SUTURES: Final = "Z4802"
_HYPERTENSION: Final = re.compile(r"\b(?:hypertensi\w*|htn|high blood pressure)\b")
_BP_CHECK: Final = re.compile(
    r"\b(?:(?:bp|blood pressure) (?:re-?check|check|follow[ -]?up|visit)|"
    r"(?:re-?check|check) (?:of )?(?:the )?(?:bp|blood pressure))\b"
)
_PREVENTABLE: Final = (
    r"tetanus|tdap|td|dtap|dtp|flu|influenza|covid(?: 19)?|hep(?:atitis)? [ab]|hpv|mmr|measles|"
    r"mumps|rubella|varicella|chickenpox|shingles|zoster|shingrix|pneumonia|pneumococcal|"
    r"pneumovax|prevnar|polio|ipv|hib|rotavirus|meningococcal|meningitis|rsv|childhood|"
    r"routine|travel|yellow fever|typhoid|rabies"
)
_VACCINE: Final = re.compile(
    r"\b(?:vaccin\w*|immuni[sz]ations?|boosters?|jabs?)\b|"
    r"\b(?:" + _PREVENTABLE + r")(?: vaccine| immunization)? (?:shots?|injections?)\b"
)
"""A vaccine, or a shot of one named ("tetanus shot"): a shot alone is many things (a Depo
shot is contraception, an allergy shot desensitization)."""
_NOT_GIVEN: Final = re.compile(
    r"\b(?:refus\w*|declin\w*|not|no|never|missed|delayed?|behind|overdue|hesitan\w*|"
    r"reactions?|adverse|allerg\w*|side effects?|after|due|from|status|up to date|utd|"
    r"counsel\w*|exposure|contact|history|hx|unvaccinated|under ?immuni[sz]ed)\b"
)
_EXAMINATION: Final = re.compile(
    r"\b(?:physicals?|exam\w*|check[ -]?ups?|well[ -]?(?:child|baby|woman|visit|check)|"
    r"wellness|annual visit|health check)\b"
)
_FINDINGS: Final = re.compile(
    r"\b(?:with )?(?:abnormal (?:findings?|labs?|lab results?|results?|exam|tests?)|"
    r"findings?|abnormal(?:ities)?)\b"
)
_NORMAL: Final = re.compile(
    r"\b(?:no|without|normal|negative|nothing) (?:abnormal\w*|findings?|problems?)\b"
)
WITH_ABNORMAL_FINDINGS: Final = {
    "Z0000": "Z0001", "Z00129": "Z00121", "Z0100": "Z0101", "Z0110": "Z01118", "Z0120": "Z0121",
    "Z0130": "Z0131", "Z01419": "Z01411",
}  # fmt: skip
"""The Tabular's examinations without abnormal findings -> the same with them (Z00.0-Z01.4)."""
IMMUNIZATION: Final = "Z23"
_REFUSED: Final = re.compile(r"\b(?:refus\w*|declin\w*|opted out|does not want|did not want)\b")
_CAREGIVER: Final = re.compile(
    r"\b(?:mom|mother|dad|father|parents?|caregivers?|guardians?|family)\b"
)
_AFTER: Final = re.compile(r"\bafter\b")
PATIENT_REFUSED: Final = "Z2821"
CAREGIVER_REFUSED: Final = "Z2882"
_POSTPARTUM_CHECK: Final = re.compile(
    r"\b(?:post ?partum|pp|after delivery)(?: (?:check(?:[ -]?up)?|visit|exam\w*|"
    r"follow[ -]?up|appointment|appt))+\b|\b(?:check(?:[ -]?up)?|visit|exam\w*) "
    r"(?:post ?partum|after delivery)\b"
)
ROUTINE_POSTPARTUM: Final = "Z392"
_REPEAT_PRESCRIPTION_WORDS: Final = "medication refill"
_WORD: Final = re.compile(r"[a-z0-9]+")
_FILLER: Final = frozenset(
    """a an the and of for on in to with at by is was has here today now again visit pt
    patient w needs need request requests requested after before post pre routine annual
    yearly one two three four five six seven eight nine ten week weeks wk wks day days month
    months mo year years yr yrs old""".split()  # noqa: SIM905 - a word list reads best as text
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
    rest = lowered
    if _HYPERTENSION.search(rest):  # a blood pressure check of known hypertension is I10's
        rest = _BP_CHECK.sub(" ", rest)
    rest = _VISIT_WORDS.sub(" ", rest)
    injury = _INJURY.search(rest) is not None
    if injury:
        rest = _AFTERCARE_WORDS.sub(" ", rest)
    kind = _vaccine(rest, injury) or _encounter(lowered, rest)
    if kind is not None:
        return kind
    if rest == lowered or not _names_something(rest):
        return None
    if not injury and not _names_something(_OWN_ENCOUNTER.sub(" ", rest)):
        return None  # "postpartum follow-up", "prenatal visit": the Tabular's own encounter
    after: tuple[str, ...] = ()
    if _REFILL.search(lowered) and not injury:
        after = (REPEAT_PRESCRIPTION,)
    elif injury and _SUTURES_OUT.search(lowered):  # the injury with D first (I.C.21.c.7)
        after = (REMOVAL_OF_SUTURES,)
    return Visit(_tidy(rest), after=after)


def _encounter(lowered: str, rest: str) -> Visit | None:
    """A refill alone, a routine postpartum check, an examination with abnormal findings."""
    if _REFILL.search(lowered) and not _names_something(rest):
        return Visit(_REPEAT_PRESCRIPTION_WORDS)  # "refill request": the Index's entry
    if _POSTPARTUM_CHECK.search(lowered) and not _names_something(
        _VISIT_WORDS.sub(" ", _POSTPARTUM_CHECK.sub(" ", lowered))
    ):
        return Visit(lowered, first=(ROUTINE_POSTPARTUM,))  # Index: Examination, postpartum
    if _EXAMINATION.search(rest) and _FINDINGS.search(rest) and not _NORMAL.search(rest):
        # The Tabular's examinations come with and without abnormal findings (Z00-Z01): the
        # findings choose the code, the examination's words find it.
        return Visit(_tidy(_FINDINGS.sub(" ", rest)), abnormal=True)
    return None


def _vaccine(rest: str, injury: bool) -> Visit | None:
    """An encounter for a vaccine: Z23 (the Index: Immunization, encounter for; Vaccination).

    First, unless an injury is named (a tetanus booster after a cut: the injury first, Z23
    after it); a vaccine refused, delayed or reacted to is no such encounter (Z28.-, T50.-).
    """
    if not _VACCINE.search(rest):
        return None
    if _REFUSED.search(rest):  # Z28.21 the patient's refusal, Z28.82 a caregiver's
        caregiver = _CAREGIVER.search(rest) is not None
        return Visit(rest, first=(CAREGIVER_REFUSED if caregiver else PATIENT_REFUSED,))
    if injury and not _NOT_GIVEN.search(_AFTER.sub(" ", rest)):
        return Visit(_tidy(_VACCINE.sub(" ", rest)), after=(IMMUNIZATION,))
    if injury or _NOT_GIVEN.search(rest):
        return None
    return Visit(rest, first=(IMMUNIZATION,))


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
    if visit.abnormal:
        found = _with_findings(found, offered)
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


def _with_findings(
    found: list[Suggestion], offered: Callable[[str], str | None]
) -> list[Suggestion]:
    """``found`` with each examination "without abnormal findings" as its "with" code, in place."""
    out: list[Suggestion] = []
    for ranked in found:
        code = WITH_ABNORMAL_FINDINGS.get(ranked.code)
        described = offered(code) if code is not None else None
        shown = ranked
        if code is not None and described is not None:
            shown = Suggestion(ICD10CM, code, described, ranked.score, described)
        if all(s.code != shown.code for s in out):
            out.append(shown)
    return out
