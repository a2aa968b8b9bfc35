"""Ranked ICD-10-CM suggestions for the words a clinician wrote (the text-search port).

People search with :meth:`CodeSetRegistry.search` (every word must match); suggestions
for a diagnosis written in words need more forgiveness: lay words are translated to the
classification's own (``high blood pressure`` -> ``hypertension``), plural and adjective
endings are trimmed, a document may miss a query word, and the words that only make a
code less specific (``unspecified``, ``initial encounter``) do not count against it, so
"anemia" offers D64.9 *Anemia, unspecified* before the many named anemias. The coders' index
(:mod:`codesets.coders_index`, the Alphabetic Index's entries as data) leads the words to a
code or to a subtree the Tabular's words complete, as the Index leads a coder; a lead ranks
with the Tabular's codes holding as many of the words, first among equals. Scores run
from 0 to 1 and are for ranking and for a configured acceptance threshold; suggestions
are never accepted by default (see ``fhir_coder.coding.CodingPolicy``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from codesets import suggest_shorthand, suggest_sites, suggest_tables, word_match
from codesets.coders_index import CodersIndex
from codesets.search import Icd10cmSearch, words_of
from codesets.search import stem as _stem
from codesets.suggest_cache import coders_index
from codesets.suggest_leads import Lead, QueryWord, find_leads
from codesets.suggest_shorthand import without_labels
from codesets.suggest_spell import Speller, speller_for

__all__ = [
    "ABBREVIATIONS",
    "LAY_TERMS",
    "Hierarchy",
    "Ranked",
    "bmi_code",
    "exact_term",
    "fits_patient",
    "rank_suggestions",
    "spelling",
    "to_classification_words",
    "without_bmi",
    "without_labels",
    "without_rule_out",
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
    # The Index's own entries for words the tabular does not use (issue 17, held-out list).
    "in place": "presence",
    "cholecystectomy": "acquired absence other specified parts digestive tract",
    "appendectomy": "acquired absence other specified parts digestive tract",
    "colectomy": "acquired absence other specified parts digestive tract",
    "splenectomy": "acquired absence spleen",
    "mastectomy": "acquired absence breast nipple",
    "hysterectomy": "acquired absence cervix uterus",
    "nephrectomy": "acquired absence kidney",
    "gastrectomy": "acquired absence stomach",
    "lobectomy": "acquired absence lung",
    "pneumonectomy": "acquired absence lung",
    "prostatectomy": "acquired absence genital organ",
    "choledocholithiasis": "calculus bile duct",
    "nephrolithiasis": "calculus kidney",
    "urolithiasis": "calculus urinary",
    "hiatal hernia": "diaphragmatic hernia",
    "microalbuminuria": "proteinuria",
    "numbness": "anesthesia skin",
    "tingling": "paresthesia skin",
    "hiccups": "hiccough",
    "stye": "hordeolum",
    "canker sore": "oral aphthae",
    "cephalohematoma": "cephalhematoma",
    "clubfoot": "other specified congenital deformities feet",
    "club foot": "other specified congenital deformities feet",
    "acute blood loss anemia": "acute posthemorrhagic anemia",
    "blood loss anemia": "posthemorrhagic anemia",
    "coronary stent": "coronary angioplasty implant graft",
    "home oxygen": "dependence supplemental oxygen",
    "refill": "issue repeat prescription",
    "flu shot": "immunization",
    "vaccination": "immunization",
    "prenatal visit": "supervision normal pregnancy",
    "prenatal care": "supervision normal pregnancy",
    "born in hospital": "liveborn infant",
    "sulfa": "sulfonamides",
    "basal cell carcinoma": "basal cell carcinoma",
    "squamous cell carcinoma of skin": "squamous cell carcinoma skin",
    "carcinoma in situ": "carcinoma in situ",
    "secondary cancer": "secondary malignant neoplasm",
    "new onset": "",
    "alzheimer dementia": "alzheimer disease",
    "dementia of alzheimer type": "alzheimer disease",
    "developmental delay": "lack expected normal physiological development",
    "viral syndrome": "viral infection",
    "boxer fracture": "fracture neck fifth metacarpal",
    "osteoporotic compression fracture": "age-related osteoporosis current pathological fracture",
    "overdose": "poisoning",
    "ingrown toenail": "ingrowing nail",
    "ingrown nail": "ingrowing nail",
    "glioblastoma": "malignant neoplasm brain",
    "sickle cell crisis": "hb ss disease crisis",
    "senile": "age-related",
    "menopausal symptoms": "menopausal climacteric states",
    "head lice": "pediculus capitis",
    "lice": "pediculosis",
    "anaphylaxis": "anaphylactic shock",
    "history of anaphylaxis": "personal history anaphylaxis",
    "smoker": "nicotine dependence",
    "marijuana": "cannabis",
    "psoriatic arthritis": "arthropathic psoriasis",
    "gonorrhea": "gonococcal infection",
    "lumbar strain": "strain lower back",
    "low back strain": "strain lower back",
    "hamstring strain": "strain posterior muscle group thigh",
    "sedentary lifestyle": "lack physical exercise",
    "osteopenia": "other specified disorders bone density structure",
    "crps": "complex regional pain syndrome",
}

ABBREVIATIONS: Final[dict[str, str]] = {
    # Coders' and clinicians' abbreviations and shorthand -> words (issue 17). Expanded
    # before LAY_TERMS, so an expansion may go on to the tabular's words ("h/o mi" ->
    # "history of myocardial infarction" -> "old myocardial infarction"). Each is the
    # abbreviation's usual meaning in a diagnosis; one with two common meanings there is
    # left out.
    "h/o": "history of",
    "hx": "history",
    "hx of": "history of",
    "fhx": "family history of",
    "fh": "family history of",
    "fhx of": "family history of",
    "fh of": "family history of",
    "family hx": "family history",
    "s/p": "status post",
    "w/o": "without",
    "n/v": "nausea with vomiting",
    "w/": "with",
    "d/t": "due to",  # "due to" is the Index's and Tabular's link word (I.A.15 "With")
    "2/2": "due to",
    "w": "with",
    "no": "without",
    "fx": "fracture",
    "fxs": "fracture",
    "ca": "cancer",
    "lac": "laceration",
    "exac": "exacerbation",
    "abd": "abdominal",
    "loc": "loss of consciousness",
    "bp": "blood pressure",
    "htn": "hypertension",
    "hld": "hyperlipidemia",
    "dm": "diabetes mellitus",
    "t2dm": "type 2 diabetes mellitus",
    "dm2": "type 2 diabetes mellitus",
    "dm 2": "type 2 diabetes mellitus",
    "dmii": "type 2 diabetes mellitus",
    "dm ii": "type 2 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "dm1": "type 1 diabetes mellitus",
    "dm 1": "type 1 diabetes mellitus",
    "iddm": "type 1 diabetes mellitus",
    "dka": "diabetic ketoacidosis",
    "gdm": "gestational diabetes mellitus",
    "hfref": "systolic heart failure",
    "hfpef": "diastolic heart failure",
    "heart failure with reduced ejection fraction": "systolic heart failure",
    "heart failure with preserved ejection fraction": "diastolic heart failure",
    "pe": "pulmonary embolism",
    "pvd": "peripheral vascular disease",
    "pad": "peripheral vascular disease",
    "aaa": "abdominal aortic aneurysm",
    "svt": "supraventricular tachycardia",
    "af": "atrial fibrillation",
    "with rvr": "",
    "rvr": "",
    "lbbb": "left bundle branch block",
    "rbbb": "right bundle branch block",
    "cva": "cerebral infarction",
    "stroke": "cerebral infarction",
    "heat stroke": "heatstroke",
    "old stroke": "sequelae cerebral infarction",
    "old cerebral infarction": "sequelae cerebral infarction",
    "sah": "subarachnoid hemorrhage",
    "sdh": "subdural hemorrhage",
    "cabg": "aortocoronary bypass graft",
    "aicd": "automatic implantable cardiac defibrillator",
    "cap": "pneumonia",
    "pna": "pneumonia",
    "osa": "obstructive sleep apnea",
    "rsv": "respiratory syncytial virus",
    "ards": "acute respiratory distress syndrome",
    "ild": "interstitial pulmonary disease",
    "sob": "shortness of breath",
    "tb": "tuberculosis",
    "ltbi": "latent tuberculosis",
    "mrsa": "methicillin resistant staphylococcus aureus",
    "c diff": "clostridium difficile",
    "cdiff": "clostridium difficile",
    "hcv": "hepatitis c",
    "hbv": "hepatitis b",
    "std": "infections predominantly sexual mode transmission",
    "sti": "infections predominantly sexual mode transmission",
    "aki": "acute kidney failure",
    "acute kidney injury": "acute kidney failure",
    "acute renal failure": "acute kidney failure",
    "chronic renal failure": "chronic kidney disease",
    "luts": "lower urinary tract symptoms",
    "utis": "uti",
    "sbo": "intestinal obstruction",
    "small bowel obstruction": "intestinal obstruction",
    "gi": "gastrointestinal",
    "bleed": "hemorrhage",
    "brbpr": "hemorrhage anus rectum",
    "fobt": "occult blood feces",
    "rlq": "right lower quadrant",
    "llq": "left lower quadrant",
    "ruq": "right upper quadrant",
    "luq": "left upper quadrant",
    "oa": "osteoarthritis",
    "ra": "rheumatoid arthritis",
    "sle": "systemic lupus erythematosus",
    "djd": "osteoarthritis",
    "ddd": "intervertebral disc degeneration",
    "tmj": "temporomandibular joint",
    "acl": "anterior cruciate ligament",
    "pcl": "posterior cruciate ligament",
    "mcl": "medial collateral ligament",
    "lcl": "lateral collateral ligament",
    "atfl": "talofibular ligament",
    "tka": "knee replacement",
    "tkr": "knee replacement",
    "tha": "hip replacement",
    "thr": "hip replacement",
    "bka": "acquired absence leg below knee",
    "aka": "acquired absence leg above knee",
    "bppv": "benign paroxysmal vertigo",
    "ams": "altered mental status",
    "mci": "mild cognitive impairment",
    "als": "amyotrophic lateral sclerosis",
    "tbi": "traumatic brain injury",
    "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder",
    "odd": "oppositional defiant disorder",
    "etoh": "alcohol",
    "aom": "acute otitis media",
    "om": "otitis media",
    "cll": "chronic lymphocytic leukemia",
    "cml": "chronic myeloid leukemia",
    "aml": "acute myeloid leukemia",
    "nhl": "non-hodgkin lymphoma",
    "dcis": "intraductal carcinoma in situ",
    "mets to": "secondary cancer",
    "metastasis to": "secondary cancer",
    "metastases to": "secondary cancer",
    "metastatic to": "secondary cancer",
    "metastatic cancer to": "secondary cancer",
    "metastatic disease to": "secondary cancer",
    "itp": "immune thrombocytopenic purpura",
    "pda": "patent ductus arteriosus",
    "vsd": "ventricular septal defect",
    "asd": "atrial septal defect",
    "sga": "small for gestational age",
    "prom": "premature rupture of membranes",
    "pprom": "preterm premature rupture of membranes",
    "iud": "intrauterine contraceptive device",
    "pid": "pelvic inflammatory disease",
    "cin 1": "mild cervical dysplasia",
    "cin i": "mild cervical dysplasia",
    "cin 2": "moderate cervical dysplasia",
    "cin ii": "moderate cervical dysplasia",
    "ascus": "atypical squamous cells undetermined significance",
    "c section": "cesarean delivery",
    "csection": "cesarean delivery",
    "g tube": "gastrostomy",
    "peg tube": "gastrostomy",
    "trach": "tracheostomy",
    "o2": "oxygen",
    "preop": "preprocedural",
    "pre op": "preprocedural",
    "preoperative": "preprocedural",
    "1st": "first",
    "2nd": "second",
    "3rd": "third",
    "4th": "fourth",
    "5th": "fifth",
}

_ALTERNATES: Final[dict[str, tuple[str, ...]]] = {
    # One word the tabular writes two ways: a query word also finds its other form.
    "neonatal": ("newborn",),
    "live": ("liveborn",),  # Z37 "live birth" is Z38's "liveborn"
    "newborn": ("neonatal",),
    "lung": ("pulmonary",),
    "pulmonary": ("lung",),
    "leg": ("limb", "extremity"),
    "legs": ("limb", "extremit"),
    "arm": ("limb", "extremity"),
    "both": ("bilateral",),
    "testicular": ("testis", "testicle"),
    "ovarian": ("ovary",),
    "uterine": ("uterus",),
    "hepatic": ("liver",),
    "gastric": ("stomach",),
    "stone": ("calcul",),
    "stones": ("calcul",),
    "prior": ("previous",),
    "miscarriage": ("abortion",),
    "visit": ("encounter",),
    "lid": ("eyelid",),
    "eardrum": ("tympanic",),
    "pregnant": ("pregnancy",),
    "hypertension": ("hypertensive",),
    "dependent": ("dependence",),
    "frequent": ("repeated",),
    "urinary": ("micturition", "urine"),
    "adrenal": ("adrenocortical",),
    "herniated": ("displacement",),
    "herniation": ("displacement",),
    "genital": ("urogenital", "genitalia"),
    "lipid": ("lipoid",),
    "physical": ("examination",),
    "back": ("trunk",),
    "tibial": ("tibia",),
    "femoral": ("femur",),
    "fibular": ("fibula",),
    "humeral": ("humerus",),
    "ulnar": ("ulna",),
    "clavicular": ("clavicle",),
    "vertebral": ("vertebra",),
    "postpartum": ("puerper",),
    "facial": ("face",),
    "endometrial": ("endometrium",),
    "pancreatic": ("pancreas",),
    "alcoholic": ("alcohol",),
    "tendonitis": ("tendinitis",),
    "renal": ("kidney",),
    "tendinitis": ("tendonitis",),
    "hypoxemic": ("hypoxi",),  # hypoxemic respiratory failure: "with hypoxia" (J96.x1)
}

# Words that make a description less specific, not different: they do not count against
# a document when the query lacks them, so the "unspecified" code of a concept ranks first.
_NEUTRAL: Final = frozenset(
    (
        "unspecified", "specified", "nos", "site", "initial", "encounter", "organism",
        "type", "part", "episode", "disease", "disorder", "acute", "chronic", "uncomplicated",
        "mention", "mellitus", "ear", "single", "closed", "displaced", "female", "male",
        "trimester", "applicable", "not", "s", "accidental", "presence", "essential", "severity",
    )
)  # fmt: skip
# "closed" and "displaced": a fracture not said to be open or nondisplaced is coded closed and
# displaced (ICD-10-CM Official Guidelines I.C.19.c.1); "accidental": a poisoning or toxic
# effect of no stated intent is accidental (I.C.19.e.5.b); "presence": a device or graft named
# on a problem list is its presence (Z95-Z97); "s": what is left of a possessive.
_WEAK: Final = _NEUTRAL | frozenset(
    ("right", "left", "bilateral", "unilateral", "side", "subsequent", "sequela", "routine")
)
"""Query words that cannot make a code a candidate on their own: sides, encounters and the
words of :data:`_NEUTRAL`. They still count in the score of a code that holds them."""
_MARKED: Final = frozenset(
    ("secondary", "inflammatory", "physeal", "pathological", "stress", "congenital", "iatrogenic")
)
"""Words that name a particular kind (a secondary neoplasm, a pathological fracture): a
code holding one when the words do not ask for it costs twice an ordinary extra word. A
cancer with nothing more said is primary (the Neoplasm Table's first column)."""
_LATER_ENCOUNTER: Final = frozenset(("subsequent", "sequela"))
_WITHOUT: Final = re.compile(
    r"\b(?:without|except|not specified as|not) ([a-z ]+?)(?=,|;|$| with\b| and without\b)"
)
"""A "without ..." (or "except ...", "not ...") clause names what is absent: the code a coder
takes when nothing more is said, so its words do not count against a description, and a
query's word found only there is not found (K21.9 "... without esophagitis" is not
"GERD with esophagitis"); a query's own "without ..." words are found only there."""
_WITHOUT_HEAD: Final = re.compile(
    r"\b(?:without|except|not specified as|not) (?:diagnosis of )?"
    r"[a-z ]+?(?=,|;|$| with\b| of\b| in\b| due\b)"
)
"""What a "without" clause excludes: its first words ("Laceration without foreign body of left
hand" is still the hand's), or all of "without diagnosis of X" (R03.0: no hypertension)."""
_NONESSENTIAL: Final = re.compile(r"[(\[]([^)\]]*)[)\]]")
"""Words in parentheses are nonessential modifiers and words in brackets synonyms or
explanations (ICD-10-CM Official Guidelines I.A.7 and I.A.6): they do not count against a
description ("Essential (primary) hypertension")."""
_OTHER: Final = re.compile(r"\bother\b", re.IGNORECASE)
_DIABETES: Final = re.compile(r"\bdiabet", re.IGNORECASE)
_DIABETES_TYPE: Final = re.compile(r"\b(type|due|drug|chemical|gestational|pregnancy|other)\b")
_PREGNANCY: Final = re.compile(
    r"\b(pregnan|gestation|gravid|primigravida|multigravida|maternal|matern|obstetric|postpartum|"
    r"puerper|prenatal|antepartum|intrapartum|labor|deliver|abortion|ectopic|placent|amnio|"
    r"hydramnios|fetus|fetal|eclampsia|hyperemesis|previa|breech|cesarean|membranes|lactation|"
    r"trimester|miscarriage)"
)
"""Words that put a query in pregnancy: without one, a Chapter 15 code (O00-O9A) is ranked
down, for those codes are used only when the pregnancy is documented (I.C.15.a.1)."""
_HYPERTENSIVE: Final = re.compile(r"\bhypertensive (heart|chronic kidney)")
_HYPERTENSION_WITH: Final = re.compile(
    r"\bhypertens\w*\b.*\b(heart failure|kidney disease|cardiomegaly)\b"
)
_ROMAN: Final = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}
_ROMAN_AFTER: Final = re.compile(
    r"\b(stage|type|grade|class|degree|ckd)\s+(iii|ii|iv|v|i)([ab]?)\b"
)
"""A stage, type or grade in roman numerals, as clinicians write them ("CKD stage IV", "type
II diabetes", "CKD IIIb"): the Tabular writes them in arabic ("Chronic kidney disease, stage 4
(severe)", "Type 2 diabetes mellitus", "Pressure ulcer of sacral region, stage 3", "Chronic
kidney disease, stage 3b"), a sub-stage's letter kept."""
_CONTRACTED: Final = re.compile(r"n['\u2019]t\b")
"""A contraction's "not" ("didn't finish school", "can't afford"): its letters are no word."""
_SUFFIXES: Final = ("ies", "es", "s")
_POSSESSIVE: Final = re.compile(r"['\u2019]s\b")


@functools.cache
def _abbreviation_pattern() -> re.Pattern[str]:
    """The shorthand of ``ABBREVIATIONS`` and of the abbreviations table, longest first."""
    terms = set(ABBREVIATIONS) | set(suggest_tables.abbreviations())
    return re.compile(
        r"(?<![a-z0-9/])("
        + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        + r")(?![a-z0-9])"
    )


@functools.cache
def _lay_terms() -> dict[str, str]:
    """``LAY_TERMS`` and the synonyms table (the table's row wins where both hold a term)."""
    table = {words: row.classification for words, row in suggest_tables.synonyms().items()}
    return {_uncontracted(k): v for k, v in {**LAY_TERMS, **table}.items()}


def _uncontracted(lowered: str) -> str:
    """``lowered`` with its contractions' "not" spelt out ("can't sleep": "cannot sleep")."""
    for short, long in (("can't", "cannot"), ("can\u2019t", "cannot"), ("won't", "will not")):
        lowered = lowered.replace(short, long)
    return _CONTRACTED.sub(" not", lowered)


@functools.cache
def _lay_pattern() -> re.Pattern[str]:
    """A lay term, or its plural in "s" ("pinworms")."""
    terms = _lay_terms()
    alternatives = "|".join(
        re.escape(t).replace(r"\ ", r",?\s") for t in sorted(terms, key=len, reverse=True)
    )
    return re.compile(r"\b(" + alternatives + r")(?:s)?\b")


def to_classification_words(text: str, age: int | None = None, sex: str | None = None) -> str:
    """``text`` with abbreviations spelt out, then lay terms replaced by the tabular's words.

    Longest terms first at each place; a hyphen is a space ("a-fib", "c-section"). An
    abbreviation of several meanings takes the first its context, age and sex allow (see
    :func:`readings`).
    """
    return readings(text, age, sex)[0]


def readings(text: str, age: int | None = None, sex: str | None = None) -> tuple[str, ...]:
    """``text`` in the classification's words: one reading, or two where shorthand is ambiguous.

    An abbreviation of the table with several meanings ("ED": erectile dysfunction, the
    emergency department) is read first as the meaning its conditions allow for the patient
    and the other words of the text call for, else the table's first; the second reading
    gives the first such abbreviation its next meaning, so both are offered.
    """
    lay = _lay_terms()
    pattern = _lay_pattern()
    return tuple(
        dict.fromkeys(
            _controlled(
                pattern.sub(lambda m: lay[_unpunctuated(m.group(1))], _sides_last(r, pattern))
            )
            for r in spelt_out(text, age, sex)
        )
    )


@functools.lru_cache(maxsize=1024)
def spelt_out(text: str, age: int | None = None, sex: str | None = None) -> tuple[str, ...]:
    """``text`` with its abbreviations spelt out, lay words as written (see :func:`readings`).

    The coders' index is looked up in these words as well as in the classification's: a lay
    word or an eponym is an Index entry of its own ("Attack, heart").
    """
    lowered = _uncontracted(_POSSESSIVE.sub("", text.lower())).replace("-", " ")
    lowered = _LEVELS.sub(_region, lowered)
    lowered = _ROMAN_AFTER.sub(lambda m: f"{m.group(1)} {_ROMAN[m.group(2)]}{m.group(3)}", lowered)
    table = suggest_tables.abbreviations()
    lowered = suggest_shorthand.plus_as_positive(lowered)  # "hiv+": "hiv positive"
    lowered = suggest_shorthand.unglued(  # "ckd3a": "ckd 3a"
        lowered, lambda t: t in table or t in ABBREVIATIONS or t in _lay_terms()
    )
    context = suggest_shorthand.context_words(lowered)
    choices: list[list[str]] = []

    def spell(found: re.Match[str]) -> str:
        term = found.group(1)
        meanings = table.get(term)
        if meanings is None:
            return " " + ABBREVIATIONS[term] + " "
        others = context - set(_WORD.findall(term)) - {term}
        ranked = _meanings(meanings, others, age, sex)
        if not ranked and not others:  # the shorthand alone ("PD"): as written, then its
            ranked = [term, *(m.words for m in meanings if m.fits(age, sex))]  # first meaning
        if not ranked:  # no meaning fits the patient: the words stay as written
            return found.group(0)
        choices.append(ranked)
        return "\0" + str(len(choices) - 1) + "\0"

    marked = _abbreviation_pattern().sub(spell, lowered)
    out = [_fill(marked, [c[0] for c in choices])]
    ambiguous = next((i for i, c in enumerate(choices) if len(c) > 1), None)
    if ambiguous is not None:
        second = [c[1] if i == ambiguous else c[0] for i, c in enumerate(choices)]
        out.append(_fill(marked, second))
    return tuple(out)


def _sides_last(reading: str, lay: re.Pattern[str]) -> str:
    """``reading`` with a side's words moved to the end, unless a lay term holds one.

    A lay term is a phrase ("hip fracture", "ringing in ears") that a side inside it breaks
    ("fracture right hip"); the ranking weighs words, not their order, so the side counts the
    same at the end. A lay term of its own with a side ("right lower quadrant") keeps it.
    """
    words = reading.split()
    sides = [w for w in words if w in _SIDE_WORDS]
    joined = " ".join(words)
    if not sides or any(
        not _SIDE_WORDS.isdisjoint(m.group(0).split()) for m in lay.finditer(joined)
    ):
        return joined
    return " ".join([w for w in words if w not in _SIDE_WORDS] + sides)


_SIDE_WORDS: Final = frozenset(("right", "left", "bilateral", "both"))


def _controlled(reading: str) -> str:
    """Diabetes said to be poorly controlled is diabetes with hyperglycemia.

    The Index: Diabetes, poorly controlled (inadequately controlled, out of control) - code to
    Diabetes, by type, with hyperglycemia. Other conditions' control words are left as written.
    """
    if "diabet" not in reading:
        return reading
    return _POORLY_CONTROLLED.sub(" with hyperglycemia ", reading)


_POORLY_CONTROLLED: Final = re.compile(
    r"\b(?:poorly|inadequately|suboptimally|sub optimally|not well|badly|uncontrolled)"
    r"(?: controlled)?\b|\bout of control\b|\bnot (?:under )?control(?:led)?\b"
)


def without_rule_out(text: str) -> str:
    """``text`` without a "rule out ..." clause that follows what was found.

    An uncertain diagnosis is not coded in the outpatient setting: the symptom or sign is
    (ICD-10-CM Official Guidelines IV.H): "cough, r/o pneumonia" is the cough. Where nothing
    comes before the clause, the words stay as written.
    """
    found = _RULE_OUT.search(text)
    if found is None or not _ANY_WORD.search(text[: found.start()]):
        return text
    return text[: found.start()].rstrip(" ,;(")


_RULE_OUT: Final = re.compile(r"[,;(]?\s*\b(?:to )?(?:r/o|rule out|rule-out)\s", re.IGNORECASE)
_ANY_WORD: Final = re.compile(r"[A-Za-z0-9]")


def _unpunctuated(term: str) -> str:
    """A lay term as the table writes it ("use disorder, severe" is "use disorder severe")."""
    return term.replace(",", "")


def _meanings(
    meanings: tuple[suggest_tables.Expansion, ...],
    context: set[str],
    age: int | None,
    sex: str | None,
) -> list[str]:
    """The words of each meaning the patient allows: those the context calls for first."""
    fitting = [m for m in meanings if m.fits(age, sex)]
    called = [m for m in fitting if m.context and not m.context.isdisjoint(context)]
    plain = [m for m in fitting if not m.context]
    if not called and not plain:  # "as needed": no meaning is called for, the words stay
        return []
    rest = [m for m in fitting if m.context and m.context.isdisjoint(context)]
    return list(dict.fromkeys(m.words for m in (*called, *plain, *rest)))


def _fill(marked: str, words: list[str]) -> str:
    return _MARK.sub(lambda m: " " + words[int(m.group(1))] + " ", marked)


_MARK: Final = re.compile("\0(\\d+)\0")
_WORD: Final = re.compile(r"[a-z0-9]+")


_LEVELS: Final = re.compile(r"\b([clts])(\d{1,2})(?:\s*(?:to\s+)?([clts])?(\d{1,2}))?\b")
_REGIONS: Final = {
    "c": "cervical", "t": "thoracic", "l": "lumbar", "s": "sacral", "ct": "cervicothoracic",
    "tl": "thoracolumbar", "ls": "lumbosacral", "sl": "lumbosacral",
}  # fmt: skip


def _region(found: re.Match[str]) -> str:
    """A spinal level ("L4-L5", "C5-6", "L5-S1") as the region the tabular names.

    The levels follow the region ("T12": "thoracic t12"): where the Tabular names the level
    (S22.08- "T11-T12 vertebra"), :func:`codesets.suggest_sites.spinal_levels` reads them.
    """
    first, second = found.group(1), found.group(3) or found.group(1)
    if found.group(4) is None and found.group(3) is None and not found.group(2):
        return found.group(0)
    region = _REGIONS.get(first if first == second else first + second)
    if region is None:
        return found.group(0)
    levels = f"{first}{found.group(2)}" + (f" {second}{found.group(4)}" if found.group(4) else "")
    return f"{region} {levels}"


_CHOOSING: Final = frozenset(
    _stem(w)
    for w in (
        "right", "left", "bilateral", "unilateral", "side", "subsequent", "sequela", "initial",
        "encounter", "routine", "trimester", "first", "second", "third", "r", "l", "rt", "lt",
        "bilat", "od", "os", "ou", "au",
    )
)  # fmt: skip
"""Words that choose among a code's family (side, encounter, trimester): an index row's
subtree is ranked with them (:mod:`codesets.suggest_variants`); see :data:`_COMPLETES`."""
_SAYS_LITTLE: Final = frozenset(_stem(w) for w in _NEUTRAL) - _CHOOSING
"""Words that say little of the condition: they count half in an index row's strength."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """One suggested document: the row of its code, the text matched, and its score."""

    row: int
    text: str
    score: float
    led: bool = False
    """Reached through the coders' index: among equal scores, it comes first."""
    tabular: float = 0.0
    """For a code reached through the coders' index, how well the Tabular's words alone rank
    it: among led codes of equal scores, the higher first ("Colles fx R wrist": S52.531A, not
    the wrist's carpal bone S62.101A, both led by entries holding as many of the words)."""


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """What the ranking asks of the Tabular's hierarchy, by row.

    ``unspecified_beside(row)``: whether the code has an "unspecified" sibling; where it has
    none, its "other ..." code is the one the Index gives when nothing more is said, and is
    not ranked down for the word. ``below(row, term)``: a header's billable codes for one of
    its inclusion terms (none for its own description, which its codes repeat), each with
    the words its description adds to the header's ("right ankle, initial encounter"): a
    header's inclusion term is the Tabular's word for every code under it (S93.49 "Sprain of
    talofibular ligament"). ``inherited(row)``: the descriptions of a code's headers below
    its category; their words are the code's too when a query word is looked for (I26.92
    "Saddle embolus of pulmonary artery" is a "pulmonary embolism", its header), never
    counted against it.
    """

    unspecified_beside: Callable[[int], bool]
    below: Callable[[int, str], tuple[tuple[int, str], ...]]
    inherited: Callable[[int], tuple[str, ...]]
    subtree: Callable[[str], tuple[tuple[int, str, tuple[str, ...]], ...]] | None = None
    """``subtree(code)``: the billable codes a coders' index row's code leads to (the code's
    own row, or the billable codes below a header), each with its description and inclusion
    terms; none for a code the Tabular lacks."""


def rank_suggestions(
    search: Icd10cmSearch,
    text: str,
    *,
    keep: Callable[[int], bool],
    limit: int,
    hierarchy: Hierarchy | None = None,
    age: int | None = None,
    sex: str | None = None,
    relax: bool = True,
) -> list[Ranked]:
    """The best billable documents for ``text``, one per code, best first.

    Without ``hierarchy``, "other" always costs and each document stands alone. Where an
    abbreviation has two meanings for the patient, the second reading's codes come after
    the first's, with their scores scaled by :data:`_SECOND_READING`. Where no code holds
    enough of the words, fewer are asked for (unless ``relax`` is False: the caller has a
    code the words name outright): a coder sees the nearest codes, not nothing.
    """
    best: dict[int, Ranked] = {}
    speller = spelling(search)
    text = speller.american(text)  # a British spelling is the word itself
    asked_all = readings(text, age, sex)
    corrected = speller.corrected(text)
    if corrected is not None:  # a misspelt word's nearest: a reading after the words' own
        asked_all = tuple(dict.fromkeys((*asked_all, *readings(corrected, age, sex))))
    if hierarchy is not None and hierarchy.subtree is not None:
        for ranked in _led(text, (age, sex), asked_all, keep, hierarchy, hierarchy.subtree):
            best[ranked.row] = ranked
    for number, asked in enumerate(asked_all):
        query = _query_of(asked)
        if query is None:
            continue
        memo: dict[int, list[tuple[int, str, float]]] = {}
        found = _ranked(search, query, keep, limit, hierarchy, memo)
        while relax and len(found) <= _FEW and query.need > 1:
            # Next to none: the nearest codes holding fewer of the words follow, below them
            # ("depression with suicidal ideation": R45.851, then F32.A).
            query = replace(query, need=query.need - 1)
            more = _ranked(search, query, keep, limit, hierarchy, memo)
            seen = {r.row for r in found}
            below = min((r.score for r in found), default=1.0)
            found += [
                Ranked(r.row, r.text, min(r.score, round(below * 0.99, 3)))
                for r in more
                if r.row not in seen
            ][: limit - len(found)]
        weight = 1.0 if number == 0 else _SECOND_READING
        for ranked in found:
            score = round(ranked.score * weight, 3)
            earlier = best.get(ranked.row)
            if earlier is None or score > earlier.score:
                best[ranked.row] = Ranked(ranked.row, ranked.text, score)
    return sorted(best.values(), key=_order)[:limit]


def spelling(search: Icd10cmSearch) -> Speller:
    """Spelling tolerance (:mod:`codesets.suggest_spell`) over ``search``'s words and these.

    Its vocabulary is also the one a query word is matched by (:mod:`codesets.word_match`: a
    complete word finds the same word, a fragment the words it starts).
    """
    speller = speller_for(search, lambda: (*ABBREVIATIONS, *_lay_terms()))
    if word_match.use(speller.vocabulary):  # another code set's words: forms made anew
        _query_of.cache_clear()
    return speller


def _led(
    text: str,
    patient: tuple[int | None, str | None],
    asked_all: tuple[str, ...],
    keep: Callable[[int], bool],
    hierarchy: Hierarchy,
    subtree: Callable[[str], tuple[tuple[int, str, tuple[str, ...]], ...]],
) -> list[Ranked]:
    """The codes the coders' index leads the words to (:mod:`codesets.suggest_leads`).

    The words are looked up as written (lay words and eponyms are Index entries too: "Attack,
    heart") and in each reading in the classification's words. A header's codes are ranked
    by the Tabular's words inside its subtree (side, "unspecified" first; the initial
    encounter, whose 7th character the words choose afterwards), one of each kind. Each code
    scores the share of the words its term and its own description hold together (the
    Index leads to the place, the Tabular completes it: "AOM right ear" is H66.91), squared,
    never above the code before it in its subtree; among equal scores, how well the Tabular's
    words alone rank it decides (:attr:`Ranked.tabular`).
    """
    index = coders_index()
    if not index.rows:
        return []
    strongest: dict[int, tuple[float, Lead, tuple[QueryWord, ...]]] = {}
    for query, weight, lost in _index_readings(text, patient, asked_all):
        for lead, words_here in _leads_of(index, _query_words(query), lost, subtree):
            key = id(lead.row)
            earlier = strongest.get(key)
            if earlier is None or lead.strength * weight > earlier[1].strength * earlier[0]:
                strongest[key] = (weight, lead, words_here)
    # Inside a subtree the initial encounter is ranked, as elsewhere: the words of a later
    # one choose its 7th character afterwards (CodeSetRegistry._slots_chosen).
    within = _query_of(_LATER.sub(" ", asked_all[0])) if asked_all else None
    out: dict[int, Ranked] = {}
    chosen = sorted(strongest.values(), key=lambda s: -s[0] * s[1].strength)[:_LEADS]
    for weight, lead, words in chosen:
        rows = [found for found in subtree(lead.row.code) if keep(found[0])]
        if rows:
            ranked_rows = _within(rows, within, lead, hierarchy)
            levels = within.levels if within is not None else ()
            for ranked in _lead_codes(lead, words, weight, ranked_rows, levels):
                shown = out.get(ranked.row)
                if shown is None or (ranked.score, ranked.tabular) > (shown.score, shown.tabular):
                    out[ranked.row] = ranked
    return list(out.values())


def _leads_of(
    index: CodersIndex,
    words: tuple[QueryWord, ...],
    lost: tuple[bool, ...],
    subtree: Callable[[str], tuple[tuple[int, str, tuple[str, ...]], ...]],
) -> list[tuple[Lead, tuple[QueryWord, ...]]]:
    """The leads of ``words``, each with the words it is scored with.

    A reading with ``lost`` words leads only through an entry holding one (see
    :func:`_index_readings`); a limb's site an entry lacks weighs as its category decides
    (:func:`codesets.suggest_sites.weighed`).
    """
    out = []
    for found in find_leads(index, words, _LEADS):
        if lost and not any(h and g for h, g in zip(found.held, lost, strict=True)):
            continue
        weighed = suggest_sites.weighed(found, words, subtree)
        if weighed is not None:
            out.append(weighed)
    return out


def _lead_codes(
    lead: Lead,
    words: tuple[QueryWord, ...],
    weight: float,
    ranked: list[tuple[int, str, float]],
    levels: tuple[str, ...] = (),
) -> list[Ranked]:
    """The codes one lead offers: its subtree's best ``ranked``, each scored (see :func:`_led`).

    A code whose description is "without" a word said is not offered ("HTN, HFrEF and CKD 3"
    is no I13.10, "... without heart failure"); one naming none of the spinal ``levels`` said
    scores a little less (:func:`codesets.suggest_sites.level_factor`).
    """
    total = sum(w.weight for w in words)
    before = 1.0
    out = []
    for row, description, tabular in ranked[:_PER_LEAD]:
        read = _read(description)
        if any(
            not w.absent
            and _Query.finds(w.forms, read.absent)
            and not _Query.finds(w.forms, read.ordered)
            for w in words
        ):
            continue
        held = sum(
            w.weight
            for w, h in zip(words, lead.held, strict=True)
            if h or (not w.absent and _Query.finds(w.forms, read.ordered))
        )
        share = held / total
        factor = suggest_sites.level_factor(levels, description) if levels else 1.0
        led = round(min(share * share * weight * factor, before), 3)
        before = led - 0.001
        out.append(Ranked(row, f"Index: {lead.row.term}", led, led=True, tabular=tabular))
    return out


def _as_itself(word: str, text: str | None = None) -> str:
    """A query word matched by its start (no vocabulary in use: :func:`spelling` not asked)."""
    return text or word


@functools.lru_cache(maxsize=4096)
def _query_of(asked: str) -> _Query | None:
    """:meth:`_Query.of`, kept: the ranking and the coders' index read the same readings."""
    return _Query.of(asked)


def _index_readings(
    text: str, patient: tuple[int | None, str | None], asked_all: tuple[str, ...]
) -> list[tuple[_Query, float, tuple[bool, ...]]]:
    """The readings the coders' index is looked up in, each with its weight.

    The words with their abbreviations spelt out (:func:`spelt_out`), then the classification
    readings that differ (:data:`_LAY_READING`), then the words as written where spelling out
    lost one an Index entry may hold ("mini-stroke" is an entry; "stroke" is spelt out as
    "cerebral infarction"): that reading comes with which of its words were lost, and leads
    only through an entry holding one, so shorthand's own letters lead nowhere ("hx of kidney
    stones" is no lead to "Stone, kidney").
    """
    spelt = spelt_out(text, *patient)
    found: list[tuple[_Query, float, tuple[bool, ...]]] = [
        (query, (1.0 if n == 0 else _SECOND_READING) * weight, ())
        for readings_of, weight in ((spelt, 1.0), (asked_all, _LAY_READING))
        for n, a in enumerate(readings_of)
        if (weight == 1.0 or a not in spelt) and (query := _query_of(a)) is not None
    ]
    raw = _query_of(_as_written(text))
    if raw is not None:
        said = {w.forms[0] for query, _, _ in found for w in _query_words(query)}
        lost = tuple(w.forms[0] not in said for w in _query_words(raw))
        if any(lost):
            found.append((raw, 1.0, lost))
    return found


def _as_written(text: str) -> str:
    """``text`` lower case, possessives and contractions undone, hyphens as spaces."""
    return _uncontracted(_POSSESSIVE.sub("", text.lower())).replace("-", " ")


def _query_words(query: _Query) -> tuple[QueryWord, ...]:
    """The query's words as the coders' index weighs them (:class:`QueryWord`)."""
    return tuple(
        QueryWord(
            forms,
            _COMPLETES
            if q in _CHOOSING
            else 0.5
            if q in _SAYS_LITTLE
            else _REASON
            if q in _REASONS
            else suggest_sites.lead_weight(q),
            absent=q in query.absent_wanted,
            site=suggest_sites.is_limb_site(q),
        )
        for q, forms in zip(query.wanted, query.forms, strict=True)
    )


_REASON: Final = 2.0
_REASONS: Final = frozenset(
    _stem(w)
    for w in (
        "history", "family", "personal", "screening", "examination", "exam", "status",
        "absence", "aftercare", "contact", "exposure", "carrier", "counseling", "observation",
    )
)  # fmt: skip
"""Words that make the code another kind of code altogether (the Index's main terms for the
Z codes: History, Screening, Status, Absence, Contact, Exposure...): they count twice, so an
entry for the condition alone is no lead for its history ("hx of kidney stones": Z87.442,
not "Calculus, kidney")."""
_COMPLETES: Final = 0.25
"""The weight of a side or an encounter word: it costs a code whose term and description lack
it a little (bilateral sensorineural hearing loss is H90.3, not the Index's H90.5 for no side
said)."""


_LAY_READING: Final = 0.98
"""An index row reached only through the words' classification reading (lay words replaced)
leads a little less than one reached by the words as written: "ankle fracture" is the Index's
"Fracture, ankle" before the Tabular's "other fracture of lower leg" it is also read as."""
_LEADS: Final = 8
"""How many of the strongest index rows are turned into codes."""
_OWN_WORDS: Final = 0.001
_PER_LEAD: Final = 3
"""At most this many codes of one header's subtree: the best, then the nearest other kinds
(a side or an encounter of the same kind is chosen afterwards, not listed)."""
_LATER: Final = re.compile(r"\b(?:subsequent|sequela)\b")
_IN_SUBTREE: Final = 0.95
"""A header's codes after its best rank just below it (other leads may come between)."""


def _within(
    rows: list[tuple[int, str, tuple[str, ...]]],
    query: _Query | None,
    lead: Lead,
    hierarchy: Hierarchy,
) -> list[tuple[int, str, float]]:
    """A header's billable ``rows`` as the Tabular's words rank them for ``query``, with scores.

    Every code is scored by its description and inclusion terms, however few of the words
    they hold (the Index has already chosen the subtree), as if each held the ``lead``'s term's
    words too: those words are said of every code the entry leads to, so they decide nothing
    more inside it ("chest wall contusion": the Index's S20.2-, then the unspecified S20.20XA,
    not the back wall's code for its word "wall"); a side, the initial encounter,
    "unspecified" above "other" decide, as they do elsewhere.
    """
    anything = replace(query, need=0) if query is not None else None
    term = " ".join(sorted(lead.row.required | lead.row.optional))
    initial = [found for found in rows if not _read(found[1]).later]
    scored = []
    for row, description, terms in initial or rows:  # a later encounter's: its 7th character
        score = 0.0
        if anything is not None:
            for text in (description, *terms):
                said = f"{text}; {term}"
                score = max(score, anything.score(said, said, row, hierarchy) or 0.0)
        scored.append((score, row, description, terms))
    if anything is not None and len(scored) > 1:
        # Among equals, the description's own words ("cellulitis of right arm": the upper
        # limb's L03.113, not the axilla's L03.111, though the Index's "arm" is said of both),
        # asked only of the codes that may be taken.
        near = sorted({found[0] for found in scored}, reverse=True)[: _PER_LEAD + 1][-1]
        scored = [
            (
                score
                + _OWN_WORDS
                * max(anything.score(t, t, row, hierarchy) or 0.0 for t in (description, *terms)),
                row,
                description,
                terms,
            )
            if score >= near
            else (score, row, description, terms)
            for score, row, description, terms in scored
        ]
    ranked_all = [Ranked(row, description, score) for score, row, description, _ in scored]
    out: list[tuple[int, str, float]] = []
    kinds: set[str] = set()
    for ranked in sorted(ranked_all, key=_order):
        kind = _kind(ranked.text)
        if kind not in kinds:  # one of each kind: its side and encounter are chosen later
            kinds.add(kind)
            out.append((ranked.row, ranked.text, ranked.score))
    return out


def _kind(description: str) -> str:
    """A description without its side and encounter: the codes of one kind share it."""
    lowered = _ENCOUNTER_PART.sub("", description.lower())
    return " ".join(w for w in _WORD.findall(lowered) if w not in _SIDE_OR_NOTHING)


_ENCOUNTER_PART: Final = re.compile(r",? (?:initial|subsequent) encounter\b.*$|, sequela$")
_SIDE_OR_NOTHING: Final = frozenset(("right", "left", "bilateral", "unspecified", "side"))


_FEW: Final = 2
"""At most this many codes holding enough of the words: fewer words are asked for too."""
_SECOND_READING: Final = 0.8
"""A second meaning of an abbreviation ranks below the first's close matches."""


def _ranked(
    search: Icd10cmSearch,
    query: _Query,
    keep: Callable[[int], bool],
    limit: int,
    hierarchy: Hierarchy | None,
    memo: dict[int, list[tuple[int, str, float]]],
) -> list[Ranked]:
    """The best codes for ``query``; ``memo``: the codes each document gave a pass before.

    A score does not depend on how many words are needed, only whether there is one: a
    document scored when more words were needed scores the same when fewer are, so the
    passes asking for fewer words (:func:`rank_suggestions`) do not score it again.
    """
    best: dict[int, Ranked] = {}
    for docs in _by_words_held(search, query):
        if len(best) >= limit and docs[0] < sorted(r.score for r in best.values())[-limit]:
            break
        for doc in docs[1]:
            scored = memo.get(doc)
            if scored is None:
                scored = _scored(search, query, doc, keep, hierarchy)
                if scored:
                    memo[doc] = scored
            for row, shown, score in scored:
                earlier = best.get(row)
                if earlier is None or score > earlier.score:
                    best[row] = Ranked(row, shown, round(min(score, 1.0), 3))
    # Among equals, the code that says "unspecified" (or "NOS") is the one the Index gives
    # when nothing more is documented (gastritis: K29.70 before acute gastritis K29.00).
    return sorted(best.values(), key=_order)[:limit]


def _by_words_held(search: Icd10cmSearch, query: _Query) -> list[tuple[float, list[int]]]:
    """The documents holding enough query words (as word starts), most first.

    A document must hold at least one word that is not :data:`_WEAK` ("initial encounter"
    alone names no condition), so the many codes a side or an encounter word reaches are
    never scored. Each group comes with the best score it could reach: a score is at most
    the share of the words covered, squared, so once enough codes score above a group's
    reach, it is not scored.
    """
    strong = search.counts(
        f for f, w in zip(query.forms, query.wanted, strict=True) if w not in query.weak
    )
    weak = search.counts(
        f for f, w in zip(query.forms, query.wanted, strict=True) if w in query.weak
    )
    by_count: dict[int, list[int]] = {}
    for doc, count in strong.items():
        total = count + weak.get(doc, 0)
        if total >= query.need:
            by_count.setdefault(total, []).append(doc)
    return [
        ((count / len(query.wanted)) ** 2 * _MOST_BOOST, by_count[count])
        for count in sorted(by_count, reverse=True)
    ]


def _scored(
    search: Icd10cmSearch,
    query: _Query,
    doc: int,
    keep: Callable[[int], bool],
    hierarchy: Hierarchy | None,
) -> list[tuple[int, str, float]]:
    """The codes one document suggests, with the text shown and the score."""
    row, doc_text, _ = search.document(doc)
    if keep(row):
        score = query.score(doc_text, doc_text, row, hierarchy)
        return [] if score is None else [(row, doc_text, score)]
    if hierarchy is None:
        return []
    found = []
    for code_row, added in hierarchy.below(row, doc_text):
        if keep(code_row):
            score = query.score(f"{doc_text}; {added}", added, code_row, hierarchy)
            if score is not None:
                found.append((code_row, doc_text, score * _FROM_HEADER))
    return found


def _order(ranked: Ranked) -> tuple[float, bool, float, bool, bool, int, int]:
    lowered = ranked.text.lower()
    nos = _NOS.search(lowered) is not None
    return (
        -ranked.score,
        not ranked.led,
        -ranked.tabular,
        "unspecified" not in lowered,
        not nos,
        len(ranked.text),
        ranked.row,
    )


_NOS: Final = re.compile(r"\bnos\b")


_FROM_HEADER: Final = 0.97
"""A code found through its header's inclusion term ranks just below an equal own term."""
_INHERITED: Final = 0.7
"""A query word found only in a code's headers counts for less than one in its own words."""
_MOST_BOOST: Final = 1.2
"""The largest factor a score is multiplied by (hypertension's combination codes)."""


@functools.lru_cache(maxsize=65_536)
def _above(descriptions: tuple[str, ...]) -> tuple[str, ...]:
    """The words of a code's headers, what their "without" clauses exclude left out, sorted."""
    return tuple(sorted({w for text in descriptions for w in _read(text).seen}))


@dataclass(frozen=True, slots=True)
class _Text:
    """What the ranking reads in one description or inclusion term, whatever the query."""

    lowered: str
    words: tuple[str, ...]
    absent: frozenset[str]
    present: frozenset[str]
    seen: frozenset[str]
    ordered: tuple[str, ...]
    """``seen``, sorted: a word start is looked up by bisection (:meth:`_Query.finds`)."""
    loose: frozenset[str]
    other: bool
    dominance: bool
    pregnancy: bool
    hypertensive: bool
    diabetes: bool
    type_2: bool
    later: bool


@functools.lru_cache(maxsize=65_536)
def _read(text: str) -> _Text:
    lowered = text.lower()
    words = tuple(dict.fromkeys(words_of(lowered)))
    seen = frozenset(words_of(_WITHOUT_HEAD.sub(" ", lowered)))
    return _Text(
        lowered=lowered,
        words=words,
        absent=frozenset(words_of(" ".join(_WITHOUT.findall(lowered)))),
        present=frozenset(words_of(_WITHOUT.sub(" ", lowered))),
        # The first words of a "without" clause are what it excludes; a site after "of" is
        # still the code's ("Laceration without foreign body of left hand").
        seen=seen,
        ordered=tuple(sorted(seen)),
        loose=frozenset(words_of(" ".join(_NONESSENTIAL.findall(lowered)))),
        other=_OTHER.search(lowered) is not None,
        dominance=_DOMINANCE.search(lowered) is not None,
        pregnancy=_PREGNANCY.search(lowered) is not None,
        hypertensive=_HYPERTENSIVE.search(lowered) is not None,
        diabetes=_DIABETES.search(lowered) is not None,
        type_2=lowered.startswith("type 2"),
        later=not _LATER_ENCOUNTER.isdisjoint(words),
    )


@dataclass(frozen=True, slots=True)
class _Query:
    """The words asked, in the classification's words, and what the ranking needs of them."""

    asked: str
    wanted: tuple[str, ...]
    alias: dict[str, str]
    forms: tuple[tuple[str, ...], ...]
    findable: tuple[str, ...]
    absent_wanted: frozenset[str]
    weak: frozenset[str]
    need: int
    asks_other: bool
    asks_later: bool
    default_type_2: bool
    pregnancy: bool
    hypertension_with: bool
    side: re.Pattern[str] | None
    sites: suggest_sites.Sites = ()
    """Site words the Tabular names otherwise (:func:`suggest_sites.site_cost`)."""
    levels: tuple[str, ...] = ()
    """The words naming the spinal levels said (:func:`suggest_sites.level_cost`)."""
    found_words: frozenset[str] = frozenset()
    """Every word a form of ``findable`` finds as a whole (:func:`word_match.reach`)."""
    found_starts: tuple[str, ...] = ()
    """The fragments of ``findable``: they find every word they start."""

    @classmethod
    def of(cls, asked: str) -> _Query | None:
        """The query for ``asked``, already in the classification's words (see :func:`readings`)."""
        if "absence" in asked:  # "status post splenectomy": the organ's absence, not a device
            asked = asked.replace("presence", " ")
        words = list(dict.fromkeys(words_of(asked)))
        words, levels = suggest_sites.spinal_levels(words)  # "thoracic t12": t12 finds thoracic
        # A complete word finds the same word, a fragment the words it starts (word_match).
        vocabulary = word_match.in_use()
        form = vocabulary.form if vocabulary is not None else _as_itself
        wanted = tuple(dict.fromkeys(form(w, _stem(w)) for w in words))
        if not wanted:
            return None
        # A query word's other spelling in the tabular counts as the word itself.
        sites = suggest_sites.alternates(words, levels)  # armpit: axilla; one side: unilateral
        alias = {
            form(alt): _stem(w)
            for w in words
            for alt in (*_ALTERNATES.get(w, ()), *sites.get(w, ()))
            if alt not in wanted
        }
        absent = {_stem(w) for clause in _WITHOUT.findall(asked) for w in words_of(clause)}
        side = _side_default(wanted)
        findable = (*wanted, *alias, *suggest_sites.tolerated(words), *levels.names)
        found_words, found_starts = word_match.reach(findable)
        weak = frozenset(_stem(w) for w in words if w in _WEAK)
        if weak >= set(wanted):  # only weak words asked: each is the query's own
            weak = frozenset()
        return cls(
            asked=asked,
            wanted=wanted,
            alias=alias,
            forms=tuple((q, *(a for a, of in alias.items() if of == q)) for q in wanted),
            findable=findable,
            absent_wanted=frozenset(absent & set(wanted)),
            weak=weak,
            need=len(wanted) if len(wanted) <= 2 else max(2, -(-2 * len(wanted) // 3)),
            asks_other=_OTHER.search(asked) is not None,
            asks_later=any(q in _LATER_ENCOUNTER for q in wanted),
            # Diabetes of no stated type is type 2 (ICD-10-CM Official Guidelines I.C.4.a.2).
            default_type_2=_DIABETES.search(asked) is not None and not _DIABETES_TYPE.search(asked),
            pregnancy=_PREGNANCY.search(asked) is not None,
            # Hypertension with heart failure, cardiomegaly (LVH, I51.7) or chronic kidney
            # disease is coded as their combination (I.C.9.a.1-3): the link is presumed.
            hypertension_with=_HYPERTENSION_WITH.search(asked) is not None,
            side=re.compile(side) if side else None,
            sites=suggest_sites.sites_of(words),
            levels=levels.names,
            found_words=found_words,
            found_starts=found_starts,
        )

    @staticmethod
    def finds(forms: tuple[str, ...], words: frozenset[str] | tuple[str, ...]) -> bool:
        """Whether a word of ``words`` is what one of ``forms`` asks for (:func:`word_match.finds`).

        ``words`` sorted (a tuple) is searched by bisection; the ranking asks this of every
        code it scores.
        """
        return word_match.finds(forms, words)

    def _found(self, word: str) -> bool:
        """Whether a query word (or its other spelling) finds ``word`` (:func:`word_match.same`).

        Asked of every word of every code scored: a set lookup and one ``startswith``.
        """
        return word in self.found_words or (
            bool(self.found_starts) and word.startswith(self.found_starts)
        )

    def _matched(self, doc: _Text, above: tuple[str, ...]) -> float:
        """How many query words ``doc`` holds (one found only in its headers' words: less)."""
        matched = 0.0
        for q, forms in zip(self.wanted, self.forms, strict=True):
            if q in self.absent_wanted:
                matched += self.finds(forms, doc.absent) and not self.finds(forms, doc.present)
            elif self.finds(forms, doc.ordered):
                matched += 1.0
            elif above and self.finds(forms, above):
                matched += _INHERITED
        return matched

    def score(self, text: str, own: str, row: int, hierarchy: Hierarchy | None) -> float | None:
        """The score of code ``row`` whose words are ``text`` (``own``: its own words).

        None when it holds too few of the query's words.
        """
        doc = _read(text)
        above = _above(hierarchy.inherited(row)) if hierarchy is not None else ()
        matched = self._matched(doc, above)
        if matched < self.need:
            return None
        side_words: frozenset[str] = frozenset()
        if self.side is not None and doc.dominance and self.side.search(doc.lowered):
            side_words = _DOMINANCE_WORDS
        extra = [
            w
            for w in doc.words
            if w not in _NEUTRAL
            and w not in doc.absent
            and w not in doc.loose
            and w not in side_words
            and not self._found(w)
        ]
        mine = _read(own) if own is not text else doc
        # "Other" is a stop word of the index, yet an "other ..." code is what a coder takes
        # only when something more is documented: "unspecified" comes first, where there is one.
        other = (
            0.5
            if mine.other
            and not self.asks_other
            and (hierarchy is None or hierarchy.unspecified_beside(row))
            else 0.0
        )
        covered = matched / len(self.wanted)
        marked = sum(1 for w in extra if w in _MARKED)
        later = 0.5 if doc.later and not self.asks_later else 0.0
        penalty = 0.35 * (len(extra) + marked) + later + other
        if self.side is not None and doc.dominance and not side_words:
            penalty += 0.35
        if doc.pregnancy and not self.pregnancy:
            penalty += 0.5
        if self.sites:
            penalty += suggest_sites.site_cost(self.sites, doc.ordered)
        if self.levels:
            penalty += suggest_sites.level_cost(self.levels, doc.ordered)
        score = covered * covered / (1.0 + penalty)
        if self.default_type_2 and mine.diabetes:
            score *= 1.1 if mine.type_2 else 0.9
        if self.hypertension_with and doc.hypertensive:
            score *= _MOST_BOOST
        return score


_DOMINANCE: Final = re.compile(r"dominant\b")
_DOMINANCE_WORDS: Final = frozenset(("non", "dominant", "nondominant"))


def _side_default(wanted: tuple[str, ...]) -> str | None:
    """Which side's dominance to take when a side is named and dominance is not.

    ICD-10-CM Official Guidelines I.C.6.a (hemiplegia) and I.C.9.d.1 (sequelae of
    cerebrovascular disease): the right side affected defaults to dominant, the left to
    non-dominant.
    """
    if any(q.startswith(("dominan", "nondominan")) or q == "non" for q in wanted):
        return None
    right, left = "right" in wanted, "left" in wanted
    if right == left:
        return None
    return r"\bright dominant\b" if right else r"\bleft non[- ]?dominant\b"


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


def without_bmi(text: str) -> str:
    """``text`` without its BMI value ("obesity, BMI 35" -> "obesity, "): what else it names."""
    return _BMI.sub(" ", text)


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
