"""Ranked ICD-10-CM suggestions for the words a clinician wrote (the text-search port).

People search with :meth:`CodeSetRegistry.search` (every word must match); suggestions
for a diagnosis written in words need more forgiveness: lay words are translated to the
classification's own (``high blood pressure`` -> ``hypertension``), plural and adjective
endings are trimmed, a document may miss a query word, and the words that only make a
code less specific (``unspecified``, ``initial encounter``) do not count against it, so
"anemia" offers D64.9 *Anemia, unspecified* before the many named anemias. Scores run
from 0 to 1 and are for ranking and for a configured acceptance threshold; suggestions
are never accepted by default (see ``fhir_coder.coding.CodingPolicy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from codesets.search import Icd10cmSearch, words_of

__all__ = [
    "LAY_TERMS",
    "Ranked",
    "bmi_code",
    "exact_term",
    "fits_patient",
    "rank_suggestions",
    "to_classification_words",
]

LAY_TERMS: Final[dict[str, str]] = {
    # Everyday and clinical shorthand -> the words the ICD-10-CM tabular uses. Each a fact.
    "high blood pressure": "hypertension",
    "low blood pressure": "hypotension",
    "high cholesterol": "pure hypercholesterolemia",
    "high blood sugar": "hyperglycemia",
    "low blood sugar": "hypoglycemia",
    "heart attack": "myocardial infarction",
    "mini stroke": "transient cerebral ischemic attack",
    "transient ischemic attack": "transient cerebral ischemic attack",
    "peripheral artery disease": "peripheral vascular disease",
    "deep vein thrombosis": "embolism thrombosis deep veins lower extremity",
    "dvt": "embolism thrombosis deep veins lower extremity",
    "gerd": "gastro-esophageal reflux disease",
    "acid reflux": "gastro-esophageal reflux disease",
    "gastroesophageal reflux": "gastro-esophageal reflux",
    "heartburn": "heartburn",
    "gallstones": "calculus gallbladder",
    "gallstone": "calculus gallbladder",
    "kidney stone": "calculus kidney",
    "kidney stones": "calculus kidney",
    "stomach flu": "gastroenteritis colitis",
    "shingles": "zoster",
    "herpes zoster": "zoster",
    "cold sore": "herpesviral vesicular dermatitis",
    "chickenpox": "varicella",
    "hives": "urticaria",
    "pink eye": "conjunctivitis",
    "earwax": "impacted cerumen",
    "ear wax": "impacted cerumen",
    "ear infection": "otitis media",
    "swimmer ear": "otitis externa",
    "athlete foot": "tinea pedis",
    "ringworm": "tinea corporis",
    "jock itch": "tinea cruris",
    "yeast infection": "candidiasis",
    "vaginal yeast infection": "candidiasis vulva vagina",
    "thrush": "candidal stomatitis",
    "strep throat": "streptococcal pharyngitis",
    "sore throat": "acute pharyngitis",
    "common cold": "acute nasopharyngitis",
    "head cold": "acute nasopharyngitis",
    "flu": "influenza",
    "upper respiratory infection": "acute upper respiratory infection",
    "uri": "acute upper respiratory infection",
    "uti": "urinary tract infection site",
    "bladder infection": "cystitis",
    "copd": "chronic obstructive pulmonary disease",
    "chf": "heart failure",
    "afib": "atrial fibrillation",
    "a fib": "atrial fibrillation",
    "cad": "atherosclerotic heart disease native coronary artery",
    "coronary artery disease": "atherosclerotic heart disease native coronary artery",
    "ckd": "chronic kidney disease",
    "esrd": "end stage renal disease",
    "bph": "benign prostatic hyperplasia",
    "enlarged prostate": "benign prostatic hyperplasia",
    "ibs": "irritable bowel syndrome",
    "adhd": "attention-deficit hyperactivity disorder",
    "attention deficit hyperactivity disorder": "attention-deficit hyperactivity disorder",
    "ptsd": "post-traumatic stress disorder",
    "post traumatic stress disorder": "post-traumatic stress disorder",
    "ocd": "obsessive-compulsive disorder",
    "pcos": "polycystic ovarian syndrome",
    "polycystic ovary syndrome": "polycystic ovarian syndrome",
    "painful periods": "dysmenorrhea",
    "period pain": "dysmenorrhea",
    "heavy periods": "excessive menstruation",
    "irregular menstruation": "irregular menstruation",
    "morning sickness": "mild hyperemesis gravidarum",
    "bacterial vaginosis": "vaginitis",
    "swollen lymph nodes": "enlarged lymph nodes",
    "swollen glands": "enlarged lymph nodes",
    "mono": "infectious mononucleosis",
    "mononucleosis": "infectious mononucleosis",
    "hiv infection": "human immunodeficiency virus hiv disease",
    "hiv": "human immunodeficiency virus hiv disease",
    "hepatitis c": "viral hepatitis c",
    "fatty liver": "fatty liver",
    "bpv": "benign paroxysmal vertigo",
    "benign paroxysmal positional vertigo": "benign paroxysmal vertigo",
    "sinus headache": "headache",
    "sepsis": "sepsis organism",
    "blood poisoning": "sepsis organism",
    "abscess of skin": "cutaneous abscess",
    "skin abscess": "cutaneous abscess",
    "boil": "furuncle",
    "bed sore": "pressure ulcer",
    "bedsore": "pressure ulcer",
    "pressure sore": "pressure ulcer",
    "hearing loss": "hearing loss",
    "nosebleed": "epistaxis",
    "nose bleed": "epistaxis",
    "pinworm": "enterobiasis",
    "lazy eye": "amblyopia",
    "crossed eyes": "strabismus",
    "nearsightedness": "myopia",
    "farsightedness": "hypermetropia",
    "bed wetting": "enuresis",
    "bedwetting": "enuresis",
    "tennis elbow": "lateral epicondylitis",
    "golfer elbow": "medial epicondylitis",
    "frozen shoulder": "adhesive capsulitis shoulder",
    "slipped disc": "intervertebral disc displacement",
    "whiplash": "sprain ligaments cervical spine",
    "seasonal allergies": "allergic rhinitis due pollen",
    "hay fever": "allergic rhinitis due pollen",
    "itching": "pruritus",
    "hair loss": "alopecia",
    "obesity in a child": "obesity",
    "failure to thrive in a child": "failure thrive child",
    "diaper rash": "diaper dermatitis",
    "teething": "teething syndrome",
    # Coders' words for the classification's own (issue 17): each a fact of the Index.
    "cancer": "malignant neoplasm",
    "carcinoma": "malignant neoplasm",
    "malignancy": "malignant neoplasm",
    "tumor": "neoplasm",
    "tumour": "neoplasm",
    "family history of": "family history",
    "history of": "personal history",
    "history of tobacco use": "personal history nicotine dependence",
    "history of smoking": "personal history nicotine dependence",
    "former smoker": "personal history nicotine dependence",
    "status post": "presence",
    "knee replacement": "artificial knee joint",
    "hip replacement": "artificial hip joint",
    "distal radius": "lower end radius",
    "fractured": "fracture",
    "broken": "fracture",
    "hip fracture": "fracture neck femur",
    "fracture of the hip": "fracture neck femur",
    "fracture hip": "fracture neck femur",
    "nose fracture": "fracture nasal bones",
    "fracture of the nose": "fracture nasal bones",
    "compression fracture": "collapsed vertebra",
    "osteoporotic fracture": "age-related osteoporosis current pathological fracture",
    "preeclampsia": "pre-eclampsia",
    "premature": "preterm",
    "fibroid": "leiomyoma uterus",
    "fibroids": "leiomyoma uterus",
    "hypertriglyceridemia": "pure hyperglyceridemia",
    "hyperthyroidism": "thyrotoxicosis",
    "cholelithiasis": "calculus gallbladder",
    "neck pain": "cervicalgia",
    "seizure disorder": "epilepsy",
    "seizure": "convulsions",
    "seizures": "convulsions",
    "peripheral neuropathy": "polyneuropathy",
    "sacrum": "sacral region",
    "lymphadenopathy": "enlarged lymph nodes",
    "lives alone": "living alone",
    "annual physical exam": "general adult medical examination",
    "annual physical": "general adult medical examination",
    "physical exam": "general adult medical examination",
    "well child check": "routine child health examination",
    "well child visit": "routine child health examination",
    "diverticulosis of colon": "diverticulosis large intestine",
    "diverticulitis of colon": "diverticulitis large intestine",
    "bmi": "body mass index",
    "history of myocardial infarction": "old myocardial infarction",
    "history of heart attack": "old myocardial infarction",
    "history of alcohol dependence": "alcohol dependence in remission",
    "history of colon cancer": "personal history malignant neoplasm large intestine",
    "family history of colon cancer": "family history malignant neoplasm digestive organs",
    "history of deep vein thrombosis": "personal history other venous thrombosis embolism",
    "history of dvt": "personal history other venous thrombosis embolism",
    "pancreatic cancer": "malignant neoplasm pancreas",
    "ovarian cancer": "malignant neoplasm ovary",
    "esophageal cancer": "malignant neoplasm esophagus",
    "gastric cancer": "malignant neoplasm stomach",
    "fractured hip": "fracture neck femur",
    "broken hip": "fracture neck femur",
    "ankle fracture": "other fracture lower leg",
    "fracture of the ankle": "other fracture lower leg",
    "wrist fracture": "fracture unspecified carpal bone",
    "fracture of the wrist": "fracture unspecified carpal bone",
    "metatarsal fracture": "fracture unspecified metatarsal bone",
    "vertebral compression fracture": "collapsed vertebra",
    "newborn jaundice": "neonatal jaundice",
    "cellulitis of leg": "cellulitis unspecified part limb",
    "cellulitis of the leg": "cellulitis unspecified part limb",
}

# Words that make a description less specific, not different: they do not count against
# a document when the query lacks them, so the "unspecified" code of a concept ranks first.
_NEUTRAL: Final = frozenset(
    (
        "unspecified", "specified", "nos", "site", "initial", "encounter", "organism",
        "type", "part", "episode", "disease", "disorder", "acute", "chronic", "uncomplicated",
        "complication", "complications", "mention", "mellitus", "ear", "bilateral", "single",
        "closed", "displaced", "female", "male",
    )
)  # fmt: skip
_MARKED: Final = frozenset(("secondary", "inflammatory", "physeal", "pathological", "stress"))
"""Words that name a particular kind (a secondary neoplasm, a pathological fracture): a
code holding one when the words do not ask for it costs twice an ordinary extra word. A
cancer with nothing more said is primary (the Neoplasm Table's first column)."""
# "closed" and "displaced" above: a fracture not said to be open or nondisplaced is coded
# closed and displaced (ICD-10-CM Official Guidelines I.C.19.c.1).
_LATER_ENCOUNTER: Final = frozenset(("subsequent", "sequela"))
_WITHOUT: Final = re.compile(r"\bwithout ([a-z ]+?)(?=,|$| with\b)")
"""A "without ..." clause names what is absent: the code a coder takes when nothing more is
said, so its words do not count against a description."""
_OTHER: Final = re.compile(r"\bother\b", re.IGNORECASE)
_DIABETES: Final = re.compile(r"\bdiabet", re.IGNORECASE)
_DIABETES_TYPE: Final = re.compile(r"\b(type|due|drug|chemical|gestational|pregnancy|other)\b")
_SUFFIXES: Final = ("ies", "es", "s")
_LAY_PATTERN: Final = re.compile(
    r"\b(" + "|".join(re.escape(t) for t in sorted(LAY_TERMS, key=len, reverse=True)) + r")\b"
)


def to_classification_words(text: str) -> str:
    """``text`` with lay terms replaced by the tabular's words (longest terms first)."""
    lowered = text.lower().replace("'s ", " ").replace("\u2019s ", " ")
    return _LAY_PATTERN.sub(lambda m: LAY_TERMS[m.group(1)], lowered)


def _stem(word: str) -> str:
    """A prefix that also finds other forms (``allergies`` -> ``allerg``)."""
    if len(word) > 5:
        for suffix in _SUFFIXES:
            if word.endswith(suffix):
                return word[: -len(suffix)] if suffix != "ies" else word[:-3]
    return word


@dataclass(frozen=True, slots=True)
class Ranked:
    """One suggested document: the row of its code, the text matched, and its score."""

    row: int
    text: str
    score: float


def rank_suggestions(
    search: Icd10cmSearch,
    text: str,
    *,
    keep: Callable[[int], bool],
    limit: int,
) -> list[Ranked]:
    """The best billable documents for ``text``, one per code, best first."""
    asked = to_classification_words(text)
    wanted = [_stem(w) for w in dict.fromkeys(words_of(asked))]
    if not wanted:
        return []
    asks_other = _OTHER.search(asked) is not None
    # Diabetes of no stated type is type 2 (ICD-10-CM Official Guidelines I.C.4.a.2).
    default_type_2 = _DIABETES.search(asked) is not None and not _DIABETES_TYPE.search(asked)
    need = len(wanted) if len(wanted) <= 2 else max(2, -(-2 * len(wanted) // 3))
    best: dict[int, Ranked] = {}
    for doc, matched in search.matches(wanted).items():
        if len(matched) < need:
            continue
        row, doc_text, words = search.document(doc)
        if not keep(row):
            continue
        lowered = doc_text.lower()
        absent = {w for clause in _WITHOUT.findall(lowered) for w in clause.split()}
        extra = [
            w
            for w in words
            if w not in _NEUTRAL and w not in absent and not any(w.startswith(q) for q in wanted)
        ]
        later = any(w in _LATER_ENCOUNTER for w in words) and not any(
            q in _LATER_ENCOUNTER for q in wanted
        )
        # "Other" is a stop word of the index, yet an "other ..." code is what a coder takes
        # only when something more is documented: "unspecified" comes first.
        other = 0.5 if not asks_other and _OTHER.search(doc_text) else 0.0
        covered = len(matched) / len(wanted)
        marked = sum(1 for w in extra if w in _MARKED)
        penalty = 0.35 * (len(extra) + marked) + (0.5 if later else 0.0) + other
        score = covered * covered / (1.0 + penalty)
        if default_type_2 and _DIABETES.search(doc_text):
            score *= 1.1 if lowered.startswith("type 2") else 0.9
        earlier = best.get(row)
        if earlier is None or score > earlier.score:
            best[row] = Ranked(row, doc_text, round(min(score, 1.0), 3))
    # Among equals, the code that says "unspecified" is the one the Index gives when nothing
    # more is documented (gastritis: K29.70 before acute gastritis K29.00).
    return sorted(
        best.values(),
        key=lambda r: (-r.score, "unspecified" not in r.text.lower(), len(r.text), r.row),
    )[:limit]


_MALE_ONLY: Final = ("C60", "C61", "C62", "C63", "D074", "D075", "D076", "D29", "N4", "N50",
                     "N51", "N52", "N53", "Z125")  # fmt: skip
_FEMALE_ONLY: Final = ("C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58", "D06", "D070",
                       "D071", "D072", "D073", "D25", "D26", "D27", "D28", "N7", "N8", "N9",
                       "O", "Z30", "Z31", "Z32", "Z33", "Z34", "Z35", "Z36", "Z37", "Z39",
                       "Z3A", "Z124", "Z014")  # fmt: skip
"""Blocks of the Tabular for one sex: the male genital organs (C60-C63, D07.4-D07.6, D29,
N40-N53, prostate screening), the female genital organs and pregnancy (C51-C58, D06,
D07.0-D07.3, D25-D28, N70-N98, O00-O9A, Z30-Z3A, cervical screening, gynaecological
examination). N4 and N9 stand for N40-N49 and N90-N99 (N99 excepted below)."""
_BOTH_SEXES: Final = ("N99",)
_SEX_WORD: Final = re.compile(r"\b(female|male)\b")
_NEWBORN: Final = ("P", "Z38")
_MATERNITY_AGES: Final = (9, 64)
_ADULT_FROM: Final = 15
_PEDIATRIC_UNTIL: Final = 17


def fits_patient(code: str, description: str, age: int | None, sex: str | None) -> bool:
    """Whether a code can be the patient's, by the MCE's age and sex categories.

    Newborn codes (P00-P96, Z38) are for age 0; maternity codes for ages 9 to 64; codes
    whose description says "adult" from 15, "child" or "pediatric" through 17; the
    blocks of one sex (see ``_MALE_ONLY``) and descriptions naming one sex only for it.
    Unknown age or sex filters nothing. Suggestions only: the scrubber's own age and sex
    edits still check whatever is coded.
    """
    return _fits_age(code, description.lower(), age) and _fits_sex(code, description, sex)


def _fits_age(code: str, lowered: str, age: int | None) -> bool:
    if age is None:
        return True
    newborn = code.startswith(_NEWBORN)
    maternity = code.startswith("O")
    adult = re.search(r"\badult\b", lowered) is not None
    child = re.search(r"\b(child|pediatric)\b", lowered) is not None
    return not (
        (newborn and age > 0)
        or (maternity and not _MATERNITY_AGES[0] <= age <= _MATERNITY_AGES[1])
        or (age < _ADULT_FROM and adult and not child)
        or (age > _PEDIATRIC_UNTIL and child and not adult)
    )


def _fits_sex(code: str, description: str, sex: str | None) -> bool:
    if sex not in ("female", "male") or code.startswith(_BOTH_SEXES):
        return True
    named = set(_SEX_WORD.findall(description.lower()))
    if sex == "female":
        return not (code.startswith(_MALE_ONLY) or named == {"male"})
    return not (code.startswith(_FEMALE_ONLY) or named == {"female"})


_BMI: Final = re.compile(
    r"\b(?:bmi|body mass index)\b\D{0,12}?(less than |under |<\s*)?(\d{2}(?:\.\d)?)", re.IGNORECASE
)
_ADULT_BMI: Final = (
    (19.9, "Z681"), (20.0, "Z6820"), (21.0, "Z6821"), (22.0, "Z6822"), (23.0, "Z6823"),
    (24.0, "Z6824"), (25.0, "Z6825"), (26.0, "Z6826"), (27.0, "Z6827"), (28.0, "Z6828"),
    (29.0, "Z6829"), (30.0, "Z6830"), (31.0, "Z6831"), (32.0, "Z6832"), (33.0, "Z6833"),
    (34.0, "Z6834"), (35.0, "Z6835"), (36.0, "Z6836"), (37.0, "Z6837"), (38.0, "Z6838"),
    (39.0, "Z6839"), (40.0, "Z6841"), (45.0, "Z6842"), (50.0, "Z6843"), (60.0, "Z6844"),
    (70.0, "Z6845"),
)  # fmt: skip
"""Z68 adult codes by the lowest value of their range (19.9 or less is Z68.1)."""
_BMI_ADULT_FROM: Final = 20


def bmi_code(text: str, age: int | None) -> str | None:
    """The Z68 code for a BMI value written in ``text`` ("BMI 35", "BMI less than 19").

    Adult codes are for patients 20 or older (the Tabular's note at Z68); a child's BMI is
    coded by percentile, which the value alone does not give, so nothing is offered.
    """
    found = _BMI.search(text)
    if found is None or (age is not None and age < _BMI_ADULT_FROM):
        return None
    value = float(found.group(2))
    if found.group(1) or value < _ADULT_BMI[1][0]:
        return _ADULT_BMI[0][1]
    return next(code for low, code in reversed(_ADULT_BMI) if value >= low)


_SEMANTIC_TAG: Final = re.compile(r"\s*\([a-z /]+\)\s*$")
_NOTHING_MORE: Final = frozenset(("unspecified", "nos"))


def exact_term(text: str) -> str:
    """``text`` as the exact-term policy compares it.

    Lower case, without a trailing SNOMED CT semantic tag ("(disorder)", "(finding)"),
    punctuation, or the words that only say nothing more is known ("unspecified", "NOS"):
    "Acute bronchitis (disorder)" and "Acute bronchitis, unspecified" are the same term.
    """
    lowered = _SEMANTIC_TAG.sub("", text.lower())
    return " ".join(w for w in re.findall(r"[a-z0-9]+", lowered) if w not in _NOTHING_MORE)
