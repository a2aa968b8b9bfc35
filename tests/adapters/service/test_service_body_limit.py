"""A 64 MiB body to every route of ``fhir-coder serve``: 413, with the process's memory flat.

``serve`` runs as a process on loopback over a sandbox process; bodies go declared and
chunked, and the service's resident memory is sampled while they arrive (the issue saw
500 MB for one such body on the CDS route).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from adapters.cli.commands.serve import READY_PREFIX
from adapters.cli.sandbox_process import read_ready_line, running_sandbox
from adapters.service.cds import SERVICE_ID
from tests.oversized import MIB, flood_every_route

ROUTES = [
    ("POST", f"/cds-services/{SERVICE_ID}"),
    ("GET", "/cds-services"),
    ("PUT", "/notify/Encounter/enc-0001-1"),
    ("POST", "/notify"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/no-such-route"),
]


@pytest.fixture(scope="module")
def serve_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("body-limit-serve")
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--patients", "3")) as fhir:
        command = [
            sys.executable,
            "-m",
            "adapters.cli.main",
            "serve",
            "--server",
            fhir,
            "--jobs-db",
            str(folder / "jobs.sqlite3"),
            "--port",
            "0",
            "--concurrency",
            "1",
        ]
        env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": "body-limit-token"}
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=folder,
        )
        try:
            url = read_ready_line(process, READY_PREFIX, 120)
            assert url is not None, "serve did not start"
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(30)
            assert process.stdout is not None
            process.stdout.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_64_mib_body_to_every_route_is_413_with_little_memory(serve_process, chunked):
    url, pid = serve_process
    answers, growth = flood_every_route(url, pid, ROUTES, chunked=chunked)
    assert answers == dict.fromkeys(answers, 413)
    assert growth < 16 * MIB, f"grew {growth / MIB:.1f} MiB"
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # still serving
