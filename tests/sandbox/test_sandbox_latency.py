"""Loopback latency: responses must not wait on Nagle's algorithm and delayed ACKs."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from adapters.cli.sandbox_process import running_sandbox
from sandbox.server import _bind


def test_the_listening_socket_is_tcp_so_asyncio_disables_nagle():
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_reads_on_one_keep_alive_connection_take_milliseconds(tmp_path: Path):
    with (
        running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url,
        httpx.Client(base_url=base_url + "/") as http,
    ):
        http.put("Patient/p1", json={"resourceType": "Patient", "id": "p1"})
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            assert http.get("Patient/p1").status_code == 200
            timings.append(time.perf_counter() - started)
    # With Nagle on, every read after the first waited ~40 ms for the client's delayed ACK.
    assert sorted(timings)[len(timings) // 2] < 0.02
