"""The curated vocabulary the seeder draws from: conditions, procedures, names, payers.

Each condition pairs a SNOMED CT concept with the ICD-10-CM code a coder would bill for it
(FY2026, billable, checked by a test against the CMS code list). Procedures carry CPT codes
only as bare codes: CPT descriptors are AMA copyright, so no CPT text appears anywhere in
the sandbox. Names and organisations are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONDITIONS",
    "FAMILY_NAMES",
    "FEMALE_NAMES",
    "MALE_NAMES",
    "PAYERS",
    "PRACTITIONER_NAMES",
    "PROCEDURES",
    "ConditionSpec",
    "PayerSpec",
    "ProcedureSpec",
]


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """A diagnosis: SNOMED concept, billable ICD-10-CM code (dotted), and where it is seen.

    ``settings`` holds the encounter classes it fits (``A`` ambulatory, ``E`` emergency,
    ``I`` inpatient); ``hcc`` marks codes Epic shows with a ``(CMS/HCC)`` suffix.
    """

    snomed: str
    snomed_display: str
    icd10cm: str
    name: str
    settings: str
    min_age: int = 0
    hcc: bool = False

    @property
    def category(self) -> str:
        """The three-character ICD-10-CM category (a header, unless the code is one)."""
        return self.icd10cm[:3]


@dataclass(frozen=True, slots=True)
class ProcedureSpec:
    """A procedure: SNOMED concept and, for outpatient settings, a bare CPT code."""

    snomed: str
    snomed_display: str
    cpt: str | None
    settings: str


@dataclass(frozen=True, slots=True)
class PayerSpec:
    """A payer organisation and the source-of-payment code of its plans."""

    org_id: str
    name: str
    payer_id: str
    sop_code: str
    sop_display: str
    member_prefix: str


C = ConditionSpec
CONDITIONS: tuple[ConditionSpec, ...] = (
    C("38341003", "Hypertensive disorder, systemic arterial (disorder)", "I10",
      "Essential hypertension", "AI", 18),
    C("44054006", "Diabetes mellitus type 2 (disorder)", "E11.9",
      "Type 2 diabetes mellitus without complications", "AI", 18, hcc=True),
    C("55822004", "Hyperlipidemia (disorder)", "E78.5", "Hyperlipidemia", "A", 18),
    C("10509002", "Acute bronchitis (disorder)", "J20.9", "Acute bronchitis", "AE"),
    C("195662009", "Acute viral pharyngitis (disorder)", "J02.9", "Acute pharyngitis", "AE"),
    C("43878008", "Streptococcal sore throat (disorder)", "J02.0",
      "Streptococcal pharyngitis", "AE"),
    C("15805002", "Acute sinusitis (disorder)", "J01.90", "Acute sinusitis", "A"),
    C("195967001", "Asthma (disorder)", "J45.909", "Asthma", "AE"),
    C("13645005", "Chronic obstructive lung disease (disorder)", "J44.9",
      "Chronic obstructive pulmonary disease", "AEI", 40, hcc=True),
    C("65363002", "Otitis media (disorder)", "H66.90", "Otitis media", "AE"),
    C("49436004", "Atrial fibrillation (disorder)", "I48.91", "Atrial fibrillation", "AEI",
      40, hcc=True),
    C("53741008", "Coronary arteriosclerosis (disorder)", "I25.10", "Coronary artery disease",
      "AI", 40),
    C("22298006", "Myocardial infarction (disorder)", "I21.9", "Acute myocardial infarction",
      "EI", 40, hcc=True),
    C("230690007", "Cerebrovascular accident (disorder)", "I63.9", "Cerebral infarction", "EI",
      40, hcc=True),
    C("84114007", "Heart failure (disorder)", "I50.9", "Heart failure", "AEI", 40, hcc=True),
    C("233604007", "Pneumonia (disorder)", "J18.9", "Pneumonia", "EI"),
    C("68566005", "Urinary tract infectious disease (disorder)", "N39.0",
      "Urinary tract infection", "AEI"),
    C("35489007", "Depressive disorder (disorder)", "F32.A", "Depression", "A", 12),
    C("197480006", "Anxiety disorder (disorder)", "F41.9", "Anxiety disorder", "A", 12),
    C("40930008", "Hypothyroidism (disorder)", "E03.9", "Hypothyroidism", "A", 18),
    C("414916001", "Obesity (disorder)", "E66.9", "Obesity", "A", 6),
    C("69896004", "Rheumatoid arthritis (disorder)", "M06.9", "Rheumatoid arthritis", "A", 18,
      hcc=True),
    C("239873007", "Osteoarthritis of knee (disorder)", "M17.10", "Osteoarthritis of knee", "A",
      40),
    C("279039007", "Low back pain (finding)", "M54.50", "Low back pain", "AE", 12),
    C("37796009", "Migraine (disorder)", "G43.909", "Migraine", "AE", 8),
    C("84757009", "Epilepsy (disorder)", "G40.909", "Epilepsy", "AEI", 0, hcc=True),
    C("709044004", "Chronic kidney disease (disorder)", "N18.9", "Chronic kidney disease", "AI",
      40),
    C("235595009", "Gastroesophageal reflux disease (disorder)", "K21.9",
      "Gastro-esophageal reflux disease", "A", 12),
    C("271737000", "Anemia (disorder)", "D64.9", "Anemia", "AI"),
    C("15777000", "Prediabetes (finding)", "R73.03", "Prediabetes", "A", 18),
    C("29857009", "Chest pain (finding)", "R07.9", "Chest pain", "E", 18),
    C("21522001", "Abdominal pain (finding)", "R10.9", "Abdominal pain", "E"),
    C("44465007", "Sprain of ankle (disorder)", "S93.409A",
      "Sprain of ankle, initial encounter", "E", 4),
    C("65966004", "Fracture of forearm (disorder)", "S52.90XA",
      "Closed fracture of forearm, initial encounter", "E", 2),
    C("74400008", "Appendicitis (disorder)", "K37", "Appendicitis", "EI", 4),
    C("26929004", "Alzheimer's disease (disorder)", "G30.9", "Alzheimer's disease", "AI", 60,
      hcc=True),
)  # fmt: skip

P = ProcedureSpec
PROCEDURES: tuple[ProcedureSpec, ...] = (
    P("43396009", "Hemoglobin A1c measurement (procedure)", "83036", "A"),
    P("29303009", "Electrocardiographic procedure (procedure)", "93000", "AE"),
    P("399208008", "Plain X-ray of chest (procedure)", "71046", "AE"),
    P("117015009", "Throat culture (procedure)", "87070", "A"),
    P("127783003", "Spirometry (procedure)", "94010", "A"),
    P("26604007", "Complete blood count (procedure)", "85025", "AE"),
    P("16254007", "Lipid panel (procedure)", "80061", "A"),
    P("33879002", "Administration of vaccine to produce active immunity (procedure)", "90471",
      "A"),
    P("76601001", "Intramuscular injection (procedure)", "96372", "AE"),
    P("288086009", "Suture open wound (procedure)", "12002", "E"),
    P("73761001", "Colonoscopy (procedure)", "45378", "A"),
    P("80146002", "Excision of appendix (procedure)", None, "I"),
    P("232717009", "Coronary artery bypass grafting (procedure)", None, "I"),
    P("415070008", "Percutaneous coronary intervention (procedure)", None, "I"),
    P("40701008", "Echocardiography (procedure)", None, "I"),
)  # fmt: skip

PAYERS: tuple[PayerSpec, ...] = (
    PayerSpec("org-payer-medicare", "Medicare (sandbox)", "MCR01", "1", "MEDICARE", "MB"),
    PayerSpec("org-payer-medicaid", "Riverside Medicaid Plan", "RMP02", "2", "MEDICAID", "MD"),
    PayerSpec("org-payer-lakeshore", "Lakeshore Health Plan", "LHP03", "5",
              "PRIVATE HEALTH INSURANCE", "LH"),
)  # fmt: skip

FEMALE_NAMES = ("Maria", "Olivia", "Aisha", "Mei", "Sofia", "Grace", "Hannah", "Priya", "Elena")
MALE_NAMES = ("James", "Mateo", "Wei", "Omar", "Lucas", "Samuel", "Diego", "Arjun", "Noah")
FAMILY_NAMES = (
    "Alvarez", "Bennett", "Chen", "Dubois", "Eriksen", "Fofana", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nguyen", "Okafor", "Patel", "Quinn", "Rossi",
)  # fmt: skip
PRACTITIONER_NAMES = (
    ("Avery", "Whitfield"), ("Jordan", "Castellanos"), ("Riley", "Nakamura"),
    ("Morgan", "Adeyemi"), ("Casey", "Lindgren"), ("Taylor", "Brennan"),
)  # fmt: skip
