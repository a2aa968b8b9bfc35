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

__all__ = ["LAY_TERMS", "Ranked", "rank_suggestions", "to_classification_words"]

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
}

# Words that make a description less specific, not different: they do not count against
# a document when the query lacks them, so the "unspecified" code of a concept ranks first.
_NEUTRAL: Final = frozenset(
    (
        "unspecified", "specified", "nos", "site", "initial", "encounter", "organism",
        "type", "part", "episode", "disease", "disorder", "acute", "chronic", "uncomplicated",
        "complication", "complications", "mention", "mellitus", "ear", "bilateral", "single",
    )
)  # fmt: skip
_LATER_ENCOUNTER: Final = frozenset(("subsequent", "sequela"))
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
    wanted = [_stem(w) for w in dict.fromkeys(words_of(to_classification_words(text)))]
    if not wanted:
        return []
    need = len(wanted) if len(wanted) <= 2 else max(2, -(-2 * len(wanted) // 3))
    best: dict[int, Ranked] = {}
    for doc, matched in search.matches(wanted).items():
        if len(matched) < need:
            continue
        row, doc_text, words = search.document(doc)
        if not keep(row):
            continue
        extra = [w for w in words if w not in _NEUTRAL and not any(w.startswith(q) for q in wanted)]
        later = any(w in _LATER_ENCOUNTER for w in words) and not any(
            q in _LATER_ENCOUNTER for q in wanted
        )
        covered = len(matched) / len(wanted)
        score = covered * covered / (1.0 + 0.35 * len(extra) + (0.5 if later else 0.0))
        earlier = best.get(row)
        if earlier is None or score > earlier.score:
            best[row] = Ranked(row, doc_text, round(min(score, 1.0), 3))
    return sorted(best.values(), key=lambda r: (-r.score, len(r.text), r.row))[:limit]
