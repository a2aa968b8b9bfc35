"""The words that qualify a diagnosis, read as a coder reads them before looking it up.

Two rules, each applied to the words as written, before the ranking
(:func:`codesets.suggest.rank_suggestions`) and the codes the words name outright
(:mod:`codesets.suggest_direct`) see them:

* **Uncertain diagnoses** (ICD-10-CM Official Guidelines IV.H, outpatient): a diagnosis
  qualified as "probable", "suspected", "questionable", "rule out", "compatible with",
  "consistent with", "working diagnosis" (and the shorthand clinicians write for these:
  ``r/o``, ``?``, ``query``, ``possible``, ``likely``, ``concern for``, ``vs``) is not coded;
  the symptom, sign or abnormal finding written beside it is. :func:`without_uncertain`
  drops the uncertain clause, wherever it stands ("r/o PE, dyspnea", "slurred speech,
  ?TIA", "snoring r/o sleep apnea"), when another clause names something to code; where
  nothing else is written ("possible pneumonia") the words stay: the coder decides. The
  Tabular's own codes for what is suspected (T76 suspected abuse and neglect, Z03/Z04/Z05
  observation for a condition ruled out, Z20/Z77 suspected exposure, O35/O36 maternal care
  for a suspected fetal problem) keep their words.
* **History, family history, status** (:func:`as_indexed`): the words people write for the
  Index's main terms "History, family", "History, personal", "Status (post)", "Absence
  (acquired)" and "Presence" are rewritten into those terms, so the condition's or the
  site's words choose the Z code within the family the qualifier names: "fam hx colon
  cancer" and "my mom and aunt both had breast cancer" are a family history (Z80-Z84),
  "breast CA survivor, completed treatment" a personal history (Z85-Z87, Guidelines
  I.C.2.d), "h/o R hip arthroplasty" the presence of an artificial hip joint (Z96.64-),
  "amputated R great toe" an acquired absence (Z89; the Index: Amputation - see also
  Absence, by site, acquired), "s/p lumbar fusion" the arthrodesis status (Z98.1), "HIV+
  no symptoms" the asymptomatic HIV infection status (Z21, I.C.1.a.2.d).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FAMILY_CODES",
    "FAMILY_HISTORY",
    "PERSONAL_CODES",
    "Classifiable",
    "as_established",
    "as_indexed",
    "classifiable_ranges",
    "history_code",
    "history_of",
    "names_any",
    "qualified",
    "without_uncertain",
]


def qualified(text: str, age: int | None = None) -> str:
    """``text`` as a coder looks it up: uncertain clauses out, then its qualifiers indexed."""
    return as_indexed(without_uncertain(text), age)


# --- Uncertain diagnoses (Guidelines IV.H) -------------------------------------------------

_BEFORE: Final = (
    r"r/o|r/0|rule[ -]?out|to rule out|possible|possibly|probable|probably|likely|"
    r"suspected|suspect for|suspicion (?:of|for)|suspicious (?:of|for)|questionable|"
    r"question of|query|presumed|presumptive|concern(?:ing)? for|worrisome for|"
    r"consistent with|c/w|compatible with|suggestive of|indicative of|"
    r"working (?:diagnosis|dx)(?: of)?|eval(?:uate|uation)? for|differential(?: diagnosis)?|ddx"
)
"""Qualifiers written before the diagnosis they make uncertain ("r/o PE", "possible UTI")."""
_UNCERTAIN_BEFORE: Final = re.compile(
    rf"(?<![a-z0-9/])(?:{_BEFORE})(?![a-z0-9])|(?<![a-z0-9)])\?+(?=\s*[a-z])"
)
_UNCERTAIN_AFTER: Final = re.compile(r"(?<=[a-z0-9)])\?+\s+(?=[a-z])")
"""A question mark after a word, more words following ("TIA? slurred speech"): the words
before it are the uncertain ones; one before a word ("?TIA", "fatigue ? hypothyroid") makes
the words after it uncertain."""
_UNCERTAIN_ANYWHERE: Final = re.compile(
    r"(?<=[a-z0-9)])\s*\?+[\s?]*$|(?<![a-z0-9])(?:vs\.?|versus|ruled out)(?![a-z0-9])"
)
"""Marks that make their whole clause uncertain wherever they stand ("TIA?" at a clause's
end, "CHF vs COPD", "MI ruled out")."""
_TABULAR_OWN: Final = re.compile(
    r"\b(abuse|abused|neglect|maltreatment|exploitation|rape|exposure|exposed|contact|carrier|"
    r"fetal|fetus|observ\w*|screening|cervical incompetence|newborn|neonat\w*)\b"
)
"""Words of the Tabular's own codes for a suspected condition: T76 suspected abuse and
neglect, Z03-Z05 observation for a condition ruled out, Z20/Z77 suspected exposure, Z22
suspected carrier, O35/O36 maternal care for a suspected fetal problem, N88.3 and Z13/Z36
screening, Z05 a newborn observed for a condition ruled out: such words are coded as
written."""
_CLAUSE: Final = re.compile(r"[,;()\[\]]|\s[-\u2013\u2014]+\s|\s/\s|\.\s")
_NOTHING_TO_CODE: Final = frozenset(
    """a an and the of on in at to for with w by from as is was pt patient initial encounter
    subsequent sequela visit right left bilateral both r l rt lt side sides day days week weeks
    wk wks month months year years yr yrs old ago since x today yesterday now new onset acute
    chronic recent recently also but still mild moderate severe sx symptom symptoms hx h o
    xray x ray cxr ct mri imaging findings finding exam labs lab study scan us ultrasound echo
    ekg ecg biopsy path pathology test tests result results""".split()  # noqa: SIM905 - a word list reads best as text
)
"""Words that name nothing to code on their own: a clause of only these is no symptom."""
_WORDS: Final = re.compile(r"[a-z0-9]+")


def without_uncertain(text: str) -> str:
    """``text`` without its uncertain diagnoses, where a symptom or finding is written too.

    Clauses are the text's parts between commas, semicolons, brackets and dashes. A clause
    marked uncertain anywhere ("TIA?", "CHF vs COPD", "MI ruled out") is dropped; one that
    begins uncertain ("r/o PE", "possible UTI") too; one that turns uncertain part-way
    ("snoring r/o sleep apnea", "cough likely viral") keeps the words before the qualifier.
    Nothing is dropped unless what is kept names something to code (not only sides,
    encounters, times or tests), and a clause of the Tabular's own suspected codes
    (:data:`_TABULAR_OWN`) is kept whole.
    """
    lowered = text.lower()
    if (
        "?" not in lowered
        and not _UNCERTAIN_BEFORE.search(lowered)
        and not _UNCERTAIN_ANYWHERE.search(lowered)
    ):
        return text
    if _TABULAR_OWN.search(lowered):
        return text
    kept: list[str] = []
    dropped = False
    start = 0
    for end, next_start in [
        *((m.start(), m.end()) for m in _CLAUSE.finditer(lowered)),
        (len(lowered), len(lowered)),
    ]:
        clause, lower = text[start:end], lowered[start:end]
        start = next_start
        part = _certain_part(lower)
        if part is None:
            kept.append(clause)
            continue
        dropped = True
        kept.append(clause[part[0] : part[1]])
    if not dropped:
        return text
    out = " ".join(" ".join(k.split()) for k in kept if k.strip())
    out = out.strip(" ,;:-")
    if not _names_something(out):
        return text
    return out


_VERSUS: Final = re.compile(r"(?<![a-z0-9])(?:vs\.?|versus)(?![a-z0-9])")
_RULED_OUT: Final = re.compile(r"(?<![a-z0-9])(?:ruled out|excluded)(?![a-z0-9])")


def as_established(text: str) -> str:
    """``text``'s uncertain diagnoses as if established, their symptoms out (inpatient, II.H).

    In an inpatient stay, a diagnosis documented at discharge as "probable", "suspected",
    "likely", "questionable", "possible", "still to be ruled out", "compatible with",
    "consistent with" or the like is coded as if it existed (Guidelines Section II.H; III.C
    for additional diagnoses), two contrasting ones ("CHF vs COPD") both (II.I), and the
    signs and symptoms that are routinely part of it are not coded (I.B.5): the uncertain
    clauses are kept, their qualifier's words out, and the other clauses dropped. A condition
    "ruled out" is not there at all: its clause goes. Unchanged where nothing is uncertain,
    and for the Tabular's own codes of a suspected condition (:data:`_TABULAR_OWN`).
    """
    lowered = text.lower()
    if (
        "?" not in lowered
        and not _UNCERTAIN_BEFORE.search(lowered)
        and not _UNCERTAIN_ANYWHERE.search(lowered)
    ) or _TABULAR_OWN.search(lowered):
        return text
    diagnoses: list[str] = []
    certain: list[str] = []
    start = 0
    for end, next_start in [
        *((m.start(), m.end()) for m in _CLAUSE.finditer(lowered)),
        (len(lowered), len(lowered)),
    ]:
        clause = lowered[start:end]
        start = next_start
        if _RULED_OUT.search(clause):
            continue
        part = _certain_part(clause)
        if part is None:
            certain.append(clause)
            continue
        if part[0] > 0:  # "TIA? slurred speech", "r/o UTI with dysuria": the words before
            uncertain = _WITH_FINDING.sub(" ", clause[: part[0]] + " ")
        elif part[1] > 0:  # "snoring r/o sleep apnea": the words after the qualifier
            certain.append(clause[: part[1]])
            uncertain = clause[part[1] :]
        else:
            uncertain = clause
        diagnoses.append(uncertain)
    kept = diagnoses if any(_names_something(d) for d in diagnoses) else certain
    out = ", ".join(kept)
    out = _VERSUS.sub(",", _UNCERTAIN_BEFORE.sub(" ", out)).replace("?", " ")
    out = re.sub(r"\s+,", ",", " ".join(out.split())).strip(" ,;:-")
    return out if _names_something(out) else text


def _certain_part(clause: str) -> tuple[int, int] | None:
    """The span of ``clause``'s certain words, or None where the clause is certain."""
    if _UNCERTAIN_ANYWHERE.search(clause):
        return (0, 0)
    after = _UNCERTAIN_AFTER.search(clause)
    if after is not None:
        return (after.end(), len(clause))
    found = _UNCERTAIN_BEFORE.search(clause)
    if found is None:
        return None
    if _names_something(clause[: found.start()]):
        return (0, found.start())
    with_ = _WITH_FINDING.search(clause, found.end())
    if with_ is not None and _names_something(clause[with_.end() :]):
        return (with_.end(), len(clause))  # "possible pneumonia with cough": the cough
    return (0, 0)


_WITH_FINDING: Final = re.compile(r"\s(?:with|w/|presenting with|and)\s+")
"""After an uncertain diagnosis, what it is "with" is documented as found ("suspected UTI
with dysuria", "possible pneumonia with cough"): the symptom a coder codes (IV.H)."""


def _names_something(words: str) -> bool:
    return any(w not in _NOTHING_TO_CODE and not w.isdigit() for w in _WORDS.findall(words.lower()))


# --- History, family history, status (the Index's "History", "Status", "Absence", "Presence")

_RELATIVE: Final = (
    r"(?:(?:maternal|paternal|older|younger|big|little|twin|half)\s+)?"
    r"(?:mom|mother|mum|mama|dad|father|papa|parents?|sisters?|brothers?|siblings?|aunts?|"
    r"auntie|uncles?|grandmother|grandfather|grandma|grandpa|grandparents?|granny|"
    r"cousins?|sons?|daughters?|twin|nieces?|nephews?)"
)
_YOUNG: Final = r"(?:sons?|daughters?|twin|nieces?|nephews?)"
"""The generations after the patient: "ear infection in my son" is the son's own (the
patient, written by a parent: :mod:`codesets.suggest_context`), not a family history."""
_RELATIVES: Final = (
    rf"(?:(?:my|his|her|their|pt'?s|patient'?s|both|one|a)\s+)?{_RELATIVE}(?:'s)?"
    rf"(?:\s*(?:,|and|&|/|\+|or)\s*(?:(?:my|his|her|their|a)\s+)?{_RELATIVE})*"
)
_HAD: Final = (
    r"(?:(?:both|all|each|also|have|has)\s+)*(?:had|died of|died from|"
    r"passed away (?:of|from)|passed (?:of|from)|(?:(?:was|were) )?diagnosed with|dx with|"
    r"dx'?d with|"
    r"suffered from|developed|(?:an?\s+)?(?:hx|history) of|h/o|"
    r"(?:are|was|were)(?:\s+(?:an?|also|both))?(?=\s+[a-z]{4,}))\b"
)
"""What a relative had: a family history is written in the past ("mom had", "father died of",
"sister was diagnosed with") or with the family's own words. A relative who HAS the
condition ("my son has asthma", "dad with COPD", "new mom with anxiety") is the patient
(:mod:`codesets.suggest_context`); several relatives who "are" ("both parents are diabetic")
are no one patient."""
_FAMILY: Final = re.compile(
    r"(?<![a-z])(?:(?:family|fam\.?)\s*(?:hx|history|h/o|hist\.?)|fhx|fh|fh/o|f/h)(?:\s+of)?\b"
    r"|\bruns in (?:the|my|his|her|our|their) family\b|\bin the family\b"
    rf"|(?<![a-z']){_RELATIVES}\s+{_HAD}"
    rf"|\b(?:in|on)\s+(?:(?:my|his|her|the|both|pt'?s)\s+)?(?!{_YOUNG}\b){_RELATIVE}(?:'?s)?"
    rf"(?:\s*(?:,|and|&|/)\s*(?:(?:my|his|her)\s+)?{_RELATIVE})*(?:'?s? side)?\b"
    rf"|(?:^|(?<=[,;:(-]))\s*{_RELATIVES}\s*(?=$|[,;)-])"
)
"""A family history written as coders and patients write it: "FHx", "fam hx of", "runs in
the family", a relative who had or died of the condition ("mom and aunt both had"), or the
condition "in mother and sister", or the relatives alone beside it ("breast cancer -
mother") (the Index: History, family (of); Z80-Z84)."""
_NOT_FAMILY: Final = re.compile(
    r"\b(infant|newborn|neonat\w*|baby|born|birth|deliver\w*|pregnan\w*|fetus|fetal|"
    r"breastfe\w*|stress\w*|worr\w*|caring|caregiv\w*|care for|conflict|divorc\w*|"
    r"death of|grie\w*|bereave\w*|loss of|lost|mourn\w*|abus\w*|violen\w*|neglect\w*|"
    r"hit me|assault\w*|lives with|living with|live with|estranged|incarcerat\w*|jail|prison|"
    r"deployed|custody|contact|exposed|exposure|deceased|alive|healthy|sick|ill|well|fine|ok|"
    r"okay|hospitali[sz]ed|in (?:the )?hospital|here|present|accompan\w*|"
    r"with (?:me|him|her|us|the patient|pt))\b"
)
"""Words that make a relative's condition something other than the patient's family
history: a newborn affected by the mother's condition (P00-P04), the patient's family
circumstances (Z63), abuse, contact with a relative's infection (Z20), or the relative's
own state or presence ("father is deceased", "mother is here with her")."""
_FAMILY_FILLER: Final = re.compile(
    r"\b(?:both|all|also|each|several|multiple|many|some|my|his|her|their|side|and|"
    r"positive|strong|significant|of|for|in|on|the|a|an)\b"
)

_PERSONAL: Final = re.compile(
    r"\b(?:survivor|cancer free|cancer-free|in the past|resolved|remote)\b"
    r"|\b(?:completed|finished|done with|s/p)\s+(?:treatment|chemo\w*|radiation|therapy|"
    r"chemotherapy|chemoradiation)\b"
    r"|\bno (?:current|active|residual|recurrent|evidence of|sign of|signs of)\s+"
    r"(?:disease|cancer|malignancy|tumou?r|recurrence)\b|\bned\b"
    r"|\b(?:prior|previous|past)\b(?!\s+to\b)"
)
"""Words that put a condition in the past (the Index: History, personal (of); Z85-Z87):
a malignancy excised or eradicated with no further treatment and no evidence of it is a
personal history (Guidelines I.C.2.d)."""
_AGO: Final = re.compile(
    r"\b(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|few|several|many)\s+"
    r"(?:years?|yrs?|decades?)\s+ago\b|\b(?:years|decades) ago\b|\bin (?:19|20)\d\d\b"
    r"|\bas a (?:child|kid|teen|teenager|baby)\b|\bin (?:childhood|high school|college)\b"
    r"|\blast year\b"
)
"""When a condition was had, long enough ago to be history ("had a stroke 2 yrs ago")."""
_HAD_BEFORE: Final = re.compile(
    r"\b(?:i |pt |patient |he |she )?(?:had|was treated for|treated for|was diagnosed with)\b"
)
_NEOPLASM: Final = re.compile(
    r"\b(cancer|ca|carcinoma|malignan\w*|tumou?r|neoplasm|lymphoma|leukemia|melanoma|sarcoma|"
    r"myeloma|metasta\w*)\b"
)
_PREGNANCY: Final = re.compile(
    r"\b(pregnan\w*|gravid\w*|g\d+p\d+|weeks? gestation|trimester|\d+\s*w(?:ee)?ks)\b"
)

_STATUS: Final = re.compile(
    r"\b(?:s/p|status post|h/o|hx of|history of|prior|previous|presence of|has an?|"
    r"with an?|w/ an?|post|post op|postop)\b"
)
_PUT_IN: Final = re.compile(r"\b(?:put in|placed|inserted|implanted|done|performed|put on)\b")
_HAD_PUT_IN: Final = re.compile(
    r"\bhad\s+(?:an?\s+|my\s+|his\s+|her\s+|the\s+)?(?P<what>.+?)\s+(?:put in|placed|inserted|"
    r"implanted|done|performed)\b"
)
_JOINTS: Final = "hip|knee|shoulder|elbow|wrist|ankle|finger|toe"
_ARTHROPLASTY: Final = re.compile(
    rf"\b(?:(?:total|partial|reverse|revision)\s+)?(?P<side>(?:right|left|r|l|rt|lt|bilateral|both)\s+)?"
    rf"(?P<joint>{_JOINTS})\s+(?:arthroplasty|joint replacement|replacement|prosthesis|implant)\b"
    rf"|\b(?:arthroplasty|joint replacement|replacement)\s+(?:of\s+)?(?:the\s+)?"
    rf"(?P<side2>(?:right|left|r|l|rt|lt|bilateral|both)\s+)?(?P<joint2>{_JOINTS})\b"
)
"""A joint replaced: the Index's Presence, joint implant (prosthetic), by joint (Z96.6-)."""
_FUSION: Final = re.compile(r"\b(?:fusion|arthrodesis|acdf|plif|tlif|alif|xlif|spinal fusion)\b")
_SPINE_WORDS: Final = re.compile(
    r"\b(?:spinal|spine|lumbar|lumbosacral|cervical|thoracic|thoracolumbar|back|neck|low back|"
    r"lower back|posterior|anterior|[clts]\d{1,2}(?:\s*(?:-|to)?\s*[clts]?\d{1,2})?|levels?|"
    r"multilevel|multi level|with|hardware|rods?|screws?|instrumentation|surgery)\b"
)
_AMPUTATION: Final = re.compile(r"\b(?:amputated|amputation|amputee|amp)\b(?:\s+of)?")
_TRAUMA: Final = re.compile(
    r"\b(?:traumatic|trauma|accident\w*|injur\w*|cut off|severed|crush\w*|saw|mower|"
    r"lawnmower|machine\w*|blade|initial|subsequent|sequela|encounter|today|yesterday|"
    r"just now|partial|complete)\b"
)
"""An amputation by injury is coded to the injury (S-codes): the Index's Amputation,
traumatic. Otherwise "Amputation - see also Absence, by site, acquired"."""
_LIMB_LEVEL: Final = re.compile(r"\b(below|above)\s+(?:the\s+)?(knee|elbow)\b")
_LIMB: Final = {"knee": "leg", "elbow": "arm"}
"""An amputation's level: the Index's Absence, leg, below knee (Z89.51-) / above knee
(Z89.61-); arm, below elbow (Z89.21-) / above elbow (Z89.22-)."""
_REMOVED: Final = re.compile(
    r"\b(?:had|s/p|status post|h/o|hx of|history of)?\s*(?:an?\s+|my\s+|his\s+|her\s+|the\s+)?"
    r"(?P<organ>gallbladder|appendix|spleen|uterus|womb|ovar(?:y|ies)|kidney|thyroid|"
    r"prostate|breasts?|lung|colon|stomach|tonsils|adenoids|testicles?|testis|eye)\s+"
    r"(?:removed|taken out|out)\b"
    r"|\b(?:removal of)\s+(?:the\s+|my\s+)?(?P<organ2>gallbladder|appendix|spleen|uterus|"
    r"ovar(?:y|ies)|kidney|thyroid|prostate|breasts?|lung|colon|stomach)\b"
)
"""An organ removed: the Index's Absence, (organ), acquired (Z90)."""
_CORONARY_STENT: Final = re.compile(
    r"\bstents?\b.*\b(?:heart|cardiac|coronary)\b|\b(?:heart|cardiac|coronary)\b.*\bstents?\b"
)
"""A stent "in the heart": the Index's Presence, coronary angioplasty implant and graft
(Z95.5); the heart's arteries are its coronary arteries."""
_HIV_POSITIVE: Final = re.compile(
    r"\bhiv\s*(?:\+|pos\b|positive\b|seropositive\b|sero positive\b)|\b(?:positive|\+)\s*hiv\b"
    r"|\bhiv (?:test|antibody|ab|serology) (?:\+|pos\b|positive\b)|\bknown hiv\b"
    r"|\basymptomatic hiv\b|\bhiv\b.*\b(?:asymptomatic|no symptoms|without symptoms|no sx)\b"
)
"""HIV written as a positive test or status without symptoms: Z21 (Guidelines I.C.1.a.2.d:
"HIV positive", "known HIV", "HIV test positive" without documented symptoms)."""
_HIV_REST: Final = frozenset(
    """hiv pos positive seropositive sero test antibody ab serology known asymptomatic
    no without symptoms symptom sx status infection carrier patient pt""".split()  # noqa: SIM905 - a word list reads best as text
)
_ORAL_HYPOGLYCEMIC: Final = frozenset(("Z7984",))


def as_indexed(text: str, age: int | None = None) -> str:
    """``text`` with its history, family history and status words in the Index's terms.

    Returns ``text`` itself where no rule applies. In order: HIV without symptoms (Z21), a
    family history, a status (a joint replaced, a spinal fusion, an amputation, an organ
    removed, a stent in the heart), then a personal history; each rewrite keeps the words
    that name the condition or the site (and the side), which choose the code in the family.
    """
    lowered = " ".join(text.lower().replace("\u2019", "'").split())
    found = (
        _hiv_status(lowered)
        or _family(lowered, age)
        or _status(lowered)
        or _put_in(lowered)
        or _personal(lowered)
    )
    return text if found is None else found


def _hiv_status(lowered: str) -> str | None:
    if _HIV_POSITIVE.search(lowered) is None:
        return None
    rest = [w for w in _WORDS.findall(lowered) if w not in _HIV_REST]
    if rest:  # a condition is written: the HIV disease and its manifestation, not Z21
        return None
    return "asymptomatic human immunodeficiency virus infection status"


def _family(lowered: str, age: int | None) -> str | None:
    """A family history where the family's words name it; None where the words are mixed.

    The family's words may stand in the condition's clause ("mom and aunt both had breast
    cancer") or in one of their own ("FH: mother", "breast cancer - mother"); where another
    clause names something of the patient's own ("sister had strep, sore throat"), the
    words are left as written: the family's condition is not the patient's visit.
    """
    if (age is not None and age < 1) or _NOT_FAMILY.search(lowered) or not _FAMILY.search(lowered):
        return None
    conditions: list[str] = []
    own = False
    for clause in _CLAUSE.split(lowered.replace(":", ",")):
        marked = list(_FAMILY.finditer(clause))
        rest = clause
        for match in reversed(marked):
            rest = rest[: match.start()] + " " + rest[match.end() :]
        words = " ".join(_FAMILY_FILLER.sub(" ", rest).split())
        if not _names_something(words):
            continue
        if marked:
            conditions.append(words)
        else:
            own = True
    if not conditions and own:  # the family's words stand alone: the other clauses are theirs
        conditions = [
            " ".join(_FAMILY_FILLER.sub(" ", c).split())
            for c in _CLAUSE.split(lowered.replace(":", ","))
            if not _FAMILY.search(c) and _names_something(c)
        ]
    elif own:
        return None
    condition = " ".join(conditions).strip(" -;")
    if not _names_something(condition):
        return None
    return FAMILY_HISTORY + condition


def _status(lowered: str) -> str | None:
    joint = _ARTHROPLASTY.search(lowered)
    if joint is not None:
        side = (joint.group("side") or joint.group("side2") or "").strip()
        name = joint.group("joint") or joint.group("joint2")
        words = f"presence of artificial {name} joint {side}".strip()
        return None if _more_than(lowered, joint) else _spliced(lowered, joint, words)
    fusion = _FUSION.search(lowered)
    if fusion is not None and _STATUS.search(lowered) and not _more_than(lowered, fusion):
        return "arthrodesis status"
    amputation = _AMPUTATION.search(lowered)
    if amputation is not None and not _TRAUMA.search(lowered):
        rest = _STATUS.sub(" ", lowered[: amputation.start()] + " " + lowered[amputation.end() :])
        rest = _LIMB_LEVEL.sub(lambda m: f"{_LIMB[m.group(2)]} {m.group(1)} {m.group(2)}", rest)
        return "acquired absence of " + " ".join(rest.split())
    removed = _REMOVED.search(lowered)
    if removed is not None:
        organ = removed.group("organ") or removed.group("organ2")
        return _spliced(lowered, removed, f"acquired absence of {organ}")
    return None


def _put_in(lowered: str) -> str | None:
    """A device "put in": its own words, without how or when (the Index: Presence, Status)."""
    put_in = _HAD_PUT_IN.search(lowered)
    if _CORONARY_STENT.search(lowered) and (
        put_in or _STATUS.search(lowered) or _AGO.search(lowered)
    ):
        return "coronary stent"
    if put_in is None:
        return None
    rest = lowered[: put_in.start()] + " " + put_in.group("what") + " " + lowered[put_in.end() :]
    return " ".join(_AGO.sub(" ", rest).split())


def _personal(lowered: str) -> str | None:
    if _PREGNANCY.search(lowered):
        return None  # a history in pregnancy is the pregnancy's own (O09), read as written
    marked = _PERSONAL.search(lowered)
    ago = _AGO.search(lowered)
    had = _HAD_BEFORE.search(lowered)
    if marked is None and not (ago is not None and (had or _NEOPLASM.search(lowered))):
        return None
    rest = _PERSONAL.sub(" ", lowered)
    rest = _AGO.sub(" ", rest)
    rest = _HAD_BEFORE.sub(" ", rest)
    rest = re.sub(r"\b(?:h/o|hx of|history of|hx|h o|a|an|the|my|his|her|childhood)\b", " ", rest)
    condition = " ".join(rest.replace(",", " ").replace(";", " ").split()).strip(" -")
    if not _names_something(condition):
        return None
    return f"history of {condition}"


def _more_than(lowered: str, match: re.Match[str]) -> bool:
    """Whether the words name more than the status ``match`` ("s/p fusion, back pain").

    A status with a condition beside it (a complication, an aftercare, a symptom) is left to
    the ranking as written: the status alone would hide the condition.
    """
    rest = lowered[: match.start()] + " " + lowered[match.end() :]
    rest = _PUT_IN.sub(" ", _AGO.sub(" ", _STATUS.sub(" ", rest)))
    return _names_something(_SPINE_WORDS.sub(" ", rest))


def _spliced(lowered: str, match: re.Match[str], words: str) -> str:
    rest = lowered[: match.start()] + " " + lowered[match.end() :]
    rest = _STATUS.sub(" ", rest)
    rest = _PUT_IN.sub(" ", _AGO.sub(" ", rest))
    return " ".join(f"{words} {rest}".split())


# --- History by the chapter its condition is classifiable to (the Tabular's notes, Z80-Z87) -

FAMILY_HISTORY: Final = "family history of "
"""How :func:`as_indexed` writes a family history: the condition's words follow."""
FAMILY_CODES: Final = ("Z80", "Z81", "Z82", "Z83", "Z84")
PERSONAL_CODES: Final = ("Z85", "Z86", "Z87")
_PERSONAL_FORM: Final = re.compile(
    r"^(?:personal |past (?:medical )?)?(?:history of|hx of|h/o|hx|pmh of|pmhx of)\s+"
    r"(?P<condition>.+)$"
)
_CLASSIFIABLE: Final = re.compile(
    r"conditions classifiable (?P<elsewhere>elsewhere )?(?:to|in) (?P<ranges>.+)$"
)
_RANGE: Final = re.compile(
    r"([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]+)?)(?:\.-)?"
    r"(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]+)?)(?:\.-)?)?"
)


def history_of(text: str) -> tuple[str, tuple[str, ...]] | None:
    """The condition of a family or personal history, and the Z categories it is coded to.

    ``text`` as :func:`as_indexed` leaves it: "family history of X" (Z80-Z84), or a personal
    history written "history of X", "h/o X", "hx of X" (Z85-Z87); None for anything else.
    """
    lowered = " ".join(text.lower().split())
    if lowered.startswith(FAMILY_HISTORY):
        return lowered[len(FAMILY_HISTORY) :], FAMILY_CODES
    found = _PERSONAL_FORM.match(lowered)
    if found is None:
        return None
    return found.group("condition"), PERSONAL_CODES


@dataclass(frozen=True, slots=True)
class Classifiable:
    """One range of a family-history code's note: "Conditions classifiable to C15-C26"."""

    code: str
    low: str
    high: str
    elsewhere: bool

    def holds(self, code: str) -> bool:
        """Whether ``code`` (undotted) is in the range, each end read as a code prefix."""
        return code[: len(self.low)] >= self.low and code[: len(self.high)] <= self.high

    @property
    def breadth(self) -> tuple[bool, int, int]:
        """How much the range holds: the narrowest note names the condition best."""
        return (self.elsewhere, _category(self.high) - _category(self.low), -len(self.low))


def _category(code: str) -> int:
    letter, tens, units = code[0], code[1], code[2]
    return (ord(letter) - 65) * 400 + int(tens, 36) * 36 + int(units, 36)


def classifiable_ranges(notes: list[tuple[str, str]]) -> tuple[Classifiable, ...]:
    """The history codes' "Conditions classifiable to ..." notes, as ranges of codes.

    ``notes``: (undotted code, inclusion term) pairs; those of codes outside Z80-Z87 are
    ignored. The Tabular gives each family-history and personal-history code the codes of
    the conditions it is for (Z80.0 "Conditions classifiable to C15-C26", Z81.8 "...
    elsewhere in F01-F99", Z86.6 "... G00-G99, H00-H95").
    """
    out = []
    for code, term in notes:
        found = _CLASSIFIABLE.search(term.lower())
        if not code.startswith(FAMILY_CODES + PERSONAL_CODES) or found is None:
            continue
        if " except " in found.group("ranges"):  # Z87.82: "S00-T88, except traumatic fractures"
            continue
        for part in _RANGE.finditer(found.group("ranges").upper()):
            low = part.group(1).replace(".", "")
            high = (part.group(2) or part.group(1)).replace(".", "")
            out.append(Classifiable(code, low, high, bool(found.group("elsewhere"))))
    return tuple(out)


def history_code(
    condition_code: str, ranges: tuple[Classifiable, ...], within: tuple[str, ...] = FAMILY_CODES
) -> str | None:
    """The history code (possibly a header) of ``within`` whose note holds ``condition_code``.

    The narrowest range wins (Z85.820 melanoma before Z85.8 other organs; a code's own range
    before an "elsewhere in" note); a Z code (a status or a history itself) has none.
    """
    if condition_code.startswith("Z"):
        return None
    holding = [r for r in ranges if r.code.startswith(within) and r.holds(condition_code)]
    if not holding:
        return None
    return min(holding, key=lambda r: r.breadth).code


_GENERIC: Final = frozenset(
    """personal family history other unspecified specified disease diseases disorder disorders
    condition conditions with without site sites part parts organ organs system systems
    trimester encounter initial type classifiable""".split()  # noqa: SIM905 - a word list reads best as text
)
"""Words every history code or condition says: they name no condition."""
_NAMING: Final = re.compile(r"[a-z]{4,}")


def names_any(description: str, said: str) -> bool:
    """Whether a history code's ``description`` names a word of the condition ``said``.

    Words of four letters or more, not :data:`_GENERIC`, compared by their first five letters
    ("polyps"/"polyp", "kidney"/"kidneys"): Z87.51 "pre-term labor" names nothing of
    "preeclampsia", so the header's "other" code is the history of it.
    """
    wanted = {w[:5] for w in _NAMING.findall(said.lower()) if w not in _GENERIC}
    return any(w[:5] in wanted for w in _NAMING.findall(description.lower()) if w not in _GENERIC)
