"""Trying each need for real: searches by each parameter, paging, references, a gather.

Declared is not working: a server may list ``Condition?encounter=`` and ignore it
(answering every Condition), refuse a search without a patient, or page wrongly. Each
trial here is one check (:func:`adapters.probe.stepping.run_step`), timed, with its round
trips counted. They share a :class:`Trials` state: the finished encounter found (or
named with ``--encounter``) and its patient, which later trials need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from adapters.fhir.batch import batch_get
from adapters.fhir.capabilities import ServerCapabilities
from adapters.fhir.client import FhirClient, matches
from adapters.fhir.references import Fetch, plan_reference
from adapters.fhir.rounds import GatherSession
from adapters.fhir.search import Query
from adapters.gathering.gather import gather_encounter
from adapters.probe.model import Check, Status
from adapters.probe.needs import SEARCHES, Search
from adapters.probe.stepping import Outcome, not_applicable, run_step
from fhir_coder.errors import FhirError

__all__ = ["Trials"]

_NO_ENCOUNTER = (
    "no finished encounter to try it on: name one with --encounter ID (servers that refuse "
    "server-wide searches need it)"
)
_POLL_SINCE = "gt2000-01-01"


def _reference_to(value: object) -> str:
    return str(value.get("reference") or "") if isinstance(value, dict) else ""


def _points_at(resource: dict[str, Any], field_name: str, target: str) -> bool:
    """Whether ``resource[field_name]`` (a Reference) may point at ``target`` (``Type/id``).

    A reference by identifier only (Epic's encounter CSNs) cannot be compared, so it is
    given the benefit of the doubt.
    """
    ref = _reference_to(resource.get(field_name)).split("/_history/")[0]
    return not ref or ref == target or ref.endswith(f"/{target}")


@dataclass(slots=True)
class Trials:
    """The tried checks of one probe, and what they found for each other."""

    fhir: FhirClient
    caps: ServerCapabilities
    encounter_id: str | None = None
    encounter: dict[str, Any] | None = None
    patient_id: str | None = None
    server_wide_search: bool = False
    found: dict[str, int] = field(default_factory=dict)  # matches per explicit search
    batch_works: bool | None = None

    async def _first_page(self, query: Query) -> dict[str, Any]:
        async for page in self.fhir.pages(query):
            return page
        raise FhirError("the search answered no page", url=self.fhir.base_url)

    async def find_encounter(self) -> Check:
        """The encounter to try things on: the one named, or a finished one found by status."""
        if self.encounter_id is not None:
            return await self._read_named()
        need = next(s for s in SEARCHES if s.param == "status")

        async def step() -> Outcome:
            page = await self._first_page(Query("Encounter").where(status="finished").limit(5))
            found = list(matches(page, "Encounter"))
            self.server_wide_search = True
            finished = [e for e in found if e.get("status") == "finished"]
            if finished:
                self._take(finished[0])  # the other trials can go on, whatever the verdict
            if len(finished) < len(found):
                return Outcome(
                    Status.FAIL,
                    f"{len(found) - len(finished)} of {len(found)} matches are not finished: "
                    "the status parameter is ignored",
                    need.without,
                )
            if not found:
                return Outcome(
                    Status.NOT_APPLICABLE, "no finished encounter on the server", _NO_ENCOUNTER
                )
            return Outcome(Status.PASS, f"{len(found)} finished encounter(s) on the first page")

        return await run_step(
            "tried.search.Encounter.status",
            "search Encounter?status=finished (server-wide)",
            step,
            required=False,
            consequence=need.without,
        )

    async def _read_named(self) -> Check:
        encounter_id = self.encounter_id or ""

        async def step() -> Outcome:
            encounter = await self.fhir.read("Encounter", encounter_id)
            self._take(encounter)
            status = encounter.get("status")
            if status != "finished":
                return Outcome(
                    Status.FAIL,
                    f"the encounter's status is {status!r}",
                    "the plugin codes finished encounters: name a finished one",
                )
            return Outcome(Status.PASS, "read, status finished")

        return await run_step(
            "tried.read.Encounter",
            "read the named Encounter",
            step,
            required=True,
            consequence="check the id given with --encounter",
        )

    def _take(self, encounter: dict[str, Any]) -> None:
        self.encounter = encounter
        self.encounter_id = str(encounter.get("id") or self.encounter_id or "")
        subject = plan_reference(encounter.get("subject"), self.fhir.base_url, container=encounter)
        if isinstance(subject, Fetch) and subject.resource_type == "Patient" and not subject.search:
            self.patient_id = subject.key.split("/", 1)[1]

    async def poll_search(self) -> Check:
        """``Encounter?_lastUpdated=gt...``: how polling asks for what changed."""
        need = next(s for s in SEARCHES if s.param == "_lastUpdated")

        async def step() -> Outcome:
            query = Query("Encounter").where(_lastUpdated=_POLL_SINCE).limit(1)
            page = await self._first_page(query)
            return Outcome(Status.PASS, f"{len(list(matches(page, 'Encounter')))} match(es)")

        return await run_step(
            "tried.search.Encounter._lastUpdated",
            "search Encounter?_lastUpdated=",
            step,
            required=False,
            consequence=need.without,
        )

    async def searches(self) -> list[Check]:
        """``Condition?encounter=``, ``Procedure?encounter=``, ``Coverage?patient=``."""
        checks = []
        for need in SEARCHES:
            if need.resource_type == "Encounter":
                continue
            checks.append(await self._search(need))
        return checks

    async def _search(self, need: Search) -> Check:
        id_ = f"tried.search.{need.resource_type}.{need.param}"
        title = f"search {need.resource_type}?{need.param}="
        if need.param == "encounter":
            target = f"Encounter/{self.encounter_id}" if self.encounter else None
            field_name = "encounter"
        else:
            target = f"Patient/{self.patient_id}" if self.patient_id else None
            field_name = "beneficiary"
        if target is None:
            return not_applicable(id_, title, _NO_ENCOUNTER, required=need.required)

        async def step() -> Outcome:
            query = Query(need.resource_type).where((need.param, target)).limit(200)
            found = await self.fhir.search_all(query)
            self.found[need.resource_type] = len(found)
            stray = [r for r in found if not _points_at(r, field_name, target)]
            if stray:
                return Outcome(
                    Status.FAIL,
                    f"{len(stray)} of {len(found)} matches do not point at the "
                    f"{target.split('/')[0].lower()}: the parameter is ignored",
                    f"without it {need.without}",
                )
            return Outcome(Status.PASS, f"{len(found)} match(es), all pointing at it")

        return await run_step(
            id_, title, step, required=need.required, consequence=f"without it {need.without}"
        )

    async def paging(self) -> Check:
        """A search of one entry per page, followed to its second page by the next link."""
        if self.server_wide_search:
            query = Query("Encounter").where(status="finished").limit(1)
        elif self.patient_id is not None:
            query = Query("Encounter").where(patient=f"Patient/{self.patient_id}").limit(1)
        else:
            return not_applicable("tried.paging", "paging to a second page", _NO_ENCOUNTER)

        async def step() -> Outcome:
            pages: list[dict[str, Any]] = []
            async for page in self.fhir.pages(query):
                pages.append(page)
                if len(pages) == 2:
                    break
            if len(pages) < 2:
                return Outcome(Status.NOT_APPLICABLE, "one match only: no second page to read")
            first, second = ([r.get("id") for r in matches(p, "Encounter")] for p in pages)
            if not second or set(first) & set(second):
                return Outcome(
                    Status.FAIL,
                    "the second page repeats the first or is empty",
                    "searches with many matches would lose or repeat resources",
                )
            return Outcome(Status.PASS, "followed the next link to a second, different page")

        return await run_step(
            "tried.paging",
            "paging to a second page",
            step,
            required=True,
            consequence="searches longer than one page cannot be read in full",
        )

    async def references(self) -> Check:
        """Every reference the encounter makes that gathering follows, resolved."""
        encounter = self.encounter
        if encounter is None:
            return not_applicable("tried.references", "reference resolution", _NO_ENCOUNTER)

        async def step() -> Outcome:
            values = [
                ("Patient", encounter.get("subject")),
                ("Organization", encounter.get("serviceProvider")),
                *(
                    ("Practitioner", p.get("individual"))
                    for p in encounter.get("participant") or []
                ),
                *(("Condition", d.get("condition")) for d in encounter.get("diagnosis") or []),
            ]
            resolved, failed = 0, []
            for expected, value in values:
                if value is None:
                    continue
                plan = plan_reference(
                    value, self.fhir.base_url, container=encounter, expected_type=expected
                )
                if isinstance(plan, dict):
                    resolved += 1
                elif isinstance(plan, Fetch):
                    try:
                        await self._fetch(plan)
                        resolved += 1
                    except FhirError as exc:
                        failed.append(f"{plan.resource_type}: {exc}")
                else:
                    failed.append(f"{expected}: {plan.reason}")
            if failed:
                return Outcome(
                    Status.FAIL,
                    f"{resolved} resolved, {len(failed)} not: {'; '.join(failed[:3])}",
                    "the claim lacks what those references name (provider, diagnoses)",
                )
            return Outcome(Status.PASS, f"{resolved} reference(s) resolved")

        return await run_step(
            "tried.references",
            "reference resolution",
            step,
            required=True,
            consequence="the claim lacks what those references name",
        )

    async def _fetch(self, plan: Fetch) -> None:
        if not plan.search:
            type_, id_ = plan.key.split("/", 1)
            await self.fhir.read(type_, id_)
            return
        type_, _, query = plan.url.partition("?")
        found = await self.fhir.search_all(type_, parse_qsl(query))
        if len(found) != 1:
            raise FhirError(f"{type_}?... matched {len(found)} resources, not one", url=type_)

    async def gather(self) -> Check:
        """A gather of the encounter end to end, as the pipeline does it."""
        if self.encounter is None or not self.encounter_id:
            return not_applicable(
                "tried.gather", "gather one finished encounter", _NO_ENCOUNTER, required=True
            )
        encounter_id = self.encounter_id

        async def step() -> Outcome:
            session = GatherSession(self.fhir)
            gathered = await gather_encounter(self.fhir, encounter_id, session=session)
            strategy = await session.decide()
            self.batch_works = strategy.batch
            return Outcome(
                Status.PASS,
                f"{len(gathered.diagnoses)} diagnosis(es), {len(gathered.procedures)} "
                f"procedure(s), {len(gathered.coverages)} coverage(s); "
                f"batch {'on' if strategy.batch else 'off'}, "
                f"include {'on' if strategy.include else 'off'}",
            )

        return await run_step(
            "tried.gather",
            "gather one finished encounter",
            step,
            required=True,
            consequence="encounters cannot be coded from this server",
        )

    async def batch(self) -> Check:
        """One batch Bundle of a read, where the server declares batches."""
        title = "batch Bundle of reads"
        if not self.caps.batch:
            return not_applicable("tried.batch", title, "batches not declared")
        if self.encounter_id is None:
            return not_applicable("tried.batch", title, _NO_ENCOUNTER)
        reference = f"Encounter/{quote(self.encounter_id)}"

        async def step() -> Outcome:
            answers = await batch_get(self.fhir, [reference])
            if isinstance(answers[0], FhirError):
                raise answers[0]
            self.batch_works = True
            return Outcome(Status.PASS, "a batch of one read answered")

        return await run_step(
            "tried.batch",
            title,
            step,
            required=False,
            consequence="each gathering round is sent as concurrent requests (more round trips)",
        )

    async def include(self) -> Check:
        """``_revinclude=Condition:encounter`` compared with the explicit search's count."""
        title = "_revinclude Condition:encounter"
        if not self.caps.can_revinclude("Encounter", "Condition:encounter"):
            return not_applicable("tried.include", title, "_revinclude not declared")
        if self.encounter_id is None or "Condition" not in self.found:
            return not_applicable("tried.include", title, _NO_ENCOUNTER)
        expected = self.found["Condition"]
        encounter_id = self.encounter_id

        async def step() -> Outcome:
            query = Query("Encounter").where(_id=encounter_id).revinclude("Condition:encounter")
            page = await self._first_page(query.limit(200))
            included = sum(
                1
                for e in page.get("entry") or []
                if isinstance(e, dict)
                and (e.get("resource") or {}).get("resourceType") == "Condition"
            )
            if included != expected:
                return Outcome(
                    Status.LIMITED,
                    f"{included} Condition(s) included where the search found {expected}",
                    "Conditions are found by explicit searches instead",
                )
            return Outcome(Status.PASS, f"{included} Condition(s) included, as searched")

        return await run_step(
            "tried.include",
            title,
            step,
            required=False,
            consequence="Conditions are found by explicit searches instead",
        )
