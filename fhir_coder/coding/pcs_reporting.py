"""Which procedures of an inpatient stay are reported in ICD-10-PCS: the facility's policy.

The Uniform Hospital Discharge Data Set (UHDDS, item 12) asks inpatient claims for the
*significant* procedures: those surgical in nature, or carrying a procedural risk, or an
anaesthetic risk, or needing specialised training. The ICD-10-PCS Official Guidelines for
Coding and Reporting say how to build a code, not which procedures to code; which other
procedures a hospital reports is its own policy, and most do not code imaging, ECGs,
routine laboratory work, therapies or assessments of a stay in ICD-10-PCS: those are
charged through the chargemaster on the stay's revenue lines.

An organisation chooses (``CodingPolicy.pcs_reporting``, ``FHIR_CODER_PCS_REPORTING``):

* ``significant`` (the default): a procedure the table below finds not significant is
  "not reported in ICD-10-PCS" with that reason (its charge goes to the stay's revenue
  lines); a significant one without a determinable code stays a coder's task;
* ``all``: every procedure is reported, and one without a code is a coder's task.

The table classes a code by its section and, where the section mixes both kinds, by
further characters (``.`` stands for any value of that axis). It also classes a partial
code, an ICD-10-PCS table with the axes a concept leaves open written ``.``
(``B24....``: an ultrasound of the heart): the most specific rule that surely applies
decides, unless an open axis could select a more specific rule with the other answer,
and then a coder decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = ["PCS_REPORTING", "PcsRule", "is_reported", "significance"]

PCS_REPORTING: Final = ("significant", "all")
"""The values of the organisation's setting: UHDDS significant procedures only, or all."""

_UHDDS: Final = "UHDDS item 12, significant procedure"


@dataclass(frozen=True, slots=True)
class PcsRule:
    """A class of ICD-10-PCS codes (``.`` any value of the axis) and whether it is significant."""

    pattern: str
    significant: bool
    reason: str

    @property
    def specificity(self) -> int:
        """How many axes the rule fixes: the more, the more specific."""
        return sum(char != "." for char in self.pattern)


def _yes(pattern: str, reason: str) -> PcsRule:
    return PcsRule(pattern, significant=True, reason=reason)


def _no(pattern: str, reason: str) -> PcsRule:
    return PcsRule(pattern, significant=False, reason=reason)


RULES: Final[tuple[PcsRule, ...]] = (
    _yes("0", "Medical and Surgical section: surgical in nature"),
    _yes("1", "Obstetrics section: deliveries and procedures on the products of "
       "conception carry a procedural risk and need specialised training"),
    _no("2", "Placement section (casts, splints, dressings, packing, traction): routine "
       "care without a procedural risk"),
    _no("3", "Administration section: routine drug, fluid and nutrition administration, "
       "charged on the pharmacy and supply revenue lines"),
    _yes("30", "transfusion of blood or blood products: carries a procedural risk "
       "(transfusion reaction)"),
    _yes("3E0..0", "chemotherapy (antineoplastic introduced): needs specialised training "
       "and carries a procedural risk"),
    _yes("3E0..1", "thrombolytic introduced: carries a procedural risk and changes the "
       "MS-DRG (ischaemic stroke with thrombolytic)"),
    _yes("3E1M.9", "peritoneal dialysis: carries a procedural risk, as haemodialysis does"),
    _no("4", "Measurement and Monitoring section (ECGs, EEGs, pressures, monitoring): "
       "diagnostic tests charged on the stay's revenue lines"),
    _yes("4A023", "cardiac catheterisation (percutaneous sampling and pressure): carries a "
       "procedural risk and needs specialised training"),
    _yes("5", "Extracorporeal or Systemic Assistance and Performance section (mechanical "
       "ventilation, dialysis, cardioversion, circulatory support): procedural risk, and "
       "ventilation hours change the MS-DRG"),
    _yes("6", "Extracorporeal or Systemic Therapies section (pheresis, hyperbaric oxygen, "
       "phototherapy): specialised equipment and training"),
    _no("7", "Osteopathic section: manipulative treatment, a therapy"),
    _no("8", "Other Procedures section (acupuncture, robotic or computer assistance): no "
       "risk of its own beside the procedure it assists"),
    _no("9", "Chiropractic section: manipulation, a therapy"),
    _no("B", "Imaging section: diagnostic imaging charged on the stay's revenue lines"),
    _no("C", "Nuclear Medicine section: diagnostic imaging charged on the stay's revenue "
       "lines"),
    _yes("D", "Radiation Therapy section: needs specialised training"),
    _no("F", "Physical Rehabilitation and Diagnostic Audiology section: therapies and "
       "assessments charged on the therapy revenue lines"),
    _no("G", "Mental Health section: therapies and assessments charged on the stay's "
       "revenue lines"),
    _yes("GZB", "electroconvulsive therapy: carries an anaesthetic risk"),
    _no("H", "Substance Abuse Treatment section: counselling and therapies charged on the "
       "stay's revenue lines"),
    _yes("X", "New Technology section: reported for CMS's new-technology add-on payments"),
)  # fmt: skip
"""The default classes, each with its reason against the UHDDS definition."""


def significance(code: str) -> PcsRule | None:
    """The rule that classes ``code`` (a full code or a ``.``-pattern); None when undecided.

    None when no rule applies (not an ICD-10-PCS section), or when an axis the pattern
    leaves open could select a more specific rule with the other answer (``3E0....``:
    the substance decides between chemotherapy and a routine injection).
    """
    return _significance(code.strip().upper())


@lru_cache(maxsize=4096)
def _significance(code: str) -> PcsRule | None:
    """:func:`significance` of a stripped, upper-case code, remembered per code.

    A function of the code and :data:`RULES` alone (a constant), so an answer cannot go
    stale; bounded, and a hospital's stays share their codes.
    """
    sure: PcsRule | None = None
    possible: list[PcsRule] = []
    for rule in RULES:
        if len(rule.pattern) > len(code):
            continue
        pairs = [(p, c) for p, c in zip(rule.pattern, code, strict=False) if p != "."]
        if all(p == c for p, c in pairs):
            if sure is None or rule.specificity > sure.specificity:
                sure = rule
        elif all(c in (p, ".") for p, c in pairs):
            possible.append(rule)
    if sure is None:
        return None
    if any(
        r.specificity > sure.specificity and r.significant != sure.significant for r in possible
    ):
        return None
    return sure


def is_reported(code: str, reporting: str) -> tuple[bool | None, str]:
    """Whether a stay's procedure with ``code`` is reported under ``reporting``, and why.

    ``(True, "")`` under ``all``; under ``significant``, the class's answer and reason
    (``None`` when the open axes of a pattern leave it undecided: a coder decides).
    """
    if reporting == "all":
        return True, ""
    rule = significance(code)
    if rule is None:
        return None, ""
    return rule.significant, f"{rule.reason} ({_UHDDS})"
