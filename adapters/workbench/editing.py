"""A coder's changes to a work item's lines, and the scrubber run again after each one.

The working copy is JSON in the item (``work``): the diagnosis and procedure lines in claim
order, each with how it was reached (``engine``, ``accepted`` from a suggestion, ``added``,
``edited``, ``confirmed``), the suggestions rejected, and the sources whose engine findings
the coder has dealt with. :func:`apply` makes one change; :func:`rescrub` codes nothing
again: it lays the coder's lines over the encounter as coding saw it, runs the encounter
edits, builds the Claim and scrubs it exactly as the pipeline does, and says what is left.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import orjson

from adapters.claim_options import default_claim_options
from adapters.coding_setup import CodingSetup
from adapters.jobs.work_items import WorkItem
from adapters.scrubbing import pipeline_scrubber, scrub_built_claim
from fhir_coder.claim import build_claim
from fhir_coder.coding.checks import shown
from fhir_coder.errors import FhirCoderError, UnknownCodeSystemError
from fhir_coder.facility import facility_charges
from fhir_coder.model import (
    CodedEncounter,
    CodedLine,
    CodingMethod,
    DiagnosisRole,
    Encounter,
    SourceRef,
)
from fhir_coder.outcome import Issue, has_errors
from fhir_coder.snapshot import from_plain, to_plain
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, canonical_system, normalise_icd10cm
from fhir_coder.validation import claim_can_be_built, validate
from fhir_coder.values import replace

__all__ = ["EditError", "Rescrubbed", "apply", "context_for", "rescrub", "start_work"]

# Engine findings a coder's decision on their source settles: the code was chosen, the
# level confirmed. Every other finding stays until the scrubber no longer makes it.
_SETTLED_BY_DECISION: Final = frozenset(
    {
        "ICD10CM-NOT-BILLABLE",
        "CODE-NOT-BILLABLE",
        "ICD10CM-7TH-CHARACTER",
        "ICD10CM-INVALID-ON-DATE",
        "CODE-INVALID-ON-DATE",
        "ICD10CM-MALFORMED",
        "ICD10CM-NOT-FOR-INPATIENT",
        "VISIT-LEVEL-UNCONFIRMED",
        "NEEDS-CODER-REVIEW",
    }
)
KINDS: Final = ("diagnoses", "procedures")


class EditError(ValueError):
    """A change that cannot be made (an unknown code, a line that is not there): say why."""


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What every change to one item version needs, read once: the encounter and its findings."""

    encounter: Encounter
    engine_issues: tuple[Issue, ...]  # what coding itself found (before claim edits)
    on: date | None
    # a stay's services not reported in ICD-10-PCS but charged on its revenue lines
    charges: tuple[CodedLine, ...] = ()


_CACHE: OrderedDict[tuple[str, str, str], ItemContext] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE: Final = 256


def context_for(item: WorkItem, coding: CodingSetup) -> ItemContext:
    """The item's encounter and the engine's own findings (kept for the last 256 items)."""
    # keyed by what the encounter says, not the item's number: a ledger replaced, or an
    # item refreshed under the same version, must not be answered from another encounter
    facts = orjson.dumps(item.payload["encounter"], option=orjson.OPT_SORT_KEYS)
    key = (item.source, item.encounter_id, hashlib.blake2b(facts, digest_size=16).hexdigest())
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    encounter = from_plain(Encounter, item.payload["encounter"])
    coded = coding.code(encounter)
    context = ItemContext(encounter, coded.issues, encounter.date_of_service, coded.charges)
    with _CACHE_LOCK:
        _CACHE[key] = context
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return context


def start_work(item: WorkItem) -> dict[str, Any]:
    """The working copy an item starts from: the engine's lines, nothing decided."""
    if item.work is not None:
        return item.work
    return {
        "diagnoses": [
            {"line": line, "how": "engine"} for line in item.payload.get("diagnoses", [])
        ],
        "procedures": [
            {"line": line, "how": "engine"} for line in item.payload.get("procedures", [])
        ],
        "decided": [],
        "rejected": [],
    }


def _lines(work: dict[str, Any], kind: str) -> tuple[CodedLine, ...]:
    return tuple(from_plain(CodedLine, entry["line"]) for entry in work[kind])


def _kind(form: dict[str, str]) -> str:
    kind = form.get("kind", "diagnoses")
    if kind not in KINDS:
        raise EditError(f"no such list of lines: {kind!r}")
    return kind


def _index(work: dict[str, Any], kind: str, form: dict[str, str]) -> int:
    try:
        index = int(form.get("index", ""))
    except ValueError as exc:
        raise EditError("say which line (its number)") from exc
    if not 0 <= index < len(work[kind]):
        raise EditError(f"there is no line {index + 1} among the {kind}")
    return index


def _system_for(kind: str, text: str, code: str, encounter: Encounter) -> str:
    if text:
        return canonical_system(text)
    if kind == "diagnoses":
        return ICD10CM
    if encounter.encounter_class.is_inpatient and len(code) == 7:
        return ICD10PCS
    return CPT if code[:5].isdigit() else HCPCS


def _checked_line(
    context: ItemContext,
    coding: CodingSetup,
    *,
    kind: str,
    system: str,
    code: str,
    source: SourceRef,
    rule: str,
    confidence: float = 1.0,
) -> CodedLine:
    """A line for ``code``, refused unless the code is valid and billable on the date."""
    on = context.on
    if on is None:
        raise EditError("the encounter has no date of service: codes cannot be checked")
    wanted = (normalise_icd10cm(code) if system == ICD10CM else code.strip().upper()) or ""
    if not wanted:
        raise EditError(f"{code!r} is not an ICD-10-CM code")
    try:
        info = coding.codesets.lookup(system, wanted, on)
    except UnknownCodeSystemError:
        # CPT without the licensed file: carried unverified, as the engine carries it (the
        # scrubber says CODE-NOT-CHECKED); only its shape is checked, and no descriptor shown
        if system in (CPT, HCPCS) and len(wanted) == 5 and wanted.isalnum():
            return _line(
                kind, system, wanted, display="", release="unverified", source=source,
                rule=rule, confidence=confidence, on=on,
            )  # fmt: skip
        raise EditError(f"no {system} code set is loaded: {wanted} cannot be checked") from None
    except FhirCoderError as exc:
        raise EditError(str(exc)) from exc
    if not info.valid:
        raise EditError(f"{shown(system, wanted)} is not a valid code on {on.isoformat()}")
    if not info.billable:
        below = ", ".join(shown(system, c) for c in info.billable_children[:6])
        raise EditError(
            f"{shown(system, wanted)} is a header, not a billable code"
            + (f": choose one below it ({below})" if below else "")
        )
    return _line(
        kind, system, wanted, display=info.description, release=info.release, source=source,
        rule=rule, confidence=confidence, on=on,
    )  # fmt: skip


def _line(  # noqa: PLR0913 - the facts of one line, each named at the call
    kind: str, system: str, code: str, *, display: str, release: str, source: SourceRef,
    rule: str, confidence: float, on: date,
) -> CodedLine:  # fmt: skip
    return CodedLine(
        system=system,
        code=code,
        display=display,
        source=source,
        source_coding=None,
        method=CodingMethod.AS_CODED,
        confidence=confidence,
        release=release,
        role=DiagnosisRole.SECONDARY if kind == "diagnoses" else None,
        performed=on if kind == "procedures" else None,
        rule=rule,
    )


def _put(work: dict[str, Any], kind: str, index: int | None, line: CodedLine, how: str) -> None:
    entry = {"line": to_plain(line), "how": how}
    if index is None:
        work[kind].append(entry)
    else:
        work[kind][index] = entry


def apply(  # noqa: C901, PLR0912, PLR0915 - one branch per action, each a few lines
    item: WorkItem,
    work: dict[str, Any],
    action: str,
    form: dict[str, str],
    coding: CodingSetup,
    *,
    user: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The working copy after ``action`` (and the event's details: codes, never patient data).

    Actions: ``accept`` (a suggestion: ``source``, ``code``), ``reject`` (``source``,
    ``code``), ``add`` (``kind``, ``code``, optional ``system``), ``remove``, ``move``
    (``index``, ``to``: ``up`` or ``down``), ``edit`` (``index``; ``code``, ``modifiers``,
    ``units``, ``pointers`` as numbers of diagnoses), ``confirm`` (``index``).
    """
    context = context_for(item, coding)
    work = {k: list(v) if isinstance(v, list) else v for k, v in work.items()}
    kind = _kind(form)
    detail: dict[str, Any] = {"kind": kind}
    if action == "accept":
        source, code = form.get("source", ""), form.get("code", "")
        options = _suggested(item, source)
        rank = next((i for i, o in enumerate(options) if o["code"] == code), None)
        if rank is None:
            raise EditError(f"{code!r} was not suggested for {source}")
        offered = options[rank]
        line = _checked_line(
            context, coding, kind="diagnoses", system=ICD10CM, code=code,
            source=SourceRef(source), rule=f"suggestion accepted by {user}: {offered['why']}",
            confidence=float(offered["score"]),
        )  # fmt: skip
        work["diagnoses"] = [
            e for e in work["diagnoses"] if e["line"].get("source", {}).get("reference") != source
        ]
        _put(work, "diagnoses", None, line, "accepted")
        work["decided"] = [*work["decided"], source]
        detail |= {"source": source, "code": code, "rank": rank + 1}
    elif action == "reject":
        source, code = form.get("source", ""), form.get("code", "")
        if not any(o["code"] == code for o in _suggested(item, source)):
            raise EditError(f"{code!r} was not suggested for {source}")
        work["rejected"] = [*work["rejected"], {"source": source, "code": code}]
        detail |= {"source": source, "code": code}
    elif action == "add":
        code = form.get("code", "").strip()
        system = _system_for(kind, form.get("system", ""), code, context.encounter)
        source = form.get("source") or context.encounter.reference
        line = _checked_line(
            context, coding, kind=kind, system=system, code=code,
            source=SourceRef(source), rule=f"added by {user}",
        )  # fmt: skip
        _put(work, kind, None, line, "added")
        work["decided"] = [*work["decided"], source]
        detail |= {"system": system, "code": line.code}
    elif action == "remove":
        index = _index(work, kind, form)
        removed = work[kind].pop(index)
        detail |= {"code": removed["line"].get("code", ""), "how": removed["how"]}
    elif action == "move":
        index = _index(work, kind, form)
        target = index - 1 if form.get("to") == "up" else index + 1
        if not 0 <= target < len(work[kind]):
            raise EditError("the line cannot move further")
        work[kind][index], work[kind][target] = work[kind][target], work[kind][index]
        detail |= {"from": index + 1, "to": target + 1}
    elif action == "edit":
        index = _index(work, kind, form)
        line = from_plain(CodedLine, work[kind][index]["line"])
        before = line.code
        if form.get("code") and form["code"].strip().upper().replace(".", "") != line.code:
            fresh = _checked_line(
                context, coding, kind=kind, system=line.system, code=form["code"],
                source=line.source, rule=f"edited by {user} (was {shown(line.system, line.code)})",
            )  # fmt: skip
            line = replace(fresh, role=line.role, modifiers=line.modifiers, units=line.units)
        if "modifiers" in form:
            modifiers = tuple(m.upper() for m in form["modifiers"].replace(",", " ").split())
            if any(len(m) != 2 or not m.isalnum() for m in modifiers):
                raise EditError("modifiers are two letters or digits each, such as 25 or RT")
            line = replace(line, modifiers=modifiers[:4])
        if form.get("units"):
            try:
                units = int(form["units"])
            except ValueError as exc:
                raise EditError("units are a whole number") from exc
            if not 1 <= units <= 999:
                raise EditError("units run from 1 to 999")
            line = replace(line, units=units)
        if "pointers" in form and kind == "procedures":
            line = replace(
                line, reason_codes=_pointed(work, form["pointers"]), reason_references=()
            )
        line = replace(line, needs_review=False)
        _put(work, kind, index, line, "edited")
        work["decided"] = [*work["decided"], line.source.reference]
        detail |= {"from": before, "code": line.code, "modifiers": list(line.modifiers)}
        detail["units"] = line.units
    elif action == "confirm":
        index = _index(work, kind, form)
        line = replace(from_plain(CodedLine, work[kind][index]["line"]), needs_review=False)
        how = work[kind][index]["how"]
        _put(work, kind, index, line, "confirmed" if how == "engine" else how)
        work["decided"] = [*work["decided"], line.source.reference]
        detail |= {"code": line.code}
    else:
        raise EditError(f"no such action: {action!r}")
    work["decided"] = list(dict.fromkeys(work["decided"]))
    return work, detail


def _pointed(work: dict[str, Any], text: str) -> tuple[str, ...]:
    """The diagnosis codes a procedure line points at, from their numbers (``1 2``)."""
    codes: list[str] = []
    for part in text.replace(",", " ").split():
        if not part.isdigit() or not 1 <= int(part) <= len(work["diagnoses"]):
            raise EditError(f"pointer {part!r} names no diagnosis (1 to {len(work['diagnoses'])})")
        codes.append(str(work["diagnoses"][int(part) - 1]["line"]["code"]))
    if len(codes) > 4:
        raise EditError("a service line points at four diagnoses at most")
    return tuple(dict.fromkeys(codes))


def _suggested(item: WorkItem, source: str) -> list[dict[str, Any]]:
    for entry in item.payload.get("suggestions") or []:
        if entry["source"] == source:
            return list(entry["options"])
    return []


@dataclass(frozen=True, slots=True)
class Rescrubbed:
    """The item's lines as the coder left them, and what is left to do."""

    coded: CodedEncounter
    issues: tuple[Issue, ...]
    claim: dict[str, Any] | None

    @property
    def blocking(self) -> tuple[Issue, ...]:
        """Findings that stop the release."""
        return tuple(issue for issue in self.issues if issue.severity.blocks)

    @property
    def to_confirm(self) -> tuple[CodedLine, ...]:
        """Lines still marked for a person."""
        return tuple(line for line in self.coded.lines if line.needs_review)

    @property
    def ready(self) -> bool:
        """Whether the Claim can be released: built, nothing blocking, nothing to confirm."""
        return self.claim is not None and not has_errors(self.issues) and not self.to_confirm


def rescrub(
    item: WorkItem, work: dict[str, Any], coding: CodingSetup, *, created: datetime
) -> Rescrubbed:
    """The encounter edits, the Claim and the scrubber over the coder's lines."""
    context = context_for(item, coding)
    diagnoses = tuple(
        replace(line, role=DiagnosisRole.PRINCIPAL if n == 0 else _secondary(line.role))
        for n, line in enumerate(_lines(work, "diagnoses"))
    )
    procedures = _lines(work, "procedures")
    # a service the coder has coded after all is billed as that line, not charged twice
    coded_sources = {line.source for line in procedures}
    charges = tuple(c for c in context.charges if c.source not in coded_sources)
    coded = CodedEncounter(context.encounter, diagnoses, procedures, charges=charges)
    decided = set(work.get("decided") or ())
    kept = tuple(
        issue
        for issue in context.engine_issues
        if not (
            issue.source in decided
            and (issue.rule in _SETTLED_BY_DECISION or issue.rule.startswith("NEEDS-CODER-"))
        )
    )
    coded = replace(coded, issues=kept)
    options = default_claim_options()
    issues = kept + validate(coded) + facility_charges(coded, options.fee_schedule).issues
    if not claim_can_be_built(issues):
        return Rescrubbed(coded, issues, None)
    claim = build_claim(coded, issues, created=created, options=options)
    scrubbed = scrub_built_claim(
        claim, coded, pipeline_scrubber(coding), coding, created=created, options=options
    )
    issues += scrubbed
    if has_errors(scrubbed):
        claim = build_claim(coded, issues, created=created, options=options)
    return Rescrubbed(coded, issues, claim)


def _secondary(role: DiagnosisRole | None) -> DiagnosisRole:
    return DiagnosisRole.ADMITTING if role is DiagnosisRole.ADMITTING else DiagnosisRole.SECONDARY
