"""The HTTP stack in front of the handlers: the route dispatcher, write coalescing, checkpoints."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox.checkpoint import Checkpointer
from sandbox.http_protocol import CoalescingTransport


async def test_a_known_path_with_another_method_is_405_with_allow(client: httpx.AsyncClient):
    response = await client.delete("Patient")
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "PUT"}


async def test_trailing_slashes_reach_the_same_route(client: httpx.AsyncClient):
    created = await client.post("Patient", json={"resourceType": "Patient"})
    found = await client.get(f"Patient/{created.json()['id']}/")
    assert found.status_code == 200
    assert found.json()["id"] == created.json()["id"]


async def test_literal_routes_win_over_parameters(client: httpx.AsyncClient):
    await client.post("Patient", json={"resourceType": "Patient"})
    history = await client.get("Patient/_history")  # not a read of Patient "_history"
    assert history.status_code == 200
    assert history.json()["type"] == "history"


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


async def test_writes_of_one_loop_turn_leave_as_one():
    recorder = _Recorder()
    transport = CoalescingTransport(recorder, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"{}")
    assert recorder.writes == []
    await asyncio.sleep(0)
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"tail")
    transport.close()  # flushes first
    assert recorder.writes[-1] == b"tail"
    assert recorder.closed
    assert transport.get_extra_info("peername") == "info:peername"


def test_the_checkpoint_thread_copies_the_wal_into_the_database(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("CREATE TABLE t (x BLOB)")
    checkpointer = Checkpointer(path, every=3)
    try:
        before = path.stat().st_size
        for _ in range(3):
            db.execute("INSERT INTO t VALUES (?)", (b"x" * 20_000,))
            checkpointer.committed()
        deadline = time.monotonic() + 5
        while path.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.stat().st_size > before + 40_000  # the pages left the WAL
    finally:
        checkpointer.close()
        db.close()
