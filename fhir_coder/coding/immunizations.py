"""Vaccines given during the encounter: the vaccine product and its administration.

A vaccine is billed as two kinds of line (CPT's vaccine and toxoid codes, 90476-90759, with
the administration codes 90460-90474): the product, from the vaccine's CVX code through
the crosswalk (CDC publishes the CVX-to-CPT mapping: ``codesets/data/curated``), and its
administration, chosen here:

* through age 18, with counselling by a physician or other qualified professional: 90460
  for each vaccine's first component and 90461 for each further component (a component is
  an antigen against one disease: DTaP has three). Whether counselling was given is in the
  documentation, so these lines are marked for a coder's confirmation; without it the
  codes below apply instead;
* otherwise 90471 for the first injected vaccine and 90472 for each further one, 90473 and
  90474 when the vaccine is given by mouth or nose;
* when the payer is Medicare, influenza, pneumococcal and hepatitis B vaccines are
  administered under G0008, G0009 and G0010 instead (and do not count in the sequence above).
  Medicare is known from the Coverage, never from the payer's name: ``Coverage.type``'s
  Source of Payment Typology code (1, 11, 121...: Medicare; any other: not), else the
  payer's identifier among the organisation's Medicare payers (``medicare_payers``). When
  neither says, the CPT codes are used and the line is marked for a coder.

The encounter gets Z23, *Encounter for immunization* (ICD-10-CM Official Guidelines
I.C.21.c.2): first-listed when the vaccines are all it was for, else a secondary code (the
inoculation as a routine part of preventive care or beside another reason for the visit).
The vaccine lines point at it.

An Immunization that is not ``completed`` is not billed, with a note; one whose vaccine has
no product code says why (a note when the crosswalk says it is never billed, else a
coder's task). On an inpatient stay a vaccine is a charge of the stay's revenue lines, or
(Medicare's influenza and pneumococcal vaccines) billed on a Part B claim of its own, never a
CPT line of the stay (see :func:`_during_stay`).
"""

from __future__ import annotations

from typing import Final

from fhir_coder.coding.checks import usable_code
from fhir_coder.coding.context import CodingContext
from fhir_coder.model import (
    CodedLine,
    Coding,
    CodingMethod,
    CoverageRef,
    DiagnosisRole,
    GuidelineChange,
    Immunization,
)
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.systems import CPT, CVX, HCPCS, ICD10CM, SOPT
from fhir_coder.values import replace

__all__ = ["code_immunizations", "first_payer_is_medicare", "is_medicare", "vaccination_diagnosis"]

VACCINATION: Final = "Z23"
"""Encounter for immunization (ICD-10-CM Official Guidelines I.C.21.c.2)."""

COMPONENTS: Final = {
    "90700": 3,  # DTaP
    "90715": 3,  # Tdap
    "90714": 2,  # Td
    "90707": 3,  # MMR
    "90710": 4,  # MMRV
    "90696": 4,  # DTaP-IPV
    "90723": 5,  # DTaP-HepB-IPV
    "90698": 5,  # DTaP-IPV/Hib
    "90636": 2,  # HepA-HepB
}
"""Antigens (one per disease prevented) of combination vaccines, by product code: each one
after the first is a unit of 90461. Every other vaccine has one component."""

_BY_MOUTH_OR_NOSE: Final = frozenset({"90680", "90681", "90690", "90660", "90672"})
"""Rotavirus and oral typhoid (by mouth), live attenuated influenza (intranasal)."""
_ROUTES_BY_MOUTH_OR_NOSE: Final = frozenset({"PO", "NASINHL", "NASINHLC", "NASAL", "IN"})

_MEDICARE_ADMIN: Final = {
    "G0008": frozenset(
        [
            "90630",
            "90653",
            "90654",
            "90655",
            "90656",
            "90657",
            "90658",
            "90660",
            "90661",
            "90662",
            "90672",
            "90673",
            "90674",
            "90682",
            "90685",
            "90686",
            "90687",
            "90688",
            "90689",
            "90694",
            "90756",
        ]
    ),
    "G0009": frozenset({"90670", "90671", "90677", "90732"}),
    "G0010": frozenset({"90739", "90740", "90743", "90744", "90746", "90747", "90759"}),
}
"""Medicare's own administration codes and the vaccine products (influenza, pneumococcal,
hepatitis B) they are used with, in place of 90460-90474."""

_COUNSELLED_UNTIL: Final = 18
"""90460 and 90461 are for patients through 18 years of age."""


def code_immunizations(
    context: CodingContext, issues: list[Issue], charges: list[CodedLine] | None = None
) -> list[CodedLine]:
    """The product and administration lines of the encounter's vaccines (unmerged).

    On an inpatient stay there are none: ``charges`` receives the vaccines the facility
    charges on the stay's revenue lines (see :func:`_during_stay`).
    """
    if charges is None:
        charges = []
    encounter = context.encounter
    if not encounter.immunizations:
        return []
    given: list[tuple[Immunization, CodedLine]] = []
    for immunization in encounter.immunizations:
        product = _product(context, immunization, issues)
        if product is not None:
            given.append((immunization, product))
    if not given:
        return []
    if encounter.encounter_class.is_inpatient:
        for immunization, product in given:
            issues.append(_during_stay(context, immunization, product, charges))
        return []
    lines = [product for _, product in given]
    lines.extend(_administration(context, given, issues))
    return lines


_PART_B_ON_ITS_OWN_CLAIM: Final = frozenset(_MEDICARE_ADMIN["G0008"] | _MEDICARE_ADMIN["G0009"])
"""Influenza and pneumococcal vaccines: Medicare pays them under Part B even when given to a
hospital inpatient, so they are not part of the Part A stay's claim."""


def _during_stay(
    context: CodingContext,
    immunization: Immunization,
    product: CodedLine,
    charges: list[CodedLine],
) -> Issue:
    """A vaccine given during a stay: a charge, a claim of its own, or a coder's task.

    A coder's task when the payer's type decides and nobody states it.

    The stay's claim (UB-04, 837I) charges drugs by revenue code, not by CPT line, and an
    injection given by the ward's nurses is part of the routine nursing care billed in room
    and board, not an administration charge of its own. Medicare pays influenza and
    pneumococcal vaccines under Part B whatever the setting (Medicare Claims Processing
    Manual, Pub. 100-04, ch. 18, section 10): the hospital bills them with their
    administration (G0008/G0009) on an inpatient Part B claim, type of bill 12X, not on the
    Part A stay's claim. Medicare's hepatitis B vaccine (G0010) is left to a coder: whether
    the stay's claim carries it depends on the patient's Part B eligibility and risk, which
    the record does not state.
    """
    source = immunization.source.reference
    medicare = first_payer_is_medicare(context)
    own_claim = product.code in _PART_B_ON_ITS_OWN_CLAIM
    medicare_code = next(
        (code for code, products in _MEDICARE_ADMIN.items() if product.code in products), None
    )
    if medicare and own_claim:
        return Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source}: vaccine {product.code} during an inpatient stay is not billed on the "
            f"stay's claim: Medicare pays influenza and pneumococcal vaccines under Part B, "
            f"billed with {medicare_code} on an inpatient Part B claim (type of bill 12X; "
            "Medicare Claims Processing Manual, Pub. 100-04, ch. 18, section 10)",
            rule="PROC-NOT-BILLED",
            source=source,
            fix=f"bill {product.code} and {medicare_code} on the 12X claim",
        )
    if medicare_code is not None and medicare is not False:
        coverages = context.encounter.coverages
        why = (
            "the payer's type decides whether it is billed on the stay's claim or on a Part B "
            f"claim of its own (type of bill 12X, with {medicare_code}), and "
            f"{coverages[0].reference if coverages else 'no Coverage'} states none"
            if medicare is None
            else "Medicare's hepatitis B vaccine is billed with G0010 when the patient's "
            "Part B coverage and risk allow, which the record does not state"
        )
        return Issue(
            Severity.WARNING,
            IssueCode.INCOMPLETE,
            f"{source}: vaccine {product.code} was given during an inpatient stay: {why}: "
            "needs a coder",
            rule="NEEDS-CODER-INPATIENT-VACCINE",
            expression=("Coverage.type",),
            fix="record Coverage.type (or FHIR_CODER_MEDICARE_PAYERS), or bill it by hand",
            source=source,
        )
    charges.append(replace(product, reason_codes=()))
    return Issue(
        Severity.INFORMATION,
        IssueCode.INFORMATIONAL,
        f"{source}: vaccine {product.code} during an inpatient stay is charged on the stay's "
        "revenue lines (the chargemaster's row for the vaccine), not as a CPT line; its "
        "administration is part of the stay's nursing care, not a charge of its own",
        rule="VACCINE-CHARGED-ON-STAY",
        source=source,
        fix="nothing to code; the chargemaster rates the vaccine by its product code or CVX",
    )


def _product(
    context: CodingContext, immunization: Immunization, issues: list[Issue]
) -> CodedLine | None:
    source = immunization.source.reference
    if immunization.status and immunization.status != "completed":
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{source} is {immunization.status}: no vaccine was given, nothing is billed",
                rule="VACCINE-NOT-GIVEN",
                source=source,
            )
        )
        return None
    cvx = next((c for c in immunization.vaccine if c.system == CVX), None)
    found = (
        context.crosswalks.translate(
            CVX, cvx.code, CPT, on=context.on, age=context.age, sex=context.sex
        )
        if cvx is not None and context.crosswalks is not None
        else ()
    )
    usable = [t for t in found if t.equivalence not in ("unmatched", "disjoint")]
    if not usable:
        issues.append(_no_product(context, immunization, cvx))
        return None
    translation = usable[0]
    checked = usable_code(
        context,
        CPT,
        translation.code,
        source=source,
        element="Immunization.vaccineCode",
        how=f"for CVX {cvx.code if cvx else ''} on {source}",
        issues=issues,
    )
    if checked is None:
        return None
    if translation.needs_review:
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{source}: vaccine product {translation.code} for CVX "
                f"{cvx.code if cvx else ''} rests on an assumption: a coder confirms "
                f"({translation.rule})",
                rule="SERVICE-CODE-UNCONFIRMED",
                expression=("Claim.item.productOrService",),
                fix="confirm the product code from the dose given",
                source=source,
            )
        )
    return CodedLine(
        system=CPT,
        code=translation.code,
        display=checked.description,
        source=immunization.source,
        source_coding=cvx,
        method=CodingMethod.CROSSWALK,
        confidence=0.6 if translation.needs_review else 0.9,
        release=checked.release,
        performed=immunization.occurred or context.on,
        rule=f"{translation.source}: {translation.rule}",
        needs_review=translation.needs_review,
        reason_codes=(VACCINATION,),
    )


def _no_product(context: CodingContext, immunization: Immunization, cvx: Coding | None) -> Issue:
    source = immunization.source.reference
    what = ", ".join(f"{c.system}|{c.code}" for c in immunization.vaccine) or "no code"
    answer = (
        context.crosswalks.no_target(CVX, cvx.code, CPT)
        if cvx is not None and context.crosswalks is not None
        else None
    )
    if answer is not None and not answer.reported:
        return Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{source} ({what}) is not billed: {answer.reason}",
            rule="PROC-NOT-BILLED",
            source=source,
        )
    why = answer.reason if answer is not None else "no CVX code with a vaccine product code"
    return Issue(
        Severity.WARNING,
        IssueCode.INCOMPLETE,
        f"{source} ({what}): {why}: needs a coder",
        rule="NEEDS-CODER-VACCINE",
        expression=("Immunization.vaccineCode",),
        fix="add the vaccine product and administration codes by hand",
        source=source,
    )


def is_medicare(coverage: CoverageRef, medicare_payers: frozenset[str]) -> bool | None:
    """Whether ``coverage`` is Medicare; None when neither its type nor its payer says.

    ``Coverage.type`` in the Source of Payment Typology decides (codes 1, 11, 111, 121...
    are Medicare, Medicare Advantage included; every other code is not). Without one, the
    payer's identifier, reference or id among the organisation's ``medicare_payers``
    decides, and with that list configured a payer outside it is not Medicare.
    """
    for coding in coverage.types:
        if coding.system == SOPT and coding.code.strip():
            return coding.code.strip().startswith("1")
    if not medicare_payers:
        return None
    reference = coverage.payer_reference
    names = {*coverage.payer_identifiers, reference, reference.rpartition("/")[2]}
    return bool(names & medicare_payers)


def first_payer_is_medicare(context: CodingContext) -> bool | None:
    """Whether the first payer of the encounter is Medicare (None: unknown, no payer: no)."""
    coverages = context.encounter.coverages
    if not coverages:
        return False
    return is_medicare(coverages[0], context.policy.medicare_payers)


def vaccination_diagnosis(
    context: CodingContext,
    diagnoses: list[CodedLine],
    procedures: tuple[CodedLine, ...],
    issues: list[Issue],
) -> list[CodedLine]:
    """``diagnoses`` with Z23 added last when vaccine lines were billed (I.C.21.c.2).

    Added last, it is first-listed only when nothing else was coded (an encounter for the
    vaccines alone) and secondary otherwise, as the guideline sequences it. An encounter
    that already has Z23 (a Condition coded so) gets no second one.
    """
    if not context.encounter.immunizations:
        return diagnoses
    given = {i.source.reference for i in context.encounter.immunizations}
    vaccine = next((line for line in procedures if line.source.reference in given), None)
    if vaccine is None or any(line.code == VACCINATION for line in diagnoses):
        return diagnoses
    checked = usable_code(
        context,
        ICD10CM,
        VACCINATION,
        source=vaccine.source.reference,
        element="Immunization",
        how=f"for the vaccines given on {context.encounter.reference}",
        issues=issues,
    )
    if checked is None:
        return diagnoses
    line = CodedLine(
        system=ICD10CM,
        code=VACCINATION,
        display=checked.description,
        source=vaccine.source,
        source_coding=None,
        method=CodingMethod.TABLE,
        confidence=0.95,
        release=checked.release,
        role=DiagnosisRole.SECONDARY,
        rule=f"vaccines billed from {', '.join(sorted(given))}",
        changes=(
            GuidelineChange(
                rule="VACCINATION-Z23",
                citation="ICD-10-CM Official Guidelines I.C.21.c.2",
                note="encounter for immunization: first-listed when the vaccines are all "
                "the encounter was for, else secondary",
            ),
        ),
    )
    return [*diagnoses, line]


def _administration(
    context: CodingContext, given: list[tuple[Immunization, CodedLine]], issues: list[Issue]
) -> list[CodedLine]:
    """One administration line per unit; the caller merges equal lines into units."""
    medicare = first_payer_is_medicare(context)
    counselled = context.age is not None and context.age <= _COUNSELLED_UNTIL
    chosen: list[tuple[Immunization, CodedLine, str, str, str]] = []
    sequenced: list[tuple[Immunization, CodedLine, bool]] = []
    unsure: set[str] = set()  # Immunizations whose administration code the payer type decides
    for immunization, product in given:
        g_code = next(
            (code for code, products in _MEDICARE_ADMIN.items() if product.code in products),
            None,
        )
        if medicare and g_code is not None:
            chosen.append((immunization, product, HCPCS, g_code, "the payer is Medicare"))
            continue
        if medicare is None and g_code is not None:
            issues.append(_payer_unknown(context, immunization, product.code, g_code))
            unsure.add(immunization.source.reference)
        oral = product.code in _BY_MOUTH_OR_NOSE or immunization.route in _ROUTES_BY_MOUTH_OR_NOSE
        sequenced.append((immunization, product, oral))
    if counselled and sequenced:
        for immunization, product, _ in sequenced:
            chosen.append((immunization, product, CPT, "90460", "with counselling, age 18 or less"))
            chosen.extend(
                (immunization, product, CPT, "90461", "each further component")
                for _ in range(COMPONENTS.get(product.code, 1) - 1)
            )
        issues.append(
            Issue(
                Severity.WARNING,
                IssueCode.INCOMPLETE,
                f"{context.encounter.reference}: 90460/90461 assume a physician or other "
                "qualified professional counselled the patient or family about each "
                "vaccine; without that documentation 90471-90474 apply: a coder confirms",
                rule="VACCINE-COUNSELLING-UNCONFIRMED",
                expression=("Claim.item.productOrService",),
                fix="confirm the counselling in the documentation or use 90471-90474",
                source=context.encounter.reference,
            )
        )
    else:
        # Injections first: the visit's first administration is 90471 when any vaccine
        # was injected, 90473 only when all went by mouth or nose.
        sequenced.sort(key=lambda item: item[2])
        for position, (immunization, product, oral) in enumerate(sequenced):
            first = position == 0
            code = ("90473" if first else "90474") if oral else ("90471" if first else "90472")
            chosen.append((immunization, product, CPT, code, "administration"))
    lines: list[CodedLine] = []
    for immunization, product, system, code, why in chosen:
        review = immunization.source.reference in unsure
        line = _admin_line(context, immunization, product, (system, code, why), review, issues)
        if line is not None:
            lines.append(line)
    return lines


def _payer_unknown(
    context: CodingContext, immunization: Immunization, product: str, g_code: str
) -> Issue:
    """The administration code of a Medicare vaccine rests on a payer type nobody stated."""
    coverage = context.encounter.coverages[0].reference
    return Issue(
        Severity.WARNING,
        IssueCode.INCOMPLETE,
        f"{immunization.source}: {product} is administered under {g_code} when the payer "
        f"is Medicare, under 90460-90474 otherwise; {coverage} states no payer type (a "
        "Source of Payment Typology code in Coverage.type) and its payer is not among the "
        "configured Medicare payers: a coder confirms",
        rule="VACCINE-PAYER-TYPE-UNKNOWN",
        expression=("Coverage.type",),
        fix=f"record Coverage.type, or list the payer in FHIR_CODER_MEDICARE_PAYERS; "
        f"use {g_code} for Medicare",
        source=immunization.source.reference,
    )


def _admin_line(
    context: CodingContext,
    immunization: Immunization,
    product: CodedLine,
    chosen: tuple[str, str, str],
    unsure: bool,
    issues: list[Issue],
) -> CodedLine | None:
    """An administration line, checked like every other code (None, with the finding).

    ``chosen`` is the system, code and why; ``unsure`` marks a line whose code the payer's
    unknown type decides.
    """
    system, code, why = chosen
    checked = usable_code(
        context,
        system,
        code,
        source=immunization.source.reference,
        element="Immunization",
        how=f"administering {product.code} on {immunization.source}",
        issues=issues,
    )
    if checked is None:
        return None
    review = unsure or code in ("90460", "90461")
    return CodedLine(
        system=system,
        code=code,
        display=checked.description,
        source=immunization.source,
        source_coding=product.source_coding,
        method=CodingMethod.TABLE,
        confidence=0.6 if review else 0.9,
        release=checked.release,
        performed=product.performed,
        rule=f"vaccine administration: {code} ({why}) for {product.code}",
        needs_review=review,
        reason_codes=(VACCINATION,),
    )
