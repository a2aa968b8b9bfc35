"""``fhir-coder codes``: look codes up, search them by words, translate, and list code sets.

``lookup`` answers for a code and a date (valid, billable, description, children,
notes, release); ``search`` finds codes by the words of their descriptions and inclusion
terms; ``translate`` runs a crosswalk (SNOMED CT -> ICD-10-CM or ICD-10-PCS) for a
patient's age and sex and checks every target against the code set for the date;
``info`` lists the loaded code sets and crosswalks with their releases and sources.
Every subcommand prints one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from fhir_coder.errors import UnknownCodeSystemError
from fhir_coder.ports import CodeInfo
from fhir_coder.systems import (
    CPT,
    HCPCS,
    ICD10CM,
    ICD10PCS,
    SNOMED,
    canonical_system,
    display_icd10cm,
)

if TYPE_CHECKING:
    from codesets import CodeSetRegistry
    from codesets.crosswalks import CrosswalkRegistry
    from fhir_coder.ports import Translation

__all__ = ["register"]

SHORT_NAMES = {
    "icd10cm": ICD10CM,
    "icd-10-cm": ICD10CM,
    "icd10pcs": ICD10PCS,
    "icd-10-pcs": ICD10PCS,
    "pcs": ICD10PCS,
    "hcpcs": HCPCS,
    "cpt": CPT,
    "snomed": SNOMED,
    "sct": SNOMED,
}
"""Names people type for the systems, beside their URIs and OIDs."""


def register(commands: Subcommands) -> None:
    """Add ``codes`` and its subcommands to the CLI."""
    codes = commands.add_parser(
        "codes",
        help="look up, search and translate codes; list the loaded code sets",
        description="Ask the code sets and crosswalks fhir-coder uses. Systems may be given "
        "by URI, OID or short name (icd10cm, pcs, hcpcs, cpt, snomed).",
    )
    sub = codes.add_subparsers(dest="codes_command", required=True, metavar="SUBCOMMAND")

    lookup = sub.add_parser("lookup", help="what a code set says about a code on a date")
    lookup.add_argument("code", help="the code, dotted or not (E11.9, e119, 0DTJ4ZZ)")
    lookup.add_argument("--system", default="icd10cm", help="code system (default: icd10cm)")
    _date_options(lookup)
    lookup.set_defaults(run=_run_lookup)

    search = sub.add_parser("search", help="ICD-10-CM codes by the words of their descriptions")
    search.add_argument("words", help='words to find, e.g. "type 2 diabetes"')
    search.add_argument("--system", default="icd10cm", help="icd10cm (default) or pcs")
    search.add_argument("--date", type=_iso_date, help="only codes valid on this date")
    search.add_argument("--billable", action="store_true", help="only billable codes")
    search.add_argument("--limit", type=int, default=20, help="most results (default 20)")
    search.add_argument("--json", action="store_true", help="print one JSON object")
    search.set_defaults(run=_run_search)

    translate = sub.add_parser("translate", help="crosswalk a code, e.g. snomed|44054006")
    translate.add_argument("source", metavar="SYSTEM|CODE", help="source system and code")
    translate.add_argument("--target", help="target system (default: ICD-10-CM, else PCS)")
    translate.add_argument("--age", type=int, help="patient's age in whole years")
    translate.add_argument("--sex", choices=("female", "male"), help="administrative sex")
    _date_options(translate)
    translate.set_defaults(run=_run_translate)

    info = sub.add_parser("info", help="every loaded code set and crosswalk with its release")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=_run_info)


def _date_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_iso_date, help="date of service (default: today)")
    parser.add_argument(
        "--nearest",
        action="store_true",
        help="for a date outside the known releases use the nearest one (flagged) "
        "instead of refusing",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def _today() -> date:
    """Today, the default date of service: a local calendar date, as on a claim."""
    return date.today()  # noqa: DTZ011 - dates of service are local calendar dates


def system_of(text: str) -> str:
    """The canonical URI for a system typed on the command line."""
    return SHORT_NAMES.get(text.strip().lower(), canonical_system(text))


def _registry(args: argparse.Namespace) -> CodeSetRegistry:
    from codesets import default_registry  # noqa: PLC0415 - loads the compiled index

    return default_registry("nearest" if getattr(args, "nearest", False) else "refuse")


def _shown(system: str, code: str) -> str:
    return display_icd10cm(code) if system == ICD10CM else code


def _run_lookup(args: argparse.Namespace) -> int:
    facts = lookup_facts(_registry(args), system_of(args.system), args.code, args.date or _today())
    if args.json:
        print_json(facts)
        return ExitCode.OK
    verdict = "valid" if facts["valid"] else "NOT valid"
    if facts["verified"] is False:
        verdict = "well formed, unverified (no code set file configured)"
    billable = "billable" if facts["billable"] else "not billable"
    out(f"{facts['display_code']}  {facts['description'] or '(no description)'}")
    out(f"  {verdict}, {billable} on {facts['date']} ({facts['version']})")
    if facts.get("needs_seventh_character"):
        out("  needs a 7th character")
    if facts.get("parent"):
        out(f"  parent: {facts['parent']}")
    if facts["children"]:
        out(f"  billable codes below: {', '.join(facts['children'][:20])}")
    for note in facts.get("notes", [])[:30]:
        out(f"  {note['kind']} ({note['written_at']}): {note['text']}")
    return ExitCode.OK


def _run_search(args: argparse.Namespace) -> int:
    registry = _registry(args)
    system = system_of(args.system)
    if system == ICD10PCS:
        words = [word for word in args.words.split() if word]
        rows = registry.procedures.pcs_text.search(words, args.limit)
        found: list[dict[str, Any]] = [
            {"system": ICD10PCS, "code": code, "description": text} for code, text in rows
        ]
    elif system == ICD10CM:
        found = [
            {
                "system": ICD10CM,
                "code": hit.code,
                "display_code": display_icd10cm(hit.code),
                "description": hit.description,
                "matched": hit.matched,
                "score": hit.score,
            }
            for hit in registry.search(
                args.words, on=args.date, limit=args.limit, billable_only=args.billable
            )
        ]
    else:
        from fhir_coder.errors import UnknownCodeSystemError  # noqa: PLC0415

        raise UnknownCodeSystemError(system)
    if args.json:
        print_json({"query": args.words, "system": system, "results": found})
        return ExitCode.OK
    if not found:
        out(f"nothing found for {args.words!r}")
    for hit in found:
        out(f"{hit.get('display_code', hit['code']):<10} {hit['description']}")
    return ExitCode.OK


def _run_translate(args: argparse.Namespace) -> int:
    from codesets.crosswalks import default_crosswalks  # noqa: PLC0415

    system_text, sep, code = args.source.rpartition("|")
    if not sep or not code:
        sys.stderr.write("fhir-coder: error: give the source as SYSTEM|CODE (snomed|44054006)\n")
        return ExitCode.USAGE
    facts = translate_facts(
        default_crosswalks(),
        _registry(args),
        system_of(system_text),
        code.strip(),
        target=system_of(args.target) if args.target else None,
        on=args.date or _today(),
        age=args.age,
        sex=args.sex,
    )
    if args.json:
        print_json(facts)
        return ExitCode.OK
    out(f"{args.source} -> {facts['target_system']} on {facts['date']}")
    if not facts["targets"]:
        answer = "not reported" if facts["not_reported"] else "needs a coder"
        reason = facts["unmapped_reason"]
        out(f"  no target ({answer}): {reason}" if reason else "  no target: in no crosswalk")
    for target in facts["targets"]:
        confirm = "a person must confirm" if target["needs_review"] else "no review needed"
        state = "valid" if target["valid"] else "NOT valid"
        out(f"  {_shown(target['system'], target['code'])}  {target['display']}")
        out(f"    {state} ({target['version']}); group {target['map_group']}; {confirm}")
        out(f"    chosen by {target['rule']} ({target['source']})")
    return ExitCode.OK


def translate_facts(
    crosswalks: CrosswalkRegistry,
    registry: CodeSetRegistry,
    system: str,
    code: str,
    *,
    target: str | None,
    on: date,
    age: int | None,
    sex: str | None,
) -> dict[str, Any]:
    """The targets for ``system|code`` with each one's validity on ``on``, as JSON."""
    targets = (target,) if target else (ICD10CM, ICD10PCS)
    chosen = targets[0]
    found: tuple[Translation, ...] = ()
    for candidate in targets:
        found = crosswalks.translate(system, code, candidate, on=on, age=age, sex=sex)
        reason = crosswalks.unmapped_reason(system, code, candidate)
        if found or reason:
            chosen = candidate
            break
    rows = []
    for translation in found:
        try:
            info = registry.lookup(translation.system, translation.code, on)
        except UnknownCodeSystemError:
            # CPT without the licensed file: the code is shaped right and cannot be checked
            info = CodeInfo(
                translation.system,
                translation.code,
                valid=True,
                billable=True,
                description="",
                release="unverified: no file for this code set",
            )
        rows.append(
            {
                "system": translation.system,
                "code": translation.code,
                "display": translation.display or info.description,
                "rule": translation.rule,
                "source": translation.source,
                "needs_review": translation.needs_review,
                "map_group": translation.map_group,
                "equivalence": translation.equivalence,
                "valid": info.valid,
                "billable": info.billable,
                "version": info.release,
            }
        )
    return {
        "source_system": system,
        "source_code": code,
        "target_system": chosen,
        "date": on.isoformat(),
        "age": age,
        "sex": sex,
        "targets": rows,
        "unmapped_reason": crosswalks.unmapped_reason(system, code, chosen),
        # True when the crosswalk says the concept is never reported (a note, not a task)
        "not_reported": bool(
            (answer := crosswalks.no_target(system, code, chosen)) and not answer.reported
        ),
    }


def _run_info(args: argparse.Namespace) -> int:
    from codesets.crosswalks import default_crosswalks  # noqa: PLC0415

    facts = info_facts(_registry(args), default_crosswalks())
    if args.json:
        print_json(facts)
        return ExitCode.OK
    for entry in facts["code_sets"]:
        span = f"{entry['first_date'] or '...'} to {entry['last_date'] or '...'}"
        out(f"{entry['name']} ({entry['system']})")
        out(f"  releases: {', '.join(entry['releases'])}; dates {span}")
        out(f"  source: {entry['source']}; validity: {entry['validity_source']}")
    for entry in facts["crosswalks"]:
        out(f"{entry['name']}: {entry['source']} ({entry['concepts']} source concepts)")
    for entry in facts["procedure_edits"]:
        out(entry)
    return ExitCode.OK


def lookup_facts(registry: CodeSetRegistry, system: str, code: str, on: date) -> dict[str, Any]:
    """What the registry says about ``system|code`` on ``on``, as JSON.

    A CPT code with no CPT file configured is checked for shape only: ``verified`` is
    false and ``valid`` says whether it is well formed.
    """
    from fhir_coder.errors import UnknownCodeSystemError  # noqa: PLC0415

    try:
        info = registry.lookup(system, code, on)
    except UnknownCodeSystemError:
        if system not in (CPT, HCPCS):
            raise
        normal = code.strip().upper()
        return {
            "system": system,
            "code": normal,
            "display_code": normal,
            "date": on.isoformat(),
            "valid": True,
            "verified": False,
            "billable": True,
            "description": "",
            "children": [],
            "version": f"unverified: no {system} file configured",
        }
    facts: dict[str, Any] = {
        "system": info.system,
        "code": info.code,
        "display_code": _shown(info.system, info.code),
        "date": on.isoformat(),
        "valid": info.valid,
        "verified": True,
        "billable": info.billable,
        "description": info.description,
        "children": list(info.billable_children),
        "version": info.release,
        "needs_seventh_character": info.needs_seventh_character,
    }
    if info.system == ICD10CM:
        described = registry.describe(info.code)
        if described is not None:
            facts["parent"] = described.parent
            facts["direct_children"] = list(described.children)
            facts["section"] = described.section
            facts["chapter"] = described.chapter
            facts["seventh_characters"] = [
                {"character": char, "meaning": meaning}
                for char, meaning in described.seventh_characters
            ]
            facts["notes"] = [
                {"kind": n.kind, "text": n.text, "codes": list(n.codes), "written_at": n.written_at}
                for n in registry.notes(ICD10CM, info.code)
            ]
            facts["valid_between"] = [
                [start.isoformat(), end.isoformat()]
                for start, end in registry.validity_windows(info.code)
            ]
    elif info.system == ICD10PCS:
        axes = registry.procedures.pcs_text.axes(info.code)
        if axes is not None:
            facts["axes"] = {
                "section": axes.section,
                "body_system": axes.body_system,
                "root_operation": axes.root_operation,
                "body_part": axes.body_part,
                "approach": axes.approach,
                "device": axes.device,
                "qualifier": axes.qualifier,
            }
    return facts


def info_facts(registry: CodeSetRegistry, crosswalks: CrosswalkRegistry) -> dict[str, Any]:
    """Every loaded code set, crosswalk and procedure-edit table, as JSON."""
    from codesets.ncci_config import shared_ncci  # noqa: PLC0415

    tables = shared_ncci()  # the tables validate and the pipeline use, from the same folders
    edits = tables.sources if tables is not None else []
    return {
        "code_sets": [
            {
                "system": entry.system,
                "name": entry.name,
                "releases": list(entry.releases),
                "fiscal_years": list(entry.fiscal_years),
                "first_date": entry.first_date.isoformat() if entry.first_date else None,
                "last_date": entry.last_date.isoformat() if entry.last_date else None,
                "source": entry.source,
                "validity_source": entry.validity_source,
                "codes": entry.codes,
                "cache_file": entry.cache_file,
            }
            for entry in registry.info()
        ],
        "unverified_systems": [] if CPT in registry.systems else [CPT],
        "crosswalks": [
            {"name": entry.name, "source": entry.source, "concepts": entry.concepts}
            for entry in crosswalks.info()
        ],
        "procedure_edits": edits,
    }
