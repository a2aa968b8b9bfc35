"""Encounters assembled from an NDJSON export, the way the server gatherer assembles them.

The export's index (:class:`~adapters.bulk.export_index.ExportIndex`) answers what the
server's searches and reads would: the Conditions and Procedures filed under the
encounter (``Condition?encounter=``), the subject (conditional or literal), the
beneficiary's Coverage (``Coverage?patient=``), the practitioners and organisation the
encounter names, and the conditions ``Encounter.diagnosis`` lists. The resources then go
through the same functions :func:`adapters.gathering.gather.gather_encounter` uses
(:mod:`adapters.gathering.listing`, :mod:`adapters.gathering.parties`,
:func:`adapters.gathering.assembly.assemble_encounter`), so an encounter coded from a
server and from its export comes out the same.

:func:`encounters_from_ndjson` is the one call for a batch (Spark executors use it too);
:class:`NdjsonEncounters` serves ``fhir-coder run --from-ndjson``'s workers one encounter
at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from adapters.bulk.export_index import (
    ExportIndex,
    IndexReport,
    Located,
    Where,
    ndjson_files,
    normalise_reference,
    resolved,
)
from adapters.fhir.reading import read_coverage, read_patient, reference_of
from adapters.fhir.references import Fetch, Unresolvable, plan_reference
from adapters.gathering.assembly import assemble_encounter
from adapters.gathering.listing import listed_diagnoses, listed_plans
from adapters.gathering.parties import party_plans, providers, read_issue
from fhir_coder.errors import CodingError
from fhir_coder.model import CoverageRef, Encounter, Provider
from fhir_coder.outcome import Issue

__all__ = ["AssembledEncounter", "NdjsonEncounters", "encounters_from_ndjson"]

_PARTY_CACHE = 4096  # practitioners and organisations kept parsed: a few hundred per hospital
_PATIENT_CACHE = 64  # recent patients with their Coverage: bounded, whatever the population
_GROUP = 64  # encounters (of whole patients) whose resources are read in one query
_MOST = 512  # ... and at most, however many one patient has
_AHEAD = 16
"""Encounters assembled before the caller gets them: reading and coding then take turns in
bursts, each finding its own tables and code still in the CPU's caches (one at a time,
interleaved, both ran 10-15% slower). Held as the core's types, not parsed JSON: 16 stay
under the collector's threshold (64 did not)."""

Prefetched = tuple[str, Where | None, list[Located]]
"""A patient id the export files encounters under, where that Patient is (None: not in the
export) and where the Coverage filed under them is, looked up for several encounters at
once (read only if the patient is not among the last few)."""

OWNED = ("Condition", "Procedure", "Immunization", "MedicationAdministration")
"""What the index files under an encounter, all read in one query."""


@dataclass(frozen=True, slots=True)
class AssembledEncounter:
    """One encounter of the export: assembled, or the reason it could not be.

    ``version`` keys the job ledger: the Encounter's ``meta.versionId``, or a hash of its
    line when the export carries none.
    """

    encounter_id: str
    version: str
    patient_id: str
    encounter: Encounter | None
    error: CodingError | None = None


class _Subject:
    """A patient of the export and their Coverage, each read into the core's types once.

    Exports group encounters by patient: the same Patient and Coverage were read again for
    each of their encounters (about 4 us an encounter).
    """

    __slots__ = ("_read", "covered", "facts", "patient")

    def __init__(self, patient: dict[str, Any], covered: list[dict[str, Any]]) -> None:
        self.patient = patient
        self.covered = covered
        self.facts = read_patient(patient)
        self._read: dict[int, CoverageRef] = {}

    def coverage(self, resource: dict[str, Any]) -> CoverageRef:
        """:func:`read_coverage` of one of :attr:`covered` (kept alive there: its id names it)."""
        found = self._read.get(id(resource))
        if found is None:
            found = self._read[id(resource)] = read_coverage(resource)
        return found


class NdjsonEncounters:
    """The encounters of one indexed export, each assembled on demand.

    ``source_id`` names the EHR the export came from (it keys the Claim ids, exactly as
    ``run --server`` would with the same source).
    """

    def __init__(self, index: ExportIndex, *, source_id: str) -> None:
        self.index = index
        self.source_id = source_id
        self._parties: dict[str, dict[str, Any] | str] = {}
        self._patients: dict[str, _Subject] = {}
        self._providers_of: dict[bytes, tuple[Provider, ...]] = {}

    def lookup(self, plan: dict[str, Any] | Fetch | Unresolvable) -> dict[str, Any] | str:
        """The resource a planned reference leads to in the export, or why it leads nowhere."""
        if isinstance(plan, Unresolvable):
            return plan.reason
        if not isinstance(plan, Fetch):
            return plan  # contained
        party = plan.resource_type in ("Practitioner", "PractitionerRole", "Organization")
        if party and (cached := self._parties.get(plan.key)) is not None:
            return cached
        found = self._fetch(plan)
        if party:
            if len(self._parties) >= _PARTY_CACHE:
                self._parties.clear()
            self._parties[plan.key] = found
        return found

    def _fetch(self, plan: Fetch) -> dict[str, Any] | str:
        key = self.index.resolve_search(plan.key) if plan.search else plan.key
        if not resolved(key):
            return key  # the reason the search found no one resource
        kind, _, resource_id = key.partition("/")
        found = self.index.get(kind, resource_id)
        return found if found is not None else f"{key} is not in the export"

    def encounter(self, encounter_id: str) -> Encounter:
        """The encounter ``encounter_id``, assembled; ``CodingError`` when it cannot be.

        As with a server: an encounter not in the export, or whose subject is no Patient
        the export holds, cannot be coded; anything else missing is an issue on it.
        """
        resource = self.index.get("Encounter", encounter_id)
        if resource is None:
            raise CodingError(f"Encounter/{encounter_id} is not in the export")
        return self.assemble(resource)

    def assemble(
        self,
        resource: dict[str, Any],
        owned: dict[str, list[dict[str, Any]]] | None = None,
        read: Prefetched | None = None,
    ) -> Encounter:
        """The core's Encounter from an Encounter of the export and what the index holds.

        ``owned`` is what the index files under the encounter (:data:`OWNED`), and ``read``
        the patient the export files it under with their Coverage, when the caller has read
        them already (:meth:`assembled` reads a few patients' at once).
        """
        reference = f"Encounter/{resource.get('id')}"
        base = self.index.base_url
        issues: list[Issue] = []
        subject = self._patient(resource, reference, read)
        if owned is None:
            owned = self.index.owned_by_type(reference, OWNED)
        listed = listed_plans(resource, base, issues)
        return assemble_encounter(
            self._locations_literal(resource, issues),
            patient=subject.patient,
            diagnoses=listed_diagnoses(resource, self.lookup, owned["Condition"], listed, issues),
            procedures=owned["Procedure"],
            coverages=subject.covered,
            providers=self._providers(resource, issues),
            source_id=self.source_id,
            issues=issues,
            immunizations=owned["Immunization"],
            medications=owned["MedicationAdministration"],
            patient_facts=subject.facts,
            coverage_reader=subject.coverage,
        )

    def _providers(self, resource: dict[str, Any], issues: list[Issue]) -> tuple[Provider, ...]:
        """The encounter's providers, as gathering's :func:`providers` reads them.

        Encounters name the same few practitioners and organisation over and over: the
        answer for the same participants and service provider is kept (the index does not
        change while it is read), unless following them raised an issue, which names the
        encounter, or the encounter has contained resources they might point at.
        """
        key = b""
        if "contained" not in resource:
            key = orjson.dumps([resource.get("participant"), resource.get("serviceProvider")])
            cached = self._providers_of.get(key)
            if cached is not None:
                return cached
        found: list[Issue] = []
        answer = providers(resource, party_plans(resource, self.index.base_url), self.lookup, found)
        issues.extend(found)
        if key and not found:
            if len(self._providers_of) >= _PARTY_CACHE:
                self._providers_of.clear()
            self._providers_of[key] = answer
        return answer

    def _patient(
        self,
        resource: dict[str, Any],
        reference: str,
        read: Prefetched | None = None,
    ) -> _Subject:
        """The subject and their Coverage (``read``, when read already for that patient).

        The last few patients are kept: exports group by patient, so an encounter's patient
        is often the previous one's.
        """
        subject = resource.get("subject")
        key = reference_of(subject)
        cached = self._patients.get(key) if key and "?" not in key else None
        if cached is not None:
            return cached
        patient: dict[str, Any] | str | None = None
        if read is not None and read[1] is not None and key and "?" not in key:
            literal = normalise_reference(key, self.index.base_url)
            if literal == f"Patient/{read[0]}":
                patient = self.index.load_at("Patient", read[0], read[1])
        if patient is None:
            plan = plan_reference(subject, self.index.base_url, container=resource,
                                  expected_type="Patient")  # fmt: skip
            patient = self.lookup(plan)
        if isinstance(patient, str) or patient.get("resourceType") != "Patient":
            why = patient if isinstance(patient, str) else "not a Patient"
            raise CodingError(f"{reference} has no Patient subject that can be read: {why}")
        found = (
            self.index.load_located(read[2], ("Coverage",))["Coverage"]
            if read is not None and read[0] == patient.get("id")
            else self.index.owned(f"Patient/{patient.get('id')}", "Coverage")
        )
        subject = _Subject(patient, [self._payors_literal(c) for c in found])
        if key and "?" not in key:
            if len(self._patients) >= _PATIENT_CACHE:
                self._patients.pop(next(iter(self._patients)))
            self._patients[key] = subject
        return subject

    def _locations_literal(self, resource: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
        """``resource`` with conditional ``Encounter.location`` references made ``Location/id``.

        As a server does when it loads the export (the chargemaster rates a stay's nights by
        the Location's literal reference). One that matches no one Location is kept as
        written, with an issue saying why (the export's report lists it too).
        """
        stays = resource.get("location")
        if not isinstance(stays, list) or not any(
            isinstance(s, dict) and "?" in reference_of(s.get("location")) for s in stays
        ):
            return resource
        rewritten = []
        for stay in stays:
            ref = reference_of(stay.get("location")) if isinstance(stay, dict) else ""
            if "?" not in ref:
                rewritten.append(stay)
                continue
            found = self.index.resolve_search(normalise_reference(ref, self.index.base_url))
            if resolved(found):
                rewritten.append({**stay, "location": {**stay["location"], "reference": found}})
                continue
            rewritten.append(stay)
            issues.append(
                read_issue(
                    f"the location reference {ref} cannot be followed: {found}",
                    f"Encounter/{resource.get('id')}",
                    "Encounter.location.location",
                    rule="READ-UNRESOLVED-REFERENCE",
                )
            )
        return {**resource, "location": rewritten}

    def _payors_literal(self, coverage: dict[str, Any]) -> dict[str, Any]:
        """``coverage`` with conditional payor references written as the ``Type/id`` they match.

        A server resolves them when the export is loaded; read raw, the Claim's insurer
        would otherwise be a search URL. One that matches nothing is kept as written.
        """
        payors = coverage.get("payor")
        if not isinstance(payors, list) or not any(
            "?" in reference_of(p) for p in payors if isinstance(p, dict)
        ):
            return coverage
        rewritten = []
        for payor in payors:
            ref = reference_of(payor)
            found = self.index.resolve_search(normalise_reference(ref)) if "?" in ref else ""
            literal = resolved(found)
            rewritten.append({**payor, "reference": found} if literal else payor)
        return {**coverage, "payor": rewritten}

    async def gather(self, encounter_id: str, *, patient_hint: str = "") -> Encounter:  # noqa: ARG002 - the gatherer's signature
        """:meth:`encounter`, in the shape the pipeline calls a gatherer."""
        return self.encounter(encounter_id)

    def assembled(self, status: str | None = "finished") -> Iterator[AssembledEncounter]:
        """Every encounter (with ``status`` unless None), patient by patient, streamed.

        What the index files under a patient's encounters is read in one query for all of
        them (at most :data:`_GROUP` at a time), not one per encounter.
        """
        group: list[tuple[str, str, str, Where]] = []
        for row in self.index.encounter_places(status):
            if group and ((len(group) >= _GROUP and row[2] != group[-1][2]) or len(group) >= _MOST):
                yield from self._assembled_group(group)
                group = []
            group.append(row)
        if group:
            yield from self._assembled_group(group)

    def _assembled_group(
        self, group: list[tuple[str, str, str, Where]]
    ) -> Iterator[AssembledEncounter]:
        """The encounters of a few patients, what is filed under them found in two queries.

        Handed over :data:`_AHEAD` at a time.
        """
        patient_ids = list(dict.fromkeys(row[2] for row in group if row[2]))
        owners = [f"Encounter/{row[0]}" for row in group]
        owners += [f"Patient/{p}" for p in patient_ids]  # their Coverage in the same query
        located = self.index.locate_owned(owners)
        patients = self.index.locate_each("Patient", patient_ids)
        ahead: list[AssembledEncounter] = []
        for encounter_id, version, patient, where in group:
            if len(ahead) >= _AHEAD:
                yield from ahead
                ahead = []
            read = (
                (patient, patients.get(patient), located.get(f"Patient/{patient}", []))
                if patient
                else None
            )
            try:
                resource = self.index.load_at("Encounter", encounter_id, where)
                owned = self.index.load_located(located.get(f"Encounter/{encounter_id}", []), OWNED)
                encounter: Encounter | None = self.assemble(resource, owned, read)
                error = None
            except CodingError as exc:
                encounter, error = None, exc
            ahead.append(AssembledEncounter(encounter_id, version, patient, encounter, error))
        yield from ahead


def encounters_from_ndjson(
    paths: Iterable[Path],
    *,
    source_id: str,
    status: str | None = "finished",
    base_url: str = "",
    index_path: Path | None = None,
    report: IndexReport | None = None,
) -> Iterator[AssembledEncounter]:
    """Every encounter of the NDJSON files or folders ``paths``, assembled, in bounded memory.

    The files are read once into an on-disk index (a temporary one unless ``index_path``
    names a file to keep), conditional references resolved after the last file, then the
    encounters with ``status`` (``None``: all) are yielded one at a time, each either an
    :class:`~fhir_coder.model.Encounter` or the :class:`CodingError` that stopped it
    (none is skipped). ``source_id`` names the EHR (it keys Claim ids, as ``run`` does);
    ``base_url`` is that server's base, so absolute references to it resolve. Pass a
    ``report`` to learn what was read, skipped and left unresolved.

    >>> for item in encounters_from_ndjson([Path("export/")], source_id="ehr"):  # doctest: +SKIP
    ...     if item.encounter is not None:
    ...         code_and_build(item.encounter, coding, created=now)
    """
    files = ndjson_files(paths)
    with ExportIndex(index_path, base_url=base_url) as index:
        found = index.add(files, report)
        index.finish(found)
        yield from NdjsonEncounters(index, source_id=source_id).assembled(status)
