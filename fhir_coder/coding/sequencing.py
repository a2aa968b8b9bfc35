"""Which diagnoses count, and in what order they go on the claim.

Order: the ranks of ``Encounter.diagnosis`` (admitting diagnoses after discharge ones of the
same rank), then the order the rest come in (every reader sorts an encounter's Conditions
by when they were recorded, then id, so that order does not depend on the server or the
file: ``adapters.gathering.assembly.condition_order``). Then the etiology/manifestation
convention: a code whose tabular says "code first" the underlying condition goes after that
condition when both are coded. The first line is the principal (inpatient) or first-listed
(outpatient) diagnosis, and a note records why.
"""

from __future__ import annotations

from fhir_coder.coding.checks import shown
from fhir_coder.model import CodedLine, Diagnosis, DiagnosisRole, Encounter
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.ports import CodeNotesPort
from fhir_coder.values import replace

__all__ = [
    "EXCLUDED_VERIFICATION",
    "UNCERTAIN_VERIFICATION",
    "counts",
    "etiology_first",
    "in_claim_order",
    "sequence",
]

EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
"""Verification statuses that mean the condition must never reach a claim."""

UNCERTAIN_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
"""Verification statuses of an uncertain diagnosis (probable, suspected, rule out, working).

ICD-10-CM Official Guidelines: coded as if it existed for an inpatient stay (Section II.H,
at discharge), never coded for outpatient services, whose signs and symptoms are coded
instead (Section IV.H). ``unconfirmed`` is FHIR's parent of the other two."""

_UNRANKED = 1_000_000


def counts(diagnosis: Diagnosis, issues: list[Issue], *, inpatient: bool = False) -> bool:
    """Whether ``diagnosis`` belongs on this encounter's claim; records why when it does not.

    ``inpatient`` says whether the encounter is an inpatient stay, where an uncertain
    diagnosis is coded as if it existed; elsewhere it is left for a coder.
    """
    source = diagnosis.source.reference
    if diagnosis.verification in EXCLUDED_VERIFICATION:
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{source} is {diagnosis.verification}: not coded",
                rule="DX-EXCLUDED-VERIFICATION",
                source=source,
            )
        )
        return False
    if "problem-list-item" in diagnosis.category and not diagnosis.listed_on_encounter:
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{source} is a problem-list item the encounter does not reference: not coded",
                rule="DX-PROBLEM-LIST-NOT-REFERENCED",
                source=source,
            )
        )
        return False
    if diagnosis.verification in UNCERTAIN_VERIFICATION:
        return _uncertain(diagnosis, source, issues, inpatient=inpatient)
    return True


def _uncertain(diagnosis: Diagnosis, source: str, issues: list[Issue], *, inpatient: bool) -> bool:
    words = diagnosis.text or next((c.display for c in diagnosis.codings if c.display), "")
    named = f"{source} ({words!r})" if words else source
    status = diagnosis.verification
    if inpatient:
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{named} is {status} (an uncertain diagnosis): coded as if it existed, as "
                "the ICD-10-CM Official Guidelines (Section II.H) ask for an inpatient stay",
                rule="DX-UNCERTAIN-INPATIENT",
                source=source,
            )
        )
        return True
    issues.append(
        Issue(
            Severity.WARNING,
            IssueCode.INCOMPLETE,
            f"{named} is {status} (an uncertain diagnosis: probable, suspected, rule out or "
            "working): not coded, as the ICD-10-CM Official Guidelines (Section IV.H) ask for "
            "outpatient services: needs a coder",
            rule="NEEDS-CODER-UNCERTAIN-DIAGNOSIS",
            expression=("Condition.verificationStatus",),
            fix=(
                "code the signs, symptoms or abnormal findings documented for it instead; "
                "if the diagnosis was confirmed, set verificationStatus to confirmed"
            ),
            source=source,
        )
    )
    return False


def _sequence_key(indexed: tuple[int, Diagnosis]) -> tuple[int, int, int]:
    position, diagnosis = indexed
    rank = diagnosis.rank if diagnosis.listed_on_encounter and diagnosis.rank else _UNRANKED
    admitting_last = 1 if diagnosis.use == "AD" else 0
    return (rank, admitting_last, position)


def in_claim_order(diagnoses: tuple[Diagnosis, ...]) -> list[Diagnosis]:
    """``diagnoses`` ranked as the encounter lists them, the rest in arrival order."""
    if len(diagnoses) < 2:  # nothing to order
        return list(diagnoses)
    return [d for _, d in sorted(enumerate(diagnoses), key=_sequence_key)]


def _names(note_code: str, code: str) -> bool:
    """Whether a code or range a note names (``E11``, ``E08-E13``) covers ``code``."""
    if "-" in note_code:
        start, end = note_code.split("-", 1)
        head = code[: len(start)]
        return start <= head <= end[: len(start)] or code.startswith(end)
    return code.startswith(note_code)


def etiology_first(
    lines: list[CodedLine], notes: CodeNotesPort | None, issues: list[Issue]
) -> list[CodedLine]:
    """``lines`` with each manifestation moved after the etiology its "code first" names."""
    if notes is None or len(lines) < 2:
        return lines
    ordered = list(lines)
    for line in lines:
        firsts = [
            named
            for note in notes.notes(line.system, line.code)
            if note.kind == "code_first"
            for named in note.codes
        ]
        if not firsts:
            continue
        etiology = next(
            (
                other
                for other in ordered
                if other is not line and any(_names(n, other.code) for n in firsts)
            ),
            None,
        )
        if etiology is None or ordered.index(etiology) < ordered.index(line):
            continue
        ordered.remove(line)
        ordered.insert(ordered.index(etiology) + 1, line)
        issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INFORMATIONAL,
                f"{shown(line.system, line.code)} is a manifestation: sequenced after its "
                f"etiology {shown(etiology.system, etiology.code)} (code first)",
                rule="DX-ETIOLOGY-FIRST",
                source=line.source.reference,
            )
        )
    return ordered


def sequence(
    encounter: Encounter, lines: list[CodedLine], issues: list[Issue]
) -> tuple[CodedLine, ...]:
    """Duplicates merged, roles given: the first line principal, the rest secondary."""
    unique: list[CodedLine] = []
    seen: dict[str, str] = {}
    for line in lines:
        if line.code in seen:
            issues.append(
                Issue(
                    Severity.INFORMATION,
                    IssueCode.DUPLICATE,
                    f"{shown(line.system, line.code)} from {line.source} is already coded "
                    f"from {seen[line.code]}: merged",
                    rule="DX-DUPLICATE-MERGED",
                    source=line.source.reference,
                )
            )
            continue
        seen[line.code] = line.source.reference
        unique.append(line)
    if not unique:
        return ()
    principal = unique[0]
    listed = next(
        (
            d
            for d in encounter.diagnoses
            if (d.source is principal.source or d.source == principal.source)
            and d.listed_on_encounter
        ),
        None,
    )
    ordered = (
        next((c for c in reversed(principal.changes) if c.rule.startswith("SEQ-")), None)
        if principal.changes
        else None
    )
    why = (
        f"the ICD-10-CM Official Guidelines ({ordered.rule}, {ordered.citation})"
        if ordered is not None
        else f"Encounter.diagnosis rank {listed.rank}"
        if listed is not None and listed.rank
        else "the first coded encounter diagnosis (the encounter ranks none)"
    )
    label = "principal" if encounter.encounter_class.is_inpatient else "first-listed"
    issues.append(
        Issue(
            Severity.INFORMATION,
            IssueCode.INFORMATIONAL,
            f"{label} diagnosis {shown(principal.system, principal.code)} chosen from {why}",
            rule="DX-SEQUENCING",
            source=principal.source.reference,
        )
    )
    secondary = DiagnosisRole.SECONDARY  # coding makes lines secondary: most stay as they are
    return (
        principal
        if principal.role is DiagnosisRole.PRINCIPAL
        else replace(principal, role=DiagnosisRole.PRINCIPAL),
        *(line if line.role is secondary else replace(line, role=secondary) for line in unique[1:]),
    )
