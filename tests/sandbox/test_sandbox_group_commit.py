"""Group commit: concurrent writes share one SQLite commit, each answered only after it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.store import GROUP_COMMIT_LIMIT, Store, StoredResource

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _patient(birth_date: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "birthDate": birth_date}


def _committed_elsewhere(path: Path, resource_id: str) -> bool:
    """Whether another connection sees the resource: it is committed, not just written."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT 1 FROM resources WHERE id = ?", (resource_id,)).fetchone()
    finally:
        db.close()
    return row is not None


async def test_concurrent_creates_share_commits_and_answer_after_them(
    app: FastAPI, client: httpx.AsyncClient, store: Store
):
    commits: list[list[StoredResource]] = []
    store.add_write_listener(commits.append)
    visible_at_answer: list[bool] = []

    async def create(birth_date: str) -> httpx.Response:
        response = await client.post("Patient", json=_patient(birth_date), headers=FHIR_JSON)
        if response.status_code == 201:
            visible_at_answer.append(_committed_elsewhere(store.path, response.json()["id"]))
        return response

    dates = ["1980-01-01", "1990-02-03"] * 5 + ["not-a-date"]  # the last one is refused (422)
    responses = await asyncio.gather(*(create(date) for date in dates))

    assert [r.status_code for r in responses] == [201] * 10 + [422]
    assert visible_at_answer == [True] * 10
    assert len(commits) < 10  # several writes per commit
    written = [stored.resource_id for commit in commits for stored in commit]
    assert sorted(written) == sorted(r.json()["id"] for r in responses[:10])
    assert store.resource_count() == 10  # the refused one left nothing behind


async def test_a_group_commits_once_it_is_full(store: Store):
    commits: list[list[StoredResource]] = []
    store.add_write_listener(commits.append)
    futures = []
    for _ in range(GROUP_COMMIT_LIMIT * 2 + 1):  # all in one loop turn
        with store.shared_transaction() as committed:
            store.create(_patient("1980-01-01"))
        futures.append(committed)
    full = GROUP_COMMIT_LIMIT * 2
    assert [f.done() for f in futures] == [True] * full + [False]  # answered without waiting
    await asyncio.gather(*futures)  # the last, partial group commits at the end of the turn
    assert [len(commit) for commit in commits] == [GROUP_COMMIT_LIMIT, GROUP_COMMIT_LIMIT, 1]
    assert all(_committed_elsewhere(store.path, s.resource_id) for c in commits for s in c)


async def test_a_read_commits_the_writes_pending_before_it(store: Store):
    with store.shared_transaction() as committed:
        created = store.create(_patient("1980-01-01"))
    assert not committed.done()
    assert store.read("Patient", created.resource_id) is not None  # commits the group first
    assert committed.done()
    assert _committed_elsewhere(store.path, created.resource_id)
    await committed


async def test_a_failed_block_is_undone_alone(store: Store):
    with store.shared_transaction() as kept:
        first = store.create(_patient("1980-01-01"))

    def refused() -> None:
        with store.shared_transaction():
            store.create(_patient("1990-02-03"))
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused()
    await kept
    assert store.resource_count() == 1
    assert store.read("Patient", first.resource_id) is not None


async def test_shared_transactions_do_not_nest(store: Store):
    with pytest.raises(RuntimeError), store.transaction(), store.shared_transaction():
        pass
