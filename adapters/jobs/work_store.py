"""The work items in the job ledger's store, its SQLite file or PostgreSQL database.

Three tables: ``work_items`` (one row per source and encounter: the filter columns, the
payload as JSON, the coder's working copy, the revision and the lock), ``work_reasons`` (one
row per item and reason code, for the worklist's filter and counts) and ``work_events``
(every action, and the outbox of AuditEvents), made by the job ledger's migrations
(``schema/*/002_work_items.sql``) and reached through ``JobLedger.work``. One SQL text for
both backends (:mod:`adapters.storage`): :class:`WorkItems` answers the
:class:`adapters.jobs.work_items.WorkItemStore` methods.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

import orjson

from adapters.jobs.work_items import (
    SORTS,
    ItemKind,
    ItemLockedError,
    ItemState,
    RevisionConflictError,
    WorkEvent,
    WorkItem,
    WorkItemDraft,
    Worklist,
    WorklistQuery,
    WorkReason,
)
from adapters.storage import Row, Store, Tx

__all__ = ["WorkItems"]


_COLUMNS: Final = (
    "id, source, encounter_id, version, job_id, kind, state, reasons, rules, summary, "
    "encounter_class, payer, patient, service_date, claim_id, created, updated, revision, "
    "locked_by, locked_until, closed_by, closed_at"
)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class WorkItems:
    """:class:`WorkItemStore` over the job ledger's store (its SQLite file or PostgreSQL database).

    The tables come with the job ledger's migrations (``schema/*/002_work_items.sql``).
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    # producers --------------------------------------------------------------------------

    def record(self, draft: WorkItemDraft) -> WorkItem:
        """Create the encounter's item or update it with a newer (or the same) version.

        An older version than the item's is ignored (a late job). A coder's working copy
        survives a new version: it is kept, and an event says the encounter changed.
        """
        with self._store.write(_key(draft.source, draft.encounter_id)) as db:
            now = db.now()
            row = db.one(
                "SELECT id, version, state, work FROM work_items "
                "WHERE source = ? AND encounter_id = ?",
                (draft.source, draft.encounter_id),
            )
            if row is not None and _older(draft.version, str(row["version"])):
                item = self._get(db, int(row["id"]))
                assert item is not None  # noqa: S101 - read in the same transaction
                return item
            values = (
                draft.version,
                draft.job_id,
                draft.kind.value,
                ItemState.OPEN.value,
                " ".join(draft.reasons),
                " ".join(draft.rules),
                draft.summary,
                draft.encounter_class,
                draft.payer,
                draft.patient,
                draft.service_date,
                draft.claim_id,
                now,
                _json(draft.payload),
            )
            if row is None:
                item_id = _inserted(
                    db.one(
                        "INSERT INTO work_items (version, job_id, kind, state, reasons, rules, "
                        "summary, encounter_class, payer, patient, service_date, claim_id, "
                        "updated, payload, source, encounter_id, created) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (*values, draft.source, draft.encounter_id, now),
                    )
                )
                self._event(db, item_id, "fhir-coder", "created", {"version": draft.version})
            else:
                item_id = int(row["id"])
                changed = str(row["version"]) != draft.version
                # work in progress survives a new version; a finished item reopens from the
                # engine's lines (what was released is in its events and on the server)
                reopened = row["state"] != ItemState.OPEN.value
                db.run(
                    "UPDATE work_items SET version = ?, job_id = ?, kind = ?, state = ?, "
                    "reasons = ?, rules = ?, summary = ?, encounter_class = ?, payer = ?, "
                    "patient = ?, service_date = ?, claim_id = ?, updated = ?, payload = ?, "
                    "revision = revision + 1, closed_by = '', closed_at = 0, "
                    "work = CASE WHEN ? THEN '' ELSE work END WHERE id = ?",
                    (*values, reopened, item_id),
                )
                detail: dict[str, object] = {"version": draft.version, "from": str(row["version"])}
                if changed and row["work"] and not reopened:
                    detail["work_kept"] = True
                action = "reopened" if reopened else "recoded" if changed else "refreshed"
                self._event(db, item_id, "fhir-coder", action, detail)
            self._set_reasons(db, item_id, draft.reasons)
            item = self._get(db, item_id)
            assert item is not None  # noqa: S101 - written in the same transaction
            return item

    def settle(self, source: str, encounter_id: str, version: str, *, outcome: str) -> bool:
        """Resolve the encounter's open item: ``version`` went through without a person.

        Only an item coded from an older (or the same) version is resolved; True if one was.
        """
        with self._store.write(_key(source, encounter_id)) as db:
            row = db.one(
                "SELECT id, version FROM work_items WHERE source = ? AND encounter_id = ? "
                "AND state = ?",
                (source, encounter_id, ItemState.OPEN.value),
            )
            if row is None or _older(version, str(row["version"])):
                return False
            now = db.now()
            db.run(
                "UPDATE work_items SET state = ?, closed_by = 'fhir-coder', closed_at = ?, "
                "updated = ?, revision = revision + 1, version = ?, locked_by = '', "
                "locked_until = 0 WHERE id = ?",
                (ItemState.RESOLVED.value, now, now, version, row["id"]),
            )
            self._event(
                db,
                int(row["id"]),
                "fhir-coder",
                "resolved",
                {"version": version, "outcome": outcome},
            )
            return True

    def record_denial(
        self,
        source: str,
        encounter_id: str,
        *,
        claim_id: str,
        reasons: Sequence[str],
        detail: dict[str, Any],
        summary: str = "",
    ) -> WorkItem:
        """Put a denied Claim's encounter on the worklist (reopening a released item).

        ``reasons`` are the payer's codes as the remittance gave them (``CARC:16``,
        ``RARC:N290``: codes, never their descriptions); they go into the item's rules and
        ``detail`` (JSON: the claim's adjudication, dates, amounts) into its payload under
        ``denial``. The item keeps the coded encounter it had, if any; its reasons become
        ``denial`` plus what it had when it was still open.
        """
        with self._store.write(_key(source, encounter_id)) as db:
            now = db.now()
            row = db.one(
                "SELECT id, state, reasons, payload FROM work_items "
                "WHERE source = ? AND encounter_id = ?",
                (source, encounter_id),
            )
            text = summary or f"denied: {' '.join(reasons)}"
            if row is None:
                payload = {"denial": detail}
                item_id = _inserted(
                    db.one(
                        "INSERT INTO work_items (source, encounter_id, kind, state, reasons, "
                        "rules, summary, claim_id, created, updated, payload) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (
                            source,
                            encounter_id,
                            ItemKind.DENIAL.value,
                            ItemState.OPEN.value,
                            WorkReason.DENIAL.value,
                            " ".join(reasons),
                            text,
                            claim_id,
                            now,
                            now,
                            _json(payload),
                        ),
                    )
                )
                kept: tuple[str, ...] = ()
            else:
                item_id = int(row["id"])
                payload = {**orjson.loads(row["payload"]), "denial": detail}
                kept = _words(row["reasons"]) if row["state"] == ItemState.OPEN.value else ()
                db.run(
                    "UPDATE work_items SET kind = ?, state = ?, reasons = ?, rules = ?, "
                    "summary = ?, claim_id = ?, updated = ?, payload = ?, revision = revision + 1, "
                    "closed_by = '', closed_at = 0 WHERE id = ?",
                    (
                        ItemKind.DENIAL.value,
                        ItemState.OPEN.value,
                        " ".join(dict.fromkeys([WorkReason.DENIAL.value, *kept])),
                        " ".join(reasons),
                        text,
                        claim_id,
                        now,
                        _json(payload),
                        item_id,
                    ),
                )
            all_reasons = tuple(dict.fromkeys([WorkReason.DENIAL.value, *kept]))
            self._set_reasons(db, item_id, all_reasons)
            self._event(db, item_id, "fhir-coder", "denied", {"reasons": list(reasons)})
            item = self._get(db, item_id)
            assert item is not None  # noqa: S101 - written in the same transaction
            return item

    # readers ----------------------------------------------------------------------------

    def get(self, item_id: int) -> WorkItem | None:
        """One item by its number, with payload and working copy."""
        with self._store.read() as db:
            return self._get(db, item_id)

    def find(self, source: str, encounter_id: str) -> WorkItem | None:
        """The item of an encounter, if it has one."""
        with self._store.read() as db:
            row = db.one(
                "SELECT id FROM work_items WHERE source = ? AND encounter_id = ?",
                (source, encounter_id),
            )
            return None if row is None else self._get(db, int(row["id"]))

    def for_jobs(self, job_ids: Sequence[int]) -> dict[int, WorkItem]:
        """The items recorded from these jobs (payloads left out), by job id."""
        found: dict[int, WorkItem] = {}
        with self._store.read() as db:
            for start in range(0, len(job_ids), 500):
                chunk = list(job_ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                rows = db.all(
                    f"SELECT {_COLUMNS} FROM work_items WHERE job_id IN ({marks})",  # noqa: S608
                    chunk,
                )
                for row in rows:
                    found[int(row["job_id"])] = _item(row)
        return found

    def worklist(self, query: WorklistQuery) -> Worklist:
        """A page of items matching ``query`` and the counts by reason (of the other filters)."""
        where, params = _filters(query, with_reason=False)
        reason_where, reason_params = where, list(params)
        if query.reason:
            reason_where += " AND id IN (SELECT item_id FROM work_reasons WHERE reason = ?)"
            reason_params.append(query.reason)
        order = SORTS.get(query.sort, SORTS["oldest"])
        per_page = max(1, min(query.per_page, 500))
        page = max(1, query.page)
        with self._store.read() as db:
            counting = db.one(
                f"SELECT COUNT(*) FROM work_items WHERE {reason_where}",  # noqa: S608
                reason_params,
            )
            total = int(counting[0]) if counting is not None else 0
            rows = db.all(
                f"SELECT {_COLUMNS} FROM work_items WHERE {reason_where} "  # noqa: S608
                f"ORDER BY {order} LIMIT ? OFFSET ?",
                [*reason_params, per_page, (page - 1) * per_page],
            )
            counted = db.all(
                f"SELECT r.reason, COUNT(*) FROM work_items {self._store.fixed_join} "  # noqa: S608
                f"work_reasons r ON r.item_id = work_items.id WHERE {where} GROUP BY r.reason",
                params,
            )
        by_reason = {str(r[0]): int(r[1]) for r in counted}
        return Worklist(tuple(_item(r) for r in rows), total, by_reason, page, per_page)

    def events(self, item_id: int | None = None, *, action: str = "") -> list[WorkEvent]:
        """An item's events (or every event of an action), oldest first."""
        clauses: list[str] = []
        params: list[object] = []
        if item_id is not None:
            clauses.append("item_id = ?")
            params.append(item_id)
        if action:
            clauses.append("action = ?")
            params.append(action)
        where = " AND ".join(clauses) or "1 = 1"
        with self._store.read() as db:
            rows = db.all(
                f"SELECT * FROM work_events WHERE {where} ORDER BY id",  # noqa: S608
                params,
            )
        return [_event(r) for r in rows]

    def stats(self) -> dict[str, Any]:
        """Figures for the dashboard.

        ``by_state``, ``by_kind``; open items ``by_reason`` and ``by_age`` (days on the
        worklist: 0-1, 2-3, 4-7, 8-30, over 30); ``actions`` counted by kind (the
        suggestion acceptance rate comes from ``suggestion-accepted`` against
        ``suggestion-rejected``); ``chart_seconds``: from a coder's first action on an item to
        its release, for every released item.
        """
        now = time.time()
        with self._store.read() as db:
            by_state = _counted(db.all("SELECT state, COUNT(*) FROM work_items GROUP BY state"))
            by_kind = _counted(
                db.all(
                    "SELECT kind, COUNT(*) FROM work_items WHERE state = ? GROUP BY kind",
                    (ItemState.OPEN.value,),
                )
            )
            by_reason = _counted(
                db.all(
                    "SELECT reason, COUNT(*) FROM work_reasons WHERE item_id IN "
                    "(SELECT id FROM work_items WHERE state = ?) GROUP BY reason",
                    (ItemState.OPEN.value,),
                )
            )
            ages = [
                float(r[0])
                for r in db.all(
                    "SELECT created FROM work_items WHERE state = ?", (ItemState.OPEN.value,)
                )
            ]
            actions = _counted(db.all("SELECT action, COUNT(*) FROM work_events GROUP BY action"))
            spans = db.all(
                "SELECT MIN(e.at), MAX(i.closed_at) FROM work_items i JOIN work_events e "
                "ON e.item_id = i.id AND e.actor != 'fhir-coder' WHERE i.state = ? "
                "GROUP BY i.id",
                (ItemState.RELEASED.value,),
            )
        buckets = {"0-1": 0, "2-3": 0, "4-7": 0, "8-30": 0, "31+": 0}
        for created in ages:
            days = (now - created) / 86400
            key = (
                "0-1"
                if days < 2
                else "2-3"
                if days < 4
                else "4-7"
                if days < 8
                else "8-30"
                if days < 31
                else "31+"
            )
            buckets[key] += 1
        return {
            "by_state": by_state,
            "by_kind": by_kind,
            "by_reason": by_reason,
            "by_age": buckets,
            "actions": actions,
            "chart_seconds": [
                float(span[1]) - float(span[0]) for span in spans if span[0] is not None and span[1]
            ],
        }

    def unsent_events(self, limit: int = 100) -> list[WorkEvent]:
        """People's events not yet sent as AuditEvents (the outbox), oldest first."""
        with self._store.read() as db:
            rows = db.all(
                "SELECT * FROM work_events WHERE sent = 0 AND actor != 'fhir-coder' "
                "ORDER BY id LIMIT ?",
                (limit,),
            )
        return [_event(r) for r in rows]

    def mark_sent(self, event_ids: Sequence[int]) -> None:
        """Record that these events' AuditEvents are on the server."""
        with self._store.write() as db:
            for event_id in event_ids:
                db.run("UPDATE work_events SET sent = 1 WHERE id = ?", (event_id,))

    # the workbench ----------------------------------------------------------------------

    def lock(self, item_id: int, user: str, *, seconds: float = 900.0) -> WorkItem:
        """Take (or renew) the item for ``user``; :class:`ItemLockedError` if another holds it."""
        with self._store.write() as db:
            now = db.now()
            item = self._get(db, item_id)
            if item is None:
                raise KeyError(item_id)
            if item.locked_for(user, now):
                raise ItemLockedError(item_id, item.locked_by, item.locked_until)
            db.run(
                "UPDATE work_items SET locked_by = ?, locked_until = ? WHERE id = ?",
                (user, now + seconds, item_id),
            )
            if item.locked_by != user or item.locked_until <= now:
                self._event(db, item_id, user, "opened", {})
            locked = self._get(db, item_id)
            assert locked is not None  # noqa: S101 - read in the same transaction
            return locked

    def unlock(self, item_id: int, user: str) -> None:
        """Let go of the item (only its holder can)."""
        with self._store.write() as db:
            db.run(
                "UPDATE work_items SET locked_by = '', locked_until = 0 "
                "WHERE id = ? AND locked_by = ?",
                (item_id, user),
            )

    def _check(self, db: Tx, item_id: int, user: str, revision: int) -> WorkItem:
        item = self._get(db, item_id)
        if item is None:
            raise KeyError(item_id)
        if item.locked_for(user, db.now()):
            raise ItemLockedError(item_id, item.locked_by, item.locked_until)
        if item.revision != revision:
            row = db.one(
                "SELECT actor FROM work_events WHERE item_id = ? ORDER BY id DESC LIMIT 1",
                (item_id,),
            )
            by = str(row[0]) if row is not None and row[0] != user else ""
            raise RevisionConflictError(item_id, revision, item.revision, by)
        return item

    def save_work(
        self,
        item_id: int,
        user: str,
        work: dict[str, Any],
        *,
        revision: int,
        action: str,
        detail: dict[str, Any] | None = None,
    ) -> WorkItem:
        """Store the coder's working copy made on ``revision``, with an event for the action."""
        with self._store.write() as db:
            self._check(db, item_id, user, revision)
            db.run(
                "UPDATE work_items SET work = ?, revision = revision + 1, updated = ? WHERE id = ?",
                (_json(work), db.now(), item_id),
            )
            self._event(db, item_id, user, action, detail or {})
            item = self._get(db, item_id)
            assert item is not None  # noqa: S101 - written in the same transaction
            return item

    def close(
        self,
        item_id: int,
        user: str,
        state: ItemState,
        *,
        revision: int,
        detail: dict[str, Any] | None = None,
    ) -> WorkItem:
        """Finish the item (released, closed) on ``revision``, with an event."""
        with self._store.write() as db:
            now = db.now()
            self._check(db, item_id, user, revision)
            db.run(
                "UPDATE work_items SET state = ?, closed_by = ?, closed_at = ?, updated = ?, "
                "revision = revision + 1, locked_by = '', locked_until = 0 WHERE id = ?",
                (state.value, user, now, now, item_id),
            )
            self._event(db, item_id, user, state.value, detail or {})
            item = self._get(db, item_id)
            assert item is not None  # noqa: S101 - written in the same transaction
            return item

    def add_event(
        self, item_id: int, actor: str, action: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Record an action that changes nothing stored (queried the provider...)."""
        with self._store.write() as db:
            self._event(db, item_id, actor, action, detail or {})

    # helpers ----------------------------------------------------------------------------

    @staticmethod
    def _event(db: Tx, item_id: int, actor: str, action: str, detail: dict[str, Any]) -> None:
        db.run(
            "INSERT INTO work_events (item_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (item_id, db.now(), actor, action, _json(detail)),
        )

    @staticmethod
    def _set_reasons(db: Tx, item_id: int, reasons: Iterable[str]) -> None:
        db.run("DELETE FROM work_reasons WHERE item_id = ?", (item_id,))
        for reason in dict.fromkeys(reasons):
            db.run(
                "INSERT INTO work_reasons (reason, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (reason, item_id),
            )

    @staticmethod
    def _get(db: Tx, item_id: int) -> WorkItem | None:
        row = db.one(
            f"SELECT {_COLUMNS}, payload, work FROM work_items WHERE id = ?",  # noqa: S608
            (item_id,),
        )
        if row is None:
            return None
        work = row["work"]
        return _item(
            row, payload=orjson.loads(row["payload"]), work=orjson.loads(work) if work else None
        )


def _key(source: str, encounter_id: str) -> str:
    """The lock that makes a check-then-insert of an encounter's item atomic."""
    return f"work:{source}\x1f{encounter_id}"


def _inserted(row: Row | None) -> int:
    """The id an ``INSERT ... RETURNING id`` gave."""
    return int(row[0]) if row is not None else 0


def _counted(rows: Iterable[Row]) -> dict[str, int]:
    """``{value: count}`` of a ``SELECT value, COUNT(*) ... GROUP BY value``."""
    return {str(r[0]): int(r[1]) for r in rows}


def _event(row: Row) -> WorkEvent:
    return WorkEvent(
        int(row["id"]),
        int(row["item_id"]),
        float(row["at"]),
        str(row["actor"]),
        str(row["action"]),
        orjson.loads(row["detail"]),
    )


def _older(version: str, than: str) -> bool:
    """Whether ``version`` comes before ``than`` (numeric versions only; opaque never older)."""
    if not version or not than or version == than:
        return False
    if version.isdigit() and than.isdigit():
        return int(version) < int(than)
    return False


def _filters(query: WorklistQuery, *, with_reason: bool) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if query.state is not None:
        # with a search, the identifier indexes find the few rows: keep the planner off the
        # state index (an expression, ``state || ''``, as SQLite's ``+state`` is; PostgreSQL
        # has no unary plus on text), which would walk every open item
        clauses.append("state || '' = ?" if query.search else "state = ?")
        params.append(query.state.value)
    for column, value in (("kind", query.kind), ("encounter_class", query.encounter_class)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.payer:  # a part of the payer's name, in any case ("medicare")
        clauses.append("payer LIKE ? ESCAPE '\\'")
        escaped = query.payer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    if with_reason and query.reason:
        clauses.append("id IN (SELECT item_id FROM work_reasons WHERE reason = ?)")
        params.append(query.reason)
    if query.older_than_days is not None:
        clauses.append("created <= ?")
        params.append(time.time() - query.older_than_days * 86400)
    if query.service_from:
        clauses.append("service_date >= ?")
        params.append(query.service_from)
    if query.service_to:
        clauses.append("service_date <= ?")
        params.append(query.service_to)
    if query.search:
        term = query.search.strip()
        bare = term.removeprefix("Patient/").removeprefix("Encounter/")
        # prefixes as ranges, so that each side walks its index (LIKE would scan every row)
        clauses.append(
            "((encounter_id >= ? AND encounter_id < ?) OR (patient >= ? AND patient < ?))"
        )
        patient = f"Patient/{bare}"
        params.extend([bare, bare + "\U0010ffff", patient, patient + "\U0010ffff"])
    return " AND ".join(clauses) or "1 = 1", params


def _item(
    row: Row, *, payload: dict[str, Any] | None = None, work: dict[str, Any] | None = None
) -> WorkItem:
    return WorkItem(
        id=int(row["id"]),
        source=str(row["source"]),
        encounter_id=str(row["encounter_id"]),
        version=str(row["version"]),
        job_id=int(row["job_id"]),
        kind=ItemKind(row["kind"]),
        state=ItemState(row["state"]),
        reasons=_words(row["reasons"]),
        rules=_words(row["rules"]),
        summary=str(row["summary"]),
        encounter_class=str(row["encounter_class"]),
        payer=str(row["payer"]),
        patient=str(row["patient"]),
        service_date=str(row["service_date"]),
        claim_id=str(row["claim_id"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        revision=int(row["revision"]),
        locked_by=str(row["locked_by"]),
        locked_until=float(row["locked_until"]),
        closed_by=str(row["closed_by"]),
        closed_at=float(row["closed_at"]),
        payload=payload if payload is not None else {},
        work=work,
    )
