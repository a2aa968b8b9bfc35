"""Who has the condition, whether they have it, and which side: read before the ranking.

Four rules, each applied to the words as written, before the qualifiers
(:mod:`codesets.suggest_qualifiers`) and the ranking (:mod:`codesets.suggest`) read them:

* **Denied findings** (:func:`without_denied`): a finding the patient denies or a test is
  negative for is not present ("cough, denies fever"; "negative for strep, sore throat"): a
  coder codes the conditions documented as present (Guidelines I.B.4-I.B.5: signs and
  symptoms documented; IV.D/IV.J: code what is documented for the encounter), so the denied
  clause is dropped where another clause names something to code. "No X" is left alone: the
  Tabular's own "without X" codes read it ("AAA, no rupture" is I71.40), and the ranking
  already finds a "without" clause's words only where a code says "without" them.
* **Social needs said in the negative** (:func:`needs_as_written`): "don't have a place to
  live", "doesn't have any food", "has no car" are the Index's "no ..." social needs (Z59
  homelessness, food insecurity, transportation; Z74 no one to render care), which a coder
  codes from the patient's own words or any clinician's (Guidelines I.B.14): the contraction
  and "have" are read as "no", so the phrase reaches the same Index entries "no place to
  live" does.
* **"Not" as the Tabular's "non-"** (:func:`as_one_word`): "cutting herself, not suicidal",
  "fracture, not displaced", "non-toxic goiter": the Tabular writes the negated quality as
  one word (R45.88 Nonsuicidal self-harm, the fractures' "nondisplaced" codes, E04.9 Nontoxic
  goiter), so "not X", "non X" and "non-X" are read as "nonX" where the Tabular has that word
  (and only there: "not intractable" stays the Tabular's own words).
* **An organ's inflammation is its "-itis"** (:func:`as_itis`): the Index's "Inflammation,
  inflamed" sends a coder to the site's own term ("see also specific site"; appendix - see
  Appendicitis, bladder - see Cystitis, ...), the medical word for an organ's inflammation:
  "inflamed appendix", "inflammation of the gallbladder", "bladder inflammation" are
  appendicitis, cholecystitis, cystitis (the Tabular's words), so a modifier ("acute") then
  chooses within them ("acute gallbladder inflammation": K81.0 Acute cholecystitis).
* **Eye and ear shorthand** (:func:`sides_spelt_out`): OD, OS, OU (oculus dexter, sinister,
  uterque: right, left, both eyes) and AD, AS, AU (auris: right, left, both ears) beside an
  eye's or an ear's condition choose the side: the Tabular codes the eye and ear chapters by
  side, with a "bilateral" code for both (H04.123 Dry eye syndrome of bilateral lacrimal
  glands; H61.23 Impacted cerumen, bilateral). Read only beside an eye or ear word, so "OD'd
  on zoloft" stays an overdose and "AS" a heart's aortic stenosis.
* **Diabetes with peripheral vascular disease** (:func:`with_diabetes`): the Index lists
  "Diabetes, with, peripheral angiopathy" (E11.51, E10.51, E13.51) and the "with" convention
  presumes the link (Guidelines I.A.15): "diabetes with PVD", "diabetic PAD", "DM and
  peripheral arterial disease" are the diabetes code with its angiopathy (E11.51 "Type 2
  diabetes mellitus with diabetic peripheral angiopathy without gangrene"), not I73.9
  "Peripheral vascular disease, unspecified" (its inclusion term is "Peripheral angiopathy
  NOS": the diabetic's is not NOS). The words people write for the vessels' disease are read
  as the Tabular's "peripheral angiopathy" when a diabetes word is written.
* **A modifier that is no subterm** (:func:`default_first`): "chronic hypertension", "chronic
  headache", "chronic edema", "chronic diabetes": the Index's main term has a default (I10,
  R51.9, R60.9, E11.9) and "chronic" leads to no subterm of its own, so the default is the
  code; a code that holds "chronic" only beside a word the query did not write (I87.309
  "Chronic venous hypertension", G44.029 chronic cluster headache, J81.1 chronic pulmonary
  edema, E11.22 diabetic chronic kidney disease) is another condition (the Index's
  conventions: a subterm is taken only when the documentation says it, I.A; the words the
  query lacks are essential ones). Where a code holds the modifier and nothing more ("acute
  cystitis" N30.00, "chronic gout" M1A), or holds it as its own nonessential modifier ("acute
  asthma": J45.901 "... with (acute) exacerbation"), it stays first.
* **People words** (:func:`as_the_patient`): "mom", "new mom", "mother of 3", "dad", "my son",
  "grandma" name who has the condition when the words say the person HAS it ("my son has an
  ear infection", "new mom with anxiety", "grandma fell and broke her hip"): the person is
  the patient, and the relative's word is no part of the condition. Only the words of a
  family history make it one (the Index: History, family (of); Z80-Z84): "family history",
  "FHx", "runs in the family", "mom had", "mother died of", "breast cancer in mother" are
  read by :mod:`codesets.suggest_qualifiers` first, and nothing here changes them; words
  that make the relative the subject of a Z code of their own (caring for a relative,
  conflict, abuse, a caregiver's refusal, a newborn affected by its mother) are left too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Protocol, TypeVar

from codesets.suggest_qualifiers import FAMILY_HISTORY, as_established, as_indexed, qualified

__all__ = [
    "SETTINGS",
    "as_itis",
    "as_one_word",
    "as_the_patient",
    "default_first",
    "in_context",
    "needs_as_written",
    "sides_spelt_out",
    "with_diabetes",
    "without_denied",
]


SETTINGS: Final = ("outpatient", "inpatient")
"""Where the patient is seen: the uncertain-diagnosis rule differs (IV.H against II.H)."""


def in_context(
    text: str,
    age: int | None = None,
    setting: str = "outpatient",
    known: Callable[[str], int] | None = None,
) -> str:
    """``text`` read in context: every rule of the module, and the qualifiers' between.

    Denied findings out, needs in the Index's "no" form and the eye and ear shorthand spelt
    out; then the qualifiers (uncertain diagnoses, history, family history, status:
    :func:`codesets.suggest_qualifiers.qualified`); then, unless the words are a family
    history, the people words of the patient taken out. An uncertain diagnosis is dropped
    for its symptom in the ``"outpatient"`` setting (Guidelines IV.H) and coded as if
    established in the ``"inpatient"`` one (II.H: :func:`as_established`). ``known(word)``:
    how many of the Tabular's documents hold a word, 0 for none (for :func:`as_one_word`).
    """
    if setting not in SETTINGS:
        msg = f"unknown setting {setting!r}: expected one of {', '.join(SETTINGS)}"
        raise ValueError(msg)
    read = with_diabetes(sides_spelt_out(needs_as_written(without_denied(text))))
    read = as_itis(read)
    if known is not None:
        read = as_one_word(read, known)
    if setting == "inpatient":
        indexed = as_indexed(as_established(read), age)
    else:
        indexed = qualified(read, age)
    if indexed.lower().startswith(FAMILY_HISTORY):
        return indexed
    return as_the_patient(indexed)


# --- Denied findings -------------------------------------------------------------------------

_CLAUSE: Final = re.compile(r"[,;.()]|\s[-\u2013\u2014]+\s|\b(?:but|and)\s+(?=denies\b|denied\b)")
_DENIED: Final = re.compile(
    r"^\s*(?:(?:pt|patient|he|she|they|mom|parent|parents)\s+)?"
    r"(?:denies|denied|denying|negative for|neg for|tested negative for|no complaints? of|"
    r"no c/o|not complaining of|free of)\b"
)
"""A clause the patient denies, or a test or exam is negative for, from its start."""
_NAMES: Final = re.compile(r"[a-z]{3,}")
_NOTHING: Final = frozenset(
    """and the with for has had any was not but also today now pt patient reports states
    says visit here seen""".split()  # noqa: SIM905 - a word list reads best as text
)


def without_denied(text: str) -> str:
    """``text`` without its denied clauses, where another clause names something to code.

    A clause is the words between commas, semicolons, full stops, brackets and dashes, or
    after a "but" or "and" that begins a denial ("cough but denies fever"). Unchanged when
    nothing but denials is written ("denies chest pain"): the coder decides.
    """
    lowered = text.lower()
    if not _DENIED_ANYWHERE.search(lowered):
        return text
    kept: list[str] = []
    dropped = False
    start = 0
    for end, next_start in [
        *((m.start(), m.end()) for m in _CLAUSE.finditer(lowered)),
        (len(lowered), len(lowered)),
    ]:
        clause = text[start:end]
        start = next_start
        if _DENIED.search(clause.lower()):
            dropped = True
            continue
        kept.append(clause)
    out = ", ".join(" ".join(k.split()) for k in kept if k.strip()).strip(" ,;:-")
    if not dropped or not any(w not in _NOTHING for w in _NAMES.findall(out.lower())):
        return text
    return out


_DENIED_ANYWHERE: Final = re.compile(
    r"\b(?:denies|denied|denying|negative for|neg for|no complaints? of|no c/o|"
    r"not complaining of|free of)\b"
)


# --- "Not" as the Tabular's "non-" -----------------------------------------------------------

_NOT_X: Final = re.compile(r"(?<![a-z])(?:not|non)(?:\s+|-)([a-z]{4,})\b")


def as_one_word(text: str, known: Callable[[str], int]) -> str:
    """``text`` with "not X" / "non X" / "non-X" as "nonX" where ``known("nonX")``."""
    lowered = text.lower()
    if "non" not in lowered and "not" not in lowered:
        return text
    changed = False

    def joined(found: re.Match[str]) -> str:
        nonlocal changed
        word = "non" + found.group(1)
        if not known(word):
            return found.group(0)
        changed = True
        return word

    out = _NOT_X.sub(joined, lowered)
    return out if changed else text


# --- An organ's inflammation is its "-itis" -------------------------------------------------

_ITIS: Final = {
    "gallbladder": "cholecystitis", "gall bladder": "cholecystitis", "appendix": "appendicitis",
    "pancreas": "pancreatitis", "liver": "hepatitis", "stomach": "gastritis",
    "stomach lining": "gastritis", "colon": "colitis", "large intestine": "colitis",
    "small intestine": "enteritis", "stomach and intestines": "gastroenteritis",
    "bladder": "cystitis", "urinary bladder": "cystitis", "kidney": "nephritis",
    "kidneys": "nephritis", "urethra": "urethritis", "prostate": "prostatitis",
    "testicle": "orchitis", "testicles": "orchitis", "testis": "orchitis",
    "epididymis": "epididymitis", "vagina": "vaginitis", "vulva": "vulvitis",
    "cervix": "cervicitis", "breast": "mastitis", "esophagus": "esophagitis",
    "throat": "pharyngitis", "pharynx": "pharyngitis", "voice box": "laryngitis",
    "larynx": "laryngitis", "tonsil": "tonsillitis", "tonsils": "tonsillitis",
    "sinus": "sinusitis", "sinuses": "sinusitis", "nose": "rhinitis",
    "nasal passages": "rhinitis", "bronchi": "bronchitis", "bronchial tubes": "bronchitis",
    "airways": "bronchitis", "lung": "pneumonitis", "lungs": "pneumonitis",
    "heart sac": "pericarditis", "sac around the heart": "pericarditis",
    "pericardium": "pericarditis", "heart muscle": "myocarditis",
    "heart lining": "endocarditis", "heart valve": "endocarditis",
    "heart valves": "endocarditis", "vein": "phlebitis", "veins": "phlebitis",
    "blood vessels": "vasculitis", "blood vessel": "vasculitis", "artery": "arteritis",
    "joint": "arthritis", "joints": "arthritis", "tendon": "tendinitis",
    "tendons": "tendinitis", "bursa": "bursitis", "muscle": "myositis",
    "muscles": "myositis", "bone": "osteomyelitis", "plantar fascia": "plantar fasciitis",
    "fascia": "fasciitis", "skin": "dermatitis", "hair follicle": "folliculitis",
    "hair follicles": "folliculitis", "eyelid": "blepharitis", "eyelids": "blepharitis",
    "conjunctiva": "conjunctivitis", "white of the eye": "conjunctivitis",
    "cornea": "keratitis", "iris": "iritis", "gums": "gingivitis", "gum": "gingivitis",
    "tongue": "glossitis", "mouth": "stomatitis", "brain": "encephalitis",
    "lining of the brain": "meningitis", "meninges": "meningitis",
    "spinal cord": "myelitis", "nerve": "neuritis", "nerves": "neuritis",
    "middle ear": "otitis media", "ear canal": "otitis externa", "outer ear": "otitis externa",
    "lymph node": "lymphadenitis", "lymph nodes": "lymphadenitis",
    "lymph glands": "lymphadenitis", "rectum": "proctitis", "diverticula": "diverticulitis",
    "rib cartilage": "costochondritis", "lining of the uterus": "endometritis",
    "ovary": "oophoritis", "ovaries": "oophoritis", "fallopian tube": "salpingitis",
    "fallopian tubes": "salpingitis", "thyroid": "thyroiditis", "thyroid gland": "thyroiditis",
    "salivary gland": "sialoadenitis", "glans": "balanitis",
}  # fmt: skip
"""An organ's words -> the Tabular's word for its inflammation (the suffix "-itis")."""
_ORGAN: Final = "|".join(re.escape(o) for o in sorted(_ITIS, key=len, reverse=True))
_INFLAMED: Final = re.compile(
    rf"\binflam(?:ed|mation|ation)\s+(?:of|in)\s+(?:the\s+|my\s+|his\s+|her\s+|a\s+|an\s+)?"
    rf"(?P<a>{_ORGAN})\b"
    rf"|\b(?P<b>{_ORGAN})\s+(?:is\s+|are\s+)?inflam(?:ed|mation|ation)\b"
    rf"|\binflamed\s+(?P<c>{_ORGAN})\b"
)


def as_itis(text: str) -> str:
    """``text`` with an organ's inflammation in the Tabular's "-itis" word (see the module)."""
    lowered = text.lower()
    if "inflam" not in lowered:
        return text
    found = _INFLAMED.search(lowered)
    if found is None:
        return text
    organ = found.group("a") or found.group("b") or found.group("c")
    return lowered[: found.start()] + _ITIS[organ] + lowered[found.end() :]


# --- Social needs said in the negative -------------------------------------------------------

_HAVE_NOT: Final = re.compile(
    r"\b(?:do|does|did)\s*n['\u2019]?t\s+(?:have|has|got)\b(?:\s+(?:a|an|any|enough)\b)?"
    r"|\b(?:do|does|did)\s+not\s+(?:have|has|got)\b(?:\s+(?:a|an|any|enough)\b)?"
    r"|\b(?:has|have|had|got)\s+no\b"
    r"|\b(?:lacks?|lacking)\b(?:\s+(?:a|an|any)\b)?"
)
""""Don't have (a, any)", "does not have", "has no", "lacks": all are the Index's "no"."""
_NOWHERE: Final = re.compile(
    r"\bno\s+(?:where|anywhere|somewhere|place)\s+(?:to\s+)?(live|stay|sleep|go)\b"
    r"|\bnowhere\s+to\s+(live|stay|sleep|go)\b"
)
_NEEDS: Final = re.compile(
    r"\b(?:place|home|house|housing|apartment|shelter|food|groceries|meals?|money|income|"
    r"heat|heating|electricity|power|water|utilities|phone|car|ride|rides|transportation|"
    r"transport|insurance|coverage|job|work|help|caregiver|one|family|support|friends|"
    r"clothes|clothing|anywhere|somewhere|where|health|medical|stable|safe|permanent|running|"
    r"clean|reliable)\b"
)
"""The things whose lack is a social need (Z55-Z65, Z74-Z75): only these are rewritten, so
"doesn't have a fever" stays as written."""


def needs_as_written(text: str) -> str:
    """``text`` with a social need said in the negative in the Index's "no" form.

    "I don't have a place to live" is "I no place to live" ("no place to live": the Index's
    Homelessness Z59.00); "doesn't have any food" is "no food" (Insecurity, food Z59.41);
    "has no ride" is "no ride" (Z59.82). Only where the thing lacked is one of
    :data:`_NEEDS`; unchanged otherwise.
    """
    lowered = text.lower().replace("\u2019", "'")
    found = _HAVE_NOT.search(lowered)
    if found is None and "where" not in lowered:
        return text
    if found is not None and _NEEDS.match(lowered, _skip_space(lowered, found.end())) is None:
        return _nowhere(text)
    out = _HAVE_NOT.sub(" no", lowered) if found is not None else lowered
    return _nowhere(" ".join(out.split()))


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] == " ":
        at += 1
    return at


def _nowhere(text: str) -> str:
    lowered = text.lower()
    if _NOWHERE.search(lowered) is None:
        return text
    return _NOWHERE.sub(lambda m: f"no place to {m.group(1) or m.group(2)}", lowered)


# --- Eye and ear shorthand -------------------------------------------------------------------

_EYE: Final = re.compile(
    r"\b(?:eyes?|ocular|optic|vision|visual|cataracts?|glaucoma|conjunctiv\w*|blephar\w*|"
    r"chalazi\w*|hordeol\w*|styes?|retin\w*|macul\w*|kerat\w*|corne\w*|irid\w*|iritis|uveitis|"
    r"scler\w*|myopi\w*|hyperopi\w*|hypermetropi\w*|astigmati\w*|presbyopi\w*|amblyopi\w*|"
    r"strabism\w*|esotropi\w*|exotropi\w*|pteryg\w*|pinguecul\w*|ptosis|ectropion|entropion|"
    r"dacryo\w*|lacrimal|eyelids?|lids?|floaters|vitreous|diplopia|drusen|npdr|pdr|dme|amd|armd|"
    r"crvo|brvo|papilledema|nystagmus|trichiasis|photophobia|anisocoria|blind\w*|lens)\b"
)
"""Words of an eye's condition (the Tabular's H00-H59 and the eye's complications)."""
_EAR: Final = re.compile(
    r"\b(?:ears?|otitis|otic|otalgia|otorrh\w*|cerumen|earwax|wax|tinnitus|hearing|deaf\w*|"
    r"tympan\w*|eustachian|mastoid\w*|cholesteatoma|labyrinth\w*|otosclerosis|swimmer|"
    r"aural|auricle|pinna|canal|perforat\w*|snhl)\b"
)
"""Words of an ear's condition (the Tabular's H60-H95)."""
_SHORTHAND: Final = re.compile(
    r"(?<![\w/'\u2019])(od|os|ou|ad|as|au)(?![\w'\u2019])", re.IGNORECASE
)
_EYES: Final = {"od": "right eye", "os": "left eye", "ou": "both eyes"}
_EARS: Final = {"ad": "right ear", "as": "left ear", "au": "both ears"}
_AT_CLAUSE_END: Final = re.compile(r"\s*(?:$|[,;.)])")


def sides_spelt_out(text: str) -> str:
    """``text`` with OD/OS/OU and AD/AS/AU spelt out beside an eye's or an ear's condition.

    Written in capitals anywhere, or in lower case where it ends a clause ("cataract, od";
    "otitis media as"): in lower case "as" and "ad" are also English words. "Both eyes" and
    "both ears" are read by the site table (:mod:`codesets.suggest_sites`) as the Tabular's
    "bilateral".
    """
    if _SHORTHAND.search(text) is None:
        return text
    lowered = text.lower()
    eye = _EYE.search(lowered) is not None
    ear = _EAR.search(lowered) is not None
    if not eye and not ear:
        return text

    def spelt(found: re.Match[str]) -> str:
        written = found.group(1)
        short = written.lower()
        table = _EYES if short in _EYES else _EARS
        if (table is _EYES and not eye) or (table is _EARS and not ear):
            return written
        if written != written.upper() and not _AT_CLAUSE_END.match(text, found.end()):
            return written
        return table[short]

    return _SHORTHAND.sub(spelt, text)


# --- Diabetes with peripheral vascular disease -----------------------------------------------

_DIABETES: Final = re.compile(
    r"\b(?:diabet\w*|dm|dm1|dm2|t1dm|t2dm|dmii|dmi|iddm|niddm|dm ii|dm i|dm 1|dm 2)\b"
)
_PERIPHERAL: Final = re.compile(
    r"\b(?:pvd|pad|peripheral (?:vascular|arterial|artery) (?:disease|insufficiency)|"
    r"peripheral (?:vascular|arterial) occlusive disease|peripheral arteriopathy|"
    r"peripheral vasculopathy|peripheral angiopathy)\b"
)


def with_diabetes(text: str) -> str:
    """``text`` with a diabetic's peripheral vascular disease in the Tabular's words.

    Unchanged without a diabetes word (PVD alone is I73.9, the Index's Disease, peripheral
    vascular); see the module for the basis.
    """
    lowered = text.lower()
    if _PERIPHERAL.search(lowered) is None or _DIABETES.search(lowered) is None:
        return text
    return _PERIPHERAL.sub("peripheral angiopathy", lowered)


# --- People words: the patient, unless the words say family history ---------------------------

_PERSON: Final = (
    r"(?:mom|mommy|mother|mum|mama|dad|daddy|father|papa|parent|son|daughter|grandma|"
    r"grandmother|grandpa|grandfather|granny|nana|grandson|granddaughter|grandchild|grandkid|"
    r"sister|brother|aunt|auntie|uncle|wife|husband|spouse|partner|niece|nephew|cousin)"
)
"""A relative's word. "Child", "baby", "infant", "toddler" are not among them: the Tabular
uses them ("fever in child", "Failure to thrive (child)", a newborn's P codes), so they stay
unless a parent's "my" makes them the person (:data:`_IN_THE_YOUNG`)."""
_OWNER: Final = r"(?:(?:my|our|his|her|their|the|a|an|pt'?s|patient'?s)\s+)"
_KIND: Final = (
    r"(?:(?:new|first[ -]time|single|young|teen|teenage|working|busy|stay[ -]at[ -]home|"
    r"elderly|older|little|\d+\s*(?:yo|y/o|yr|year|month|mo|week|wk|day)s?(?:[ -]old)?)\s+)"
)
_OF_SOME: Final = (
    r"(?:\s+of\s+(?:\d+|one|two|three|four|five|six|seven|eight|twins|triplets|"
    r"(?:a\s+)?(?:newborn|baby|toddler|infant|teen|teenager))"
    r"(?:\s+(?:kids|children|boys|girls|sons|daughters))?)"
)
_IS: Final = r"(?:\s+(?:has|have|is|with|w/|got|gets|getting|having|who has|that has)\b)"
_EVENT: Final = (
    r"(?=\s+(?:fell|fall|falls|broke|cut|twisted|hit|burned|burnt|slipped|tripped|sprained|"
    r"bumped|swallowed|ate|drank|choked|stung|bit|bitten|woke|complains|c/o|feels|feeling|"
    r"keeps|can't|cannot|vomiting|coughing|running|pulled|hurt|hurts|injured)\b)"
)
_DESCRIBED: Final = re.compile(
    rf"(?<![\w'])(?:{_OWNER}?{_KIND}{_PERSON}s?{_OF_SOME}?|{_OWNER}?{_PERSON}{_OF_SOME})"
    rf"(?:{_IS})?(?![\w'])"
)
"""A person described ("new mom", "mother of 3", "first-time dad", "6 yo son"): the patient."""
_SUBJECT: Final = re.compile(rf"^\s*{_OWNER}?{_KIND}?{_PERSON}(?:['\u2019]s)?(?:{_IS}|{_EVENT})")
"""The words begin with the person who has the condition ("my son has", "dad with",
"grandma fell"): the patient."""
_YOUNG: Final = r"(?:son|daughter|grandson|granddaughter|grandchild|grandkid)"
_THE_YOUNG: Final = r"(?:child|kid|baby|toddler|infant|boy|girl|little one)"
_MY: Final = r"(?:(?:my|our|his|her|their)\s+)"
_IN_THE_YOUNG: Final = re.compile(
    rf"\b(?:in|on|of)\s+(?:{_MY}?{_YOUNG}|{_MY}{_THE_YOUNG})(?:['\u2019]s)?(?![\w'])"
    rf"|(?<![\w'])(?:{_MY}?{_YOUNG}|{_MY}{_THE_YOUNG})['\u2019]s(?![\w'])"
)
"""A child's condition, written by a parent ("ear infection in my son", "nits in daughter's
hair"): the child is the patient (a family history is written of the generations before, or
with the family's own words)."""
_THEIR_OWN: Final = re.compile(
    r"\b(?:care|caring|caregiv\w*|carer|stress\w*|conflict|divorc\w*|separat\w*|death|died|"
    r"dies|dying|deceased|grie\w*|bereave\w*|loss|lost|mourn\w*|abus\w*|violen\w*|neglect\w*|"
    r"hit me|beat\w*|assault\w*|lives with|living with|live with|estranged|incarcerat\w*|jail|"
    r"prison|deployed|custody|contact|exposed|exposure|declin\w*|refus\w*|consent\w*|"
    r"worr\w*|concern\w*|here with|accompan\w*|infant of|born to|maternal|breastfe\w*|"
    r"deliver\w*|pregnan\w*|had|history|hx|h/o)\b"
)
"""Words that make the relative the subject of a code of their own: a dependent relative
needing care (Z63.6), family conflict or disruption (Z63), a death in the family, abuse,
contact with a relative's infection (Z20), a caregiver's refusal (Z28.82), a newborn
affected by its mother (P00-P04); or a history ("mom had"): left as written."""


def as_the_patient(text: str) -> str:
    """``text`` without the words naming the patient as a relative (see the module).

    Unchanged where the words make the relative the subject of a code of their own
    (:data:`_THEIR_OWN`), or where nothing would be left.
    """
    lowered = text.lower().replace("\u2019", "'")
    if _THEIR_OWN.search(lowered) is not None:
        return text
    out = _SUBJECT.sub(" ", lowered, count=1)
    out = _DESCRIBED.sub(" ", out)
    out = _IN_THE_YOUNG.sub(" ", out)
    if out == lowered:
        return text
    cleaned = " ".join(out.split()).strip(" ,;:-")
    return cleaned if re.search(r"[a-z]{3}", cleaned) else text


# --- A modifier that is no subterm: the main term's default first ---------------------------


class Offered(Protocol):
    """What :func:`default_first` reads of a suggestion (:class:`fhir_coder.ports.Suggestion`)."""

    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def score(self) -> float: ...


_MODIFIER: Final = re.compile(r"(?<![a-z])(chronic|acute)(?![a-z])")
_OPPOSITE: Final = {"chronic": re.compile(r"\bacute\b"), "acute": re.compile(r"\bchronic\b")}
_WORD_MORE: Final = 0.9
"""Below this score the first code holds a word the query did not write (one such word costs
a full match about a quarter: ``codesets.suggest``)."""
_NOTHING_MORE: Final = 0.99
"""At or above this score the code holds every word asked and no other essential word."""


_S = TypeVar("_S", bound=Offered)


def default_first(found: list[_S], asked: str, plain: Callable[[str], list[_S]]) -> list[_S]:
    """``found`` with the main term's default first where the query's modifier leads nowhere.

    ``asked``: the words ranked; ``plain(words)``: the best code for ``words`` (asked only
    when the rule may apply). Applies when ``asked`` says "chronic" or "acute", the first
    code holds a word more than the query (scores below :data:`_WORD_MORE`) and does not
    hold the modifier in parentheses, and the words without the modifier name a code fully
    (:data:`_NOTHING_MORE`) that does not say the opposite modifier; that code comes first.
    """
    lowered = asked.lower()
    modifier = _MODIFIER.search(lowered)
    if modifier is None or not found or found[0].score >= _WORD_MORE:
        return found
    word = modifier.group(1)
    if f"({word})" in found[0].description.lower():
        return found
    rest = " ".join(_MODIFIER.sub(" ", lowered).split())
    if not _NAMES.search(rest):
        return found
    best = plain(rest)
    if not best or best[0].score < _NOTHING_MORE:
        return found
    default = best[0]
    if default.code == found[0].code or _OPPOSITE[word].search(default.description.lower()):
        return found
    return [default, *(s for s in found if s.code != default.code)][: len(found)]
