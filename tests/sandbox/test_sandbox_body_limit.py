"""A 64 MiB body to every route of the sandbox process: 413, and the server's memory stays put.

The sandbox runs as ``python -m sandbox`` on loopback with authentication on (so the
SMART routes exist too); bodies are sent declared and chunked, and the process's resident
memory is sampled while they arrive.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from adapters.cli.sandbox_process import read_ready_line, sandbox_command
from sandbox.server import READY_PREFIX
from tests.oversized import MIB, flood_every_route

ROUTES = [
    ("GET", "/metadata"),
    ("POST", "/"),
    ("GET", "/Patient"),
    ("POST", "/Patient"),
    ("PUT", "/Patient"),
    ("GET", "/Patient/_history"),
    ("GET", "/Subscription/s1/$status"),
    ("GET", "/Subscription/s1/$events"),
    ("GET", "/Patient/pat-0001"),
    ("PUT", "/Patient/pat-0001"),
    ("DELETE", "/Patient/pat-0001"),
    ("GET", "/Patient/pat-0001/_history"),
    ("GET", "/Patient/pat-0001/_history/1"),
    ("GET", "/$export"),
    ("GET", "/Patient/$export"),
    ("POST", "/auth/token"),
    ("GET", "/.well-known/smart-configuration"),
    ("POST", "/no-such/route/at/all"),
]


@pytest.fixture(scope="module")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("body-limit-sandbox")
    config = folder / "auth.json"
    config.write_text(json.dumps({"bearer_tokens": {"t": "system/*.rs"}}))
    command = sandbox_command(
        "--port",
        "0",
        "--ready-line",
        "--patients",
        "3",
        "--db",
        str(folder / "s.sqlite3"),
        "--auth-config",
        str(config),
    )
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        base = read_ready_line(process, READY_PREFIX, 60)
        assert base is not None, "the sandbox did not start"
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_64_mib_body_to_every_route_is_413_with_little_memory(sandbox_process, chunked):
    base, pid = sandbox_process
    answers, growth = flood_every_route(base, pid, ROUTES, chunked=chunked)
    assert answers == dict.fromkeys(answers, 413)
    assert growth < 16 * MIB, f"grew {growth / MIB:.1f} MiB"
    assert httpx.get(f"{base}/metadata", timeout=10).status_code == 200  # still serving
