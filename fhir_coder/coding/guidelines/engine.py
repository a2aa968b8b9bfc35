"""The one engine that applies the rule tables to an encounter's candidate diagnosis lines.

Coders do not code conditions one at a time: the ICD-10-CM Official Guidelines turn the
set of documented conditions into a different set of codes. This stage sits between
coding each diagnosis and sequencing. It reads the rows of :mod:`.rules` in a fixed order
of phases, each phase asked only when one of the encounter's codes can trigger it:

1. status: resolved and inactive conditions to personal-history codes or left out;
   uncertain inpatient diagnoses that are coded only when confirmed (II.H exceptions);
2. the line itself: 7th character from the encounter, the lateral code from the side;
3. "with" combinations; 4. conversions (pregnancy, manifestation forms);
5. codes left off (integral symptoms, redundant forms); 6. paired codes added, BMI,
   prompts for a coder; 7. order (Chapter 15 first, sepsis first, Z codes' positions).

Every new code is checked against the release in force (:func:`check_code`), so a rule
whose code does not exist for this type or date simply does not act. Every change is
recorded on the line it produces (:class:`GuidelineChange`: rule id, citation, the lines
it replaced) and, for lines left out, as a finding that names the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from operator import attrgetter

from fhir_coder.coding.checks import check_code, shown
from fhir_coder.coding.context import CodingContext
from fhir_coder.coding.guidelines.patterns import CodeSet
from fhir_coder.coding.guidelines.rules import (
    PREGNANCY,
    BmiTable,
    Combination,
    Conversion,
    DropRule,
    LateralityTable,
    OrderRule,
    Plan,
    PromptRule,
    Rule,
    Rulebook,
    SeventhTable,
)
from fhir_coder.coding.sequencing import UNCERTAIN_VERIFICATION
from fhir_coder.model import (
    CodedLine,
    Coding,
    CodingMethod,
    Diagnosis,
    DiagnosisRole,
    Encounter,
    EncounterClass,
    GuidelineChange,
    Observation,
)
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.systems import ICD10CM
from fhir_coder.values import replace

__all__ = ["apply_guidelines"]

_HISTORY_STATUS = frozenset({"resolved", "inactive", "remission"})
_WORD = re.compile(r"[a-z0-9]+")
_LEFT_WORDS = (" left ",)
_RIGHT_WORDS = (" right ",)
_BOTH_WORDS = (" bilateral ", " both ")
_INCIDENTAL_PREGNANCY = CodeSet(["Z33.1"])
_CHAPTER15 = CodeSet(["O00-O9A"])
_WEEKS_FIRST_TRIMESTER, _WEEKS_THIRD_TRIMESTER = 14, 28
_SEVEN = 7  # characters of a code that carries a 7th character
_CODE = attrgetter("code")  # (a line's code: no comprehension's function made per call)


def _start(encounter: Encounter) -> date | None:
    start = encounter.period_start
    return start.date() if isinstance(start, datetime) else start


def _status_asked(encounter: Encounter, start: date | None, onset_days: int) -> bool:
    """Whether the status phase has anything to do.

    A condition resolved, inactive, in remission or uncertain, or one that began more than
    ``onset_days`` (the status rows' least, 0 for none) before ``start``, the encounter's
    first day. Most encounters have none.
    """
    # "began more than onset_days before start" is "onset < start - onset_days", worked
    # out once, not a subtraction per condition
    cutoff = _cutoff(start, onset_days)
    for d in encounter.diagnoses:
        if d.clinical_status in _HISTORY_STATUS or d.verification in UNCERTAIN_VERIFICATION:
            return True
        onset = d.onset
        if cutoff is not None and onset is not None and onset < cutoff:
            return True
    return False


def _cutoff(start: date | None, onset_days: int) -> date | None:
    """The last day a condition may have begun on and be more than ``onset_days`` old."""
    if start is None or onset_days <= 0:
        return None
    try:
        return start - timedelta(days=onset_days)
    except OverflowError:  # before the first day a date can name: no onset is older
        return None


_SIDED: dict[str, bool] = {}  # words -> whether they name a side (bounded)
_REMEMBERED_WORDS = 8192


def _sided(words: str) -> bool:
    """:func:`_names_side` of ``words`` in any case, remembered: concepts' texts repeat."""
    found = _SIDED.get(words)
    if found is None:
        if len(_SIDED) >= _REMEMBERED_WORDS:
            _SIDED.clear()
        found = _SIDED[words] = _names_side(words.lower())
    return found


def _may_be_lateral(diagnoses: tuple[Diagnosis, ...], lines: list[CodedLine]) -> bool:
    """Whether a line could take its side from the record (more often than :func:`_lateral`).

    A line of an unspecified side, and a side named somewhere: a condition's body site or
    words, or a line's concept.
    """
    for line in lines:
        if "nspecified" in line.display:
            break
    else:
        return False
    for d in diagnoses:
        if d.body_sites:
            return True
        sided = _SIDED.get(d.text)  # (read here first: a call saved for a text seen before)
        if sided or (sided is None and _sided(d.text)):
            return True
    for line in lines:
        coding = line.source_coding
        if coding is not None and "nspecified" in line.display:
            sided = _SIDED.get(coding.display)
            if sided or (sided is None and _sided(coding.display)):
                return True
    return False


def _has_bmi(observations: tuple[Observation, ...], table: BmiTable | None) -> bool:
    """Whether an Observation carries a BMI code (the BMI row has something to read)."""
    if table is None:
        return False
    codes = table.bmi_codes
    return any(c.code in codes for o in observations for c in o.codings)


class _Encounter:
    """What the rules read of one encounter, worked out once: diagnoses by source, dates."""

    __slots__ = ("_diagnoses", "context", "emergency", "issues", "start")

    def __init__(self, context: CodingContext, issues: list[Issue], start: date | None) -> None:
        self.context = context
        self.issues = issues
        self.start = start
        self.emergency = context.encounter.encounter_class is EncounterClass.EMERGENCY
        self._diagnoses: dict[str, Diagnosis] | None = None

    @property
    def diagnoses(self) -> dict[str, Diagnosis]:
        """The encounter's diagnoses by source, made when a phase first asks (most do not)."""
        found = self._diagnoses
        if found is None:
            found = self._diagnoses = {
                d.source.reference: d for d in self.context.encounter.diagnoses
            }
        return found

    @property
    def inpatient(self) -> bool:
        return self.context.encounter.encounter_class.is_inpatient

    def onset_age(self, diagnosis: Diagnosis) -> int | None:
        """Days from the condition's onset to the start of the encounter, when both are known."""
        if diagnosis.onset is None or self.start is None:
            return None
        return (self.start - diagnosis.onset).days

    def diagnosis(self, line: CodedLine) -> Diagnosis | None:
        return self.diagnoses.get(line.source.reference)

    def line(
        self,
        base: CodedLine,
        code: str,
        rule: Rule,
        replaced: Iterable[CodedLine],
        note: str = "",
    ) -> CodedLine | None:
        """``base`` recoded to ``code`` by ``rule``, or None when the code may not be used."""
        checked = check_code(
            self.context,
            ICD10CM,
            code,
            source=base.source.reference,
            element="Condition.code",
            how=f"from rule {rule.id}",
        )
        if not checked.usable or checked.release == "unverified":
            return None
        change = _change(rule, replaced, note)
        return replace(
            base,
            code=code,
            display=checked.description,
            release=checked.release,
            changes=(*base.changes, change),
        )

    def note(self, message: str, rule: Rule, source: str, *, prompt: bool = False) -> None:
        self.issues.append(
            Issue(
                Severity.WARNING if prompt else Severity.INFORMATION,
                IssueCode.INCOMPLETE if prompt else IssueCode.INFORMATIONAL,
                f"{message} ({rule.id}, ICD-10-CM Official Guidelines {rule.citation})",
                rule=f"GUIDELINE-{rule.id}",
                source=source,
            )
        )


def _named(line: CodedLine) -> str:
    return f"{shown(line.system, line.code)} from {line.source.reference}"


def _change(rule: Rule, replaced: Iterable[CodedLine], note: str) -> GuidelineChange:
    lines = tuple(replaced)
    return GuidelineChange(
        rule.id,
        rule.citation,
        tuple(_named(r) for r in lines),
        note,
        sources=tuple(r.source.reference for r in lines),
        codes=tuple(r.code for r in lines),
    )


def _noted(line: CodedLine, rule: Rule, replaced: Iterable[CodedLine], note: str) -> CodedLine:
    return replace(line, changes=(*line.changes, _change(rule, replaced, note)))


def apply_guidelines(
    context: CodingContext, lines: list[CodedLine], issues: list[Issue], book: Rulebook
) -> list[CodedLine]:
    """``lines`` (diagnoses in claim order) as the Official Guidelines code the encounter.

    The rows a code sets off are found once per code (``book.by_code``); an encounter
    whose codes set off none, with no condition for the status phase, no side to read and
    no BMI, leaves at once. Otherwise each phase asks the rows that can act on the codes
    coded when it starts (``book.plan``, remembered per set of codes), in table order; a
    phase that changed nothing returns the very list it was given.
    """
    encounter = context.encounter
    observations = encounter.observations
    if (not lines and not observations) or book.is_empty:
        return lines
    plan = book.plans[frozenset(map(_CODE, lines))]
    start = _start(encounter)
    status_asked = _status_asked(encounter, start, book.onset_days)
    lateral = book.laterality is not None and _may_be_lateral(encounter.diagnoses, lines)
    if not (
        plan.acts or status_asked or lateral or (observations and _has_bmi(observations, book.bmi))
    ):
        return lines  # the common case: nothing in the tables is about this encounter
    state = _Encounter(context, issues, start)
    if status_asked:
        given = lines
        lines = _status(state, lines, book)
        plan = _replanned(book, given, lines, plan)
    if plan.seventh or lateral:
        given = lines
        lines = _refine(state, lines, book, lateral=lateral)
        plan = _replanned(book, given, lines, plan)
    lines, plan = _tables(state, lines, book, plan)
    if book.bmi is not None and encounter.observations:
        given = lines
        lines = _bmi(state, lines, book.bmi)
        plan = _replanned(book, given, lines, plan)
    if plan.orders:
        lines = _order(state, lines, plan.orders)
    return lines


def _tables(
    state: _Encounter, lines: list[CodedLine], book: Rulebook, plan: Plan
) -> tuple[list[CodedLine], Plan]:
    """Phases 3 to 6 (combinations, conversions, codes left off, pairs and prompts)."""
    if not plan.acts:
        return lines, plan
    if plan.combinations:
        given = lines
        lines = _combine(state, lines, book, plan)
        plan = _replanned(book, given, lines, plan)
    if plan.conversions and (converted := _conversions(state, lines, plan)) is not None:
        lines = converted
        plan = book.plans[_codes(lines)]
    if plan.drops:
        given = lines
        lines = _drop(state, lines, plan.drops)
        plan = _replanned(book, given, lines, plan)
    if plan.adds:
        given = lines
        lines = _add(state, lines, book, plan)
        plan = _replanned(book, given, lines, plan)
    if plan.prompts:
        _prompt(state, lines, plan.prompts)
    return lines, plan


def _replanned(book: Rulebook, given: list[CodedLine], lines: list[CodedLine], plan: Plan) -> Plan:
    """The plan for ``lines`` after a phase: ``plan`` itself when the phase changed nothing."""
    return plan if lines is given else book.plans[_codes(lines)]


def _conversions(state: _Encounter, lines: list[CodedLine], plan: Plan) -> list[CodedLine] | None:
    """``lines`` converted (pregnancy rows only in a pregnancy); None when no row applies."""
    rows = plan.conversions
    pregnant = plan.pregnancy and _pregnant(state, lines)
    if not pregnant:
        rows = plan.plain_conversions
    return _convert(state, lines, rows, pregnant=pregnant) if rows else None


def _codes(lines: list[CodedLine]) -> frozenset[str]:
    return frozenset(map(_CODE, lines))


# 1. Clinical and verification status -------------------------------------------------


def _is_history(state: _Encounter, diagnosis: Diagnosis) -> bool:
    """Whether the condition no longer existed at the visit (its status, its abatement).

    ``clinicalStatus`` is the status now; a condition that abated on or after the day the
    visit began was still there during it, and is coded as it was.
    """
    if diagnosis.clinical_status not in _HISTORY_STATUS:
        return False
    abated = diagnosis.abatement
    return abated is None or state.start is None or abated < state.start


def _status(state: _Encounter, lines: list[CodedLine], book: Rulebook) -> list[CodedLine]:
    """Phase 1 (clinical and verification status); the same list when no line changed."""
    out: list[CodedLine] = []
    for line in lines:
        diagnosis = state.diagnosis(line)
        if diagnosis is None:
            out.append(line)
            continue
        history = _is_history(state, diagnosis)
        uncertain = diagnosis.verification in UNCERTAIN_VERIFICATION
        age = state.onset_age(diagnosis)
        aged = age is not None and 0 < book.onset_days < age
        if not history and not uncertain and not aged:
            out.append(line)
            continue
        row = next(
            (
                r
                for r in book.by_code[line.code].status
                if (not r.status or (history and diagnosis.clinical_status in r.status))
                and (not r.verification or (uncertain and diagnosis.verification in r.verification))
                and (not r.older_than_days or (age is not None and age > r.older_than_days))
                and _setting_fits(state, r)
            ),
            None,
        )
        if row is None:
            if history and diagnosis.clinical_status != "remission":
                state.issues.append(
                    Issue(
                        Severity.INFORMATION,
                        IssueCode.INFORMATIONAL,
                        f"{line.source} is {diagnosis.clinical_status}: "
                        f"{shown(line.system, line.code)} is not coded as current, and no "
                        "personal-history code fits it (ICD-10-CM Official Guidelines I.C.21.c.4)",
                        rule="DX-RESOLVED-NOT-CODED",
                        source=line.source.reference,
                    )
                )
                continue
            out.append(line)
            continue
        new = _converted(state, line, row, None)
        if new is None and (row.to or row.rewrite or row.last):
            out.append(line)  # no such code for this one (the Tabular decides): as it came
            continue
        if new is None:
            state.note(
                f"{line.source} ({shown(line.system, line.code)}, {diagnosis.clinical_status or ''}"
                f"{' ' if diagnosis.clinical_status and uncertain else ''}"
                f"{diagnosis.verification if uncertain else ''}): {row.note or 'not coded'}",
                row,
                line.source.reference,
                prompt=uncertain or row.older_than_days > 0,
            )
            continue
        out.append(new)
    unchanged = len(out) == len(lines) and all(a is b for a, b in zip(out, lines, strict=True))
    return lines if unchanged else out


def _setting_fits(state: _Encounter, row: Conversion) -> bool:
    if not row.setting:
        return True
    return state.inpatient == (row.setting == "inpatient")


def _converted(
    state: _Encounter, line: CodedLine, row: Conversion, trimester: str | None
) -> CodedLine | None:
    """``line`` converted by ``row``; None when the row leaves it out or its code is unusable.

    In a pregnancy the trimester character is appended; when the trimester is not known
    the category's own "unspecified trimester" character is 9 or 0, and a few codes
    (O99.89) take none: each is tried in that order and the Tabular decides.
    """
    code = line.code
    if row.rewrite is not None:
        start, to = row.rewrite
        if not code.startswith(start):
            return None
        code = to + code[len(start) :]
    elif row.last is not None:
        if code[-1] != row.last[0]:
            return None
        code = code[:-1] + row.last[1]
    else:
        code = row.to
    if not code:
        return None
    if trimester is None:
        return state.line(line, code, row, (line,), row.note)
    tries = (trimester,) if trimester != "9" else ()
    for ending in (*tries, "9", "0", ""):
        new = state.line(line, code + ending, row, (line,), row.note)
        if new is not None:
            return new
    return None


# 2. The line itself: 7th character and laterality --------------------------------------


def _refine(
    state: _Encounter, lines: list[CodedLine], book: Rulebook, *, lateral: bool
) -> list[CodedLine]:
    """Phase 2 (7th character, laterality); the same list when no line changed.

    ``lateral``: whether a side may be read (:func:`_may_be_lateral`).
    """
    seventh = book.seventh
    laterality = book.laterality if lateral else None
    out: list[CodedLine] = []
    aftercare_used: list[CodedLine] = []
    changed = False
    for given in lines:
        line = given
        if seventh is not None and book.by_code[line.code].seventh:
            line = _seventh(state, line, lines, seventh, aftercare_used)
        if laterality is not None and "nspecified" in line.display:
            line = _lateral(state, line, laterality)
        changed = changed or line is not given
        out.append(line)
    if aftercare_used:
        used = {id(line) for line in aftercare_used}
        out = [line for line in out if id(line) not in used]
    return out if changed or aftercare_used else lines


def _follow_up(state: _Encounter, table: SeventhTable) -> bool:
    for coding in state.context.encounter.types:
        if coding.code in table.follow_up_types:
            return True
        words = coding.display.lower()
        if words and any(w in words for w in table.follow_up_words):
            return True
    return False


def _seventh(
    state: _Encounter,
    line: CodedLine,
    lines: list[CodedLine],
    table: SeventhTable,
    aftercare_used: list[CodedLine],
) -> CodedLine:
    diagnosis = state.diagnosis(line)
    words = " ".join(
        w.lower()
        for w in (
            diagnosis.text if diagnosis else "",
            line.source_coding.display if line.source_coding else "",
        )
    )
    current = line.code[-1]
    if any(w in words for w in table.sequela_words):
        wanted, why = table.sequela, "the condition is documented as a sequela"
        aftercare: list[CodedLine] = []
    else:
        aftercare = [other for other in lines if other.code in table.aftercare]
        if state.inpatient or state.emergency:
            return line  # active treatment
        earlier = _treated_earlier(state, diagnosis, table)
        if not (aftercare or earlier or _follow_up(state, table)):
            return line
        wanted = table.subsequent.get(current, "")
        why = (
            f"aftercare {', '.join(shown(a.system, a.code) for a in aftercare)} is coded"
            if aftercare
            else earlier or "the encounter is a follow-up visit"
        )
    if not wanted or wanted == current:
        return line
    new = state.line(
        line,
        line.code[:-1] + wanted,
        table,
        (line, *aftercare),
        f"7th character {wanted}: {why}",
    )
    if new is None:
        return line
    aftercare_used.extend(aftercare)
    return new


def _treated_earlier(state: _Encounter, diagnosis: Diagnosis | None, table: SeventhTable) -> str:
    """Why the injury was already treated at an earlier encounter, or "" when not known.

    The Condition was recorded (or began) ``table.earlier_days`` or more before this
    outpatient visit: it was seen and treated before, and this visit follows it. 0 turns
    the evidence off.
    """
    if diagnosis is None or state.start is None or table.earlier_days <= 0:
        return ""
    first = min((d for d in (diagnosis.recorded, diagnosis.onset) if d is not None), default=None)
    if first is None or (state.start - first).days < table.earlier_days:
        return ""
    return f"the injury was recorded {(state.start - first).days} days before this visit"


def _names_side(words: str) -> bool:
    """Whether lower-case ``words`` name a side anywhere.

    Four substring searches: cheaper than a regular expression on a concept's short texts.
    """
    return "left" in words or "right" in words or "bilateral" in words or "both" in words


def _side(diagnosis: Diagnosis | None, line: CodedLine, table: LateralityTable) -> str:
    """``right``, ``left``, ``bilateral`` or "" from the body sites, then the concept's words."""
    said = " ".join(
        (
            diagnosis.text if diagnosis else "",
            line.source_coding.display if line.source_coding else "",
        )
    ).lower()
    if not (diagnosis and diagnosis.body_sites) and not _names_side(said):
        return ""  # the common case: nothing says a side
    sides: set[str] = set()
    codings: tuple[Coding, ...] = diagnosis.body_sites if diagnosis else ()
    for site in codings:
        padded = f" {site.display.lower()} "
        if site.code in table.bilateral or any(w in padded for w in _BOTH_WORDS):
            return "bilateral"
        if site.code in table.left or any(w in padded for w in _LEFT_WORDS):
            sides.add("left")
        if site.code in table.right or any(w in padded for w in _RIGHT_WORDS):
            sides.add("right")
    if not sides:
        words = " ".join(
            (
                diagnosis.text if diagnosis else "",
                line.source_coding.display if line.source_coding else "",
            )
        )
        padded = f" {' '.join(_WORD.findall(words.lower()))} "
        if any(w in padded for w in _BOTH_WORDS):
            return "bilateral"
        sides |= {"left"} if any(w in padded for w in _LEFT_WORDS) else set()
        sides |= {"right"} if any(w in padded for w in _RIGHT_WORDS) else set()
    if sides == {"left", "right"}:
        return "bilateral"
    return sides.pop() if len(sides) == 1 else ""


def _words(text: str, table: LateralityTable) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in table.ignored_words)


def _lateral(state: _Encounter, line: CodedLine, table: LateralityTable) -> CodedLine:
    diagnosis = state.diagnoses.get(line.source.reference)
    if not (diagnosis and diagnosis.body_sites):
        text = diagnosis.text if diagnosis else ""
        display = line.source_coding.display if line.source_coding else ""
        if not _names_side(f"{text} {display}".lower()):
            return line  # the common case: nothing says a side (as _side would find)
    side = _side(diagnosis, line, table)
    if not side:
        return line
    description = line.display.lower()
    if not any(w in description for w in table.unspecified_words):
        return line
    wanted = _words(line.display, table)
    others = {"right", "left", "bilateral"} - {side}
    # A 7th character that says the encounter (A, D, S...) must stay; one that says the eye
    # (E11.3211) is what the side changes.
    encounter_character = len(line.code) == _SEVEN and line.code[-1].isalpha()
    codes = state.context.codesets
    on = state.context.on
    for depth in range(1, len(line.code) - 2):
        parent = line.code[:-depth]
        children = codes.lookup(ICD10CM, parent, on).billable_children
        for child in children:
            if encounter_character and (len(child) != _SEVEN or child[-1] != line.code[-1]):
                continue
            text = codes.lookup(ICD10CM, child, on).description
            said = set(_WORD.findall(text.lower()))
            if side in said and not (others & said) and _words(text, table) == wanted:
                new = state.line(line, child, table, (line,), f"{side} side documented")
                return new or line
    return line


# 3. "With" combinations -----------------------------------------------------------------


def _combine(
    state: _Encounter, lines: list[CodedLine], book: Rulebook, plan: Plan
) -> list[CodedLine]:
    """``lines`` with the combinations made, rows in table order; the same list when none acted.

    The plan holds the rows whose anchor and partners are coded; once a row changed the
    lines, the rows after it are those of the plan of the new lines.
    """
    done_groups: set[tuple[str, int]] = set()
    rows = plan.combinations
    at = 0
    while at < len(rows):
        position, rule = rows[at]
        at += 1
        given = lines
        for anchor in list(lines):
            if anchor.code not in rule.anchor or (
                lines is not given and not any(anchor is line for line in lines)
            ):
                continue
            key = (rule.group, id(anchor.source))
            if rule.group and key in done_groups:
                continue
            partners = [_partner(lines, need) for need in rule.needs]
            if any(p is None for p in partners):
                continue
            if rule.group:
                done_groups.add(key)
            lines = _combined(state, lines, rule, anchor, [p for p in partners if p is not None])
        if lines is not given:
            rows = tuple(r for r in book.plans[_codes(lines)].combinations if r[0] > position)
            at = 0
    return lines


def _partner(lines: list[CodedLine], need: CodeSet) -> CodedLine | None:
    return next((line for line in lines if line.code in need), None)


def _combined(
    state: _Encounter,
    lines: list[CodedLine],
    rule: Combination,
    anchor: CodedLine,
    partners: list[CodedLine],
) -> list[CodedLine]:
    target = rule.target or anchor.code[: rule.stem] + rule.suffix
    dropped = [o for o in lines if o is not anchor and o.code in rule.drop and o.code != target]
    replacing = anchor.code in rule.replace and anchor.code != target
    present = next((o for o in lines if o.code == target), None)
    used = ([anchor] if replacing else []) + dropped
    if present is None:
        # A combination added beside an anchor it does not replace starts its own story.
        base = anchor if replacing else replace(anchor, changes=())
        new = state.line(base, target, rule, used, _with(partners, anchor))
        if new is None:
            return lines
    elif not used:
        return lines
    else:
        new = _noted(present, rule, used, "")
    # A new combination stands where the first of the conditions it joins stood (beside an
    # anchor it does not replace); one already coded keeps its place.
    places = [lines.index(p) for p in partners if p is not anchor]
    places.append(lines.index(anchor) + (0 if replacing else 1))
    at = min(places) if present is None else -1
    gone = {id(o) for o in used}
    out: list[CodedLine] = []
    for index, line in enumerate(lines):
        if index == at:
            out.append(new)
        if line is present:
            out.append(new)
        elif id(line) not in gone:
            out.append(line)
    if at >= len(lines):
        out.append(new)
    state.issues.extend(_merged_note(o, new, rule) for o in dropped)
    return out


def _with(partners: list[CodedLine], anchor: CodedLine) -> str:
    others = [p for p in partners if p is not anchor]
    if not others:
        return ""
    return "with " + ", ".join(_named(p) for p in others)


def _merged_note(line: CodedLine, into: CodedLine, rule: Rule) -> Issue:
    return Issue(
        Severity.INFORMATION,
        IssueCode.INFORMATIONAL,
        f"{shown(line.system, line.code)} from {line.source} is included in "
        f"{shown(into.system, into.code)}: not coded separately "
        f"({rule.id}, ICD-10-CM Official Guidelines {rule.citation})",
        rule=f"GUIDELINE-{rule.id}",
        source=line.source.reference,
    )


# 4. Conversions (pregnancy, manifestation forms) ----------------------------------------


def _trimester(lines: list[CodedLine]) -> str:
    """The trimester character (1, 2, 3; 9 unknown) from weeks of gestation or Z34/O09."""
    for line in lines:
        code = line.code
        if code.startswith("Z3A") and code[3:].isdigit():
            weeks = int(code[3:])
            if weeks == 1:  # Z3A.01: less than 8 weeks
                return "1"
            if weeks < _WEEKS_FIRST_TRIMESTER:
                return "1"
            return "2" if weeks < _WEEKS_THIRD_TRIMESTER else "3"
    for line in lines:
        code = line.code
        if code.startswith(("Z34", "O09")) and code[-1] in "123":
            return code[-1]
    return "9"


def _pregnant(state: _Encounter, lines: list[CodedLine]) -> bool:
    """Whether the encounter is in a pregnancy whose codes take Chapter 15 precedence.

    A male patient's record with a pregnancy code is an error the scrubber reports
    (DX-SEX-CONFLICT); it does not make his other conditions complications of pregnancy.
    A pregnancy documented as incidental (Z33.1) leaves the other conditions as they are.
    """
    return (
        state.context.sex != "male"
        and any(line.code in PREGNANCY for line in lines)
        and not any(line.code in _INCIDENTAL_PREGNANCY for line in lines)
    )


def _convert(
    state: _Encounter, lines: list[CodedLine], rules: tuple[Conversion, ...], *, pregnant: bool
) -> list[CodedLine]:
    trimester = _trimester(lines) if pregnant else None
    out: list[CodedLine] = []
    for line in lines:
        row = next(
            (
                r
                for r in rules
                if (pregnant or not r.pregnancy)
                and line.code in r.codes
                and _setting_fits(state, r)
                and all(any(o is not line and o.code in w for o in lines) for w in r.when)
            ),
            None,
        )
        if row is None:
            out.append(line)
            continue
        new = _converted(state, line, row, trimester if row.pregnancy else None)
        if new is None:
            out.append(line)
            continue
        if any(o.code == new.code for o in out):
            out.append(line) if row.keep else None
            continue
        out.append(new)
        if row.keep:
            out.append(line)
    return out


# 5. Codes left off ----------------------------------------------------------------------


def _drop(
    state: _Encounter, lines: list[CodedLine], rules: tuple[DropRule, ...]
) -> list[CodedLine]:
    """``lines`` without the codes the rows leave off; the same list when none is."""
    out = list(lines)
    dropped = False
    for rule in rules:
        for line in list(out):
            if line.code not in rule.codes or line not in out:
                continue
            keeper = next(
                (
                    o
                    for o in out
                    if o is not line
                    and o.code != line.code
                    and o.code in rule.when
                    and (not rule.same or o.code[: rule.same] == line.code[: rule.same])
                ),
                None,
            )
            if keeper is None:
                continue
            at = out.index(keeper)
            out[at] = _noted(keeper, rule, (line,), "")
            out.remove(line)
            dropped = True
            state.issues.append(_merged_note(line, keeper, rule))
    return out if dropped else lines


# 6. Paired codes, prompts, BMI ----------------------------------------------------------


def _add(state: _Encounter, lines: list[CodedLine], book: Rulebook, plan: Plan) -> list[CodedLine]:
    """``lines`` with the rows' paired codes added; the same list when none is.

    Rows in table order: once a row added a code, the rows after it are those of the plan
    of the new lines.
    """
    out = list(lines)
    rows = plan.adds
    at = 0
    while at < len(rows):
        position, rule = rows[at]
        at += 1
        size = len(out)
        for line in list(out):
            if line.code not in rule.codes:
                continue
            if any(o.code == rule.add or o.code in rule.unless for o in out):
                continue
            new = state.line(line, rule.add, rule, (), f"paired with {_named(line)}")
            if new is None:
                continue
            new = replace(new, changes=new.changes[-1:])
            out.insert(out.index(line) + 1, new)
        if len(out) != size:
            rows = tuple(r for r in book.plans[_codes(out)].adds if r[0] > position)
            at = 0
    return out if len(out) != len(lines) else lines


def _prompt(
    state: _Encounter,
    lines: list[CodedLine],
    rules: tuple[tuple[PromptRule, frozenset[str]], ...],
) -> None:
    """A finding per row the plan keeps (its ``unless`` codes absent), on its first line."""
    for rule, named in rules:
        line = None
        for other in lines:  # the first line the row prompts for
            if other.code in named:
                line = other
                break
        if line is None:
            continue
        state.issues.append(
            Issue(
                Severity.INFORMATION,
                IssueCode.INCOMPLETE,
                f"{shown(line.system, line.code)} from {line.source}: {rule.message} "
                f"({rule.id}, ICD-10-CM Official Guidelines {rule.citation})",
                rule=f"GUIDELINE-{rule.id}",
                source=line.source.reference,
            )
        )


def _bmi_value(observations: tuple[Observation, ...], codes: frozenset[str]) -> Observation | None:
    found = [
        o
        for o in observations
        if o.value is not None
        and o.status not in ("entered-in-error", "cancelled")
        and any(c.code in codes for c in o.codings)
    ]
    return max(found, key=lambda o: o.effective or date.min) if found else None


def _band(value: float, bands: tuple[tuple[float, str], ...]) -> str:
    return next((code for bound, code in bands if value < bound), "")


def _bmi(state: _Encounter, lines: list[CodedLine], table: BmiTable) -> list[CodedLine]:
    observations = state.context.encounter.observations
    bmi = _bmi_value(observations, table.bmi_codes)
    if bmi is None or bmi.value is None:
        return lines
    weight = next((line for line in lines if line.code in table.weight_diagnoses), None)
    where = bmi.source.reference
    if weight is None:
        state.note(
            f"BMI {bmi.value:g} from {where} is not reported: no weight diagnosis "
            "(obesity, overweight, underweight, malnutrition) documented by the provider",
            table,
            where,
        )
        return lines
    if any(line.code in _CHAPTER15 for line in lines):
        state.note(f"BMI from {where} is not reported in a pregnancy", table, where)
        return lines
    age = state.context.age
    code = ""
    if age is not None and age >= table.adult_age:
        code = _band(bmi.value, table.adult)
    elif age is not None and age >= table.pediatric_age:
        percentile = _bmi_value(observations, table.percentile_codes)
        if percentile is not None and percentile.value is not None:
            code = _band(percentile.value, table.pediatric)
    if not code or any(line.code.startswith("Z68") for line in lines):
        if not code:
            state.note(
                f"BMI {bmi.value:g} from {where}: the patient's age (or, under 20, the BMI "
                "percentile) decides the Z68 code and is not known",
                table,
                where,
                prompt=True,
            )
        return lines
    loinc = next(c for c in bmi.codings if c.code in table.bmi_codes)
    base = CodedLine(
        system=ICD10CM,
        code=code,
        display="",
        source=bmi.source,
        source_coding=loinc,
        method=CodingMethod.TABLE,
        confidence=0.95,
        release="",
        role=DiagnosisRole.SECONDARY,
        rule=f"BMI {bmi.value:g} from {where}",
    )
    new = state.line(base, code, table, (), f"BMI {bmi.value:g}, with {_named(weight)}")
    if new is None:
        return lines
    out = list(lines)
    out.insert(out.index(weight) + 1, new)
    return out


# 7. Order --------------------------------------------------------------------------------


def _not_poa(state: _Encounter, line: CodedLine) -> bool:
    """Whether the condition arose after admission (its onset after the first day)."""
    diagnosis = state.diagnosis(line)
    return (
        state.inpatient
        and diagnosis is not None
        and diagnosis.onset is not None
        and state.start is not None
        and diagnosis.onset > state.start
    )


def _order(
    state: _Encounter, lines: list[CodedLine], rules: tuple[OrderRule, ...]
) -> list[CodedLine]:
    out = list(lines)
    for rule in rules:
        if rule.unless and any(line.code in rule.unless for line in out):
            continue
        if rule.pregnancy and not _pregnant(state, out):
            continue
        moving = [
            line
            for line in out
            if line.code in rule.move and not (rule.unless_not_poa and _not_poa(state, line))
        ]
        if not moving:
            continue
        out = _moved(out, rule, moving)
    return out


def _moved(lines: list[CodedLine], rule: OrderRule, moving: list[CodedLine]) -> list[CodedLine]:
    moved = {id(m) for m in moving}
    rest = [line for line in lines if id(line) not in moved]
    if rule.to == "first":
        if all(id(line) in moved for line in lines[: len(moving)]):
            return lines
        return [_noted(m, rule, (), "sequenced first") for m in moving] + rest
    if rule.to == "not-first":
        if id(lines[0]) not in moved or not rest:
            return lines
        first = _noted(rest[0], rule, (), f"sequenced before {_named(lines[0])}")
        return [first, *[line for line in lines if line is not rest[0]]]
    return _beside(lines, rule, moving, rest)


def _beside(
    lines: list[CodedLine], rule: OrderRule, moving: list[CodedLine], rest: list[CodedLine]
) -> list[CodedLine]:
    """``moving`` just before the first line of ``rule.of`` (or after the last one)."""
    anchors = [line for line in rest if line.code in rule.of]
    if not anchors:
        return lines
    before = rule.to == "before"
    target = anchors[0] if before else anchors[-1]
    first, where = lines.index(moving[0]), lines.index(target)
    if (before and first < where) or (not before and first > where):
        return lines
    at = rest.index(target) + (0 if before else 1)
    said = f"sequenced {rule.to} {_named(target)}"
    return rest[:at] + [_noted(m, rule, (), said) for m in moving] + rest[at:]
