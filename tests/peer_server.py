"""Pytest fixtures for the Medplum peer: an independent FHIR server to run the same tests against.

The peer (``peer/server.mjs``, Medplum's FHIR router over its in-memory store) starts once per
session on a free loopback port. ``npm ci`` runs first when ``peer/node_modules`` is missing,
so the README's single test command installs what it needs; a failed install fails loudly,
and only a machine without ``node``/``npm`` skips the peer's tests.
"""

from __future__ import annotations

import copy
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = [
    "MAX_CONDITIONAL_ENTRIES",
    "MAX_PUT_ENTRIES",
    "PEER_DIR",
    "PEER_READY_PREFIX",
    "chunk_entries",
    "load_transaction_chunks",
    "medplum_base_url",
    "medplum_clean",
    "reset_peer",
]

PEER_DIR = Path(__file__).resolve().parent.parent / "peer"
PEER_READY_PREFIX = "MEDPLUM_PEER_READY"
MAX_CONDITIONAL_ENTRIES = 8
"""Medplum refuses a transaction with a conditional entry and more entries than this."""
MAX_PUT_ENTRIES = 50
"""Medplum refuses a transaction with more PUT entries than this."""
MAX_CHUNK_ENTRIES = 500
_START_TIMEOUT_SECONDS = 60.0
_CONDITIONAL_KEYS = ("ifNoneExist", "ifMatch", "ifNoneMatch", "ifModifiedSince")


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node not installed: the Medplum peer runs on Node 20")
    return node, npm


def _install(npm: str) -> None:
    """``npm ci`` from the committed lock file, once per clone."""
    if (PEER_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        return
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(PEER_DIR)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(
            f"npm ci for the Medplum peer failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )


def _ready_line(process: subprocess.Popen[str]) -> str:
    """The base URL the launcher prints, or a failure with what it wrote instead."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        line = lines.get(timeout=_START_TIMEOUT_SECONDS)
    except queue.Empty:
        line = ""
    if not line.startswith(PEER_READY_PREFIX):
        process.kill()
        _, errors = process.communicate(timeout=10)
        pytest.fail(f"the Medplum peer did not start: {line!r}\n{(errors or '')[-4000:]}")
    return line.split()[1]


@pytest.fixture(scope="session")
def medplum_base_url() -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT/fhir``) of a Medplum peer running for the session."""
    node, npm = _tools()
    _install(npm)
    process = subprocess.Popen(
        [node, str(PEER_DIR / "server.mjs"), "0"],
        cwd=PEER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NODE_ENV": "production"},
    )
    try:
        yield _ready_line(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def reset_peer(base_url: str) -> None:
    """Delete everything the peer holds."""
    response = httpx.post(f"{base_url}/$reset", timeout=30)
    response.raise_for_status()


@pytest.fixture
def medplum_clean(medplum_base_url: str) -> str:
    """The peer's base URL, with its store emptied before the test."""
    reset_peer(medplum_base_url)
    return medplum_base_url


def _is_conditional(entry: dict[str, Any]) -> bool:
    request = entry.get("request") or {}
    return "?" in str(request.get("url", "")) or any(key in request for key in _CONDITIONAL_KEYS)


def chunk_entries(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split Bundle entries, in order, into runs Medplum accepts as one transaction each."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for entry in entries:
        candidate = [*current, entry]
        conditional = any(_is_conditional(e) for e in candidate)
        puts = sum(1 for e in candidate if (e.get("request") or {}).get("method") == "PUT")
        fits = (
            len(candidate) <= MAX_CHUNK_ENTRIES
            and puts <= MAX_PUT_ENTRIES
            and (not conditional or len(candidate) <= MAX_CONDITIONAL_ENTRIES)
        )
        if not fits and current:
            chunks.append(current)
            candidate = [entry]
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def _rewrite(node: object, targets: dict[str, str]) -> object:
    if isinstance(node, dict):
        return {
            key: targets.get(value, value)
            if key == "reference" and isinstance(value, str)
            else _rewrite(value, targets)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item, targets) for item in node]
    return node


def _target(location: str) -> str:
    """``Type/id`` from a response location (absolute or relative, with or without a version)."""
    parts = location.split("/_history/", maxsplit=1)[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def load_transaction_chunks(
    base_url: str, bundle: dict[str, Any], *, client: httpx.Client | None = None
) -> list[dict[str, Any]]:
    """Load a Bundle's entries into the peer as a series of transactions; the responses.

    Chunks respect Medplum's limits (:data:`MAX_CONDITIONAL_ENTRIES`,
    :data:`MAX_PUT_ENTRIES`). A reference to an ``urn:uuid:`` entry of an earlier chunk is
    rewritten to the ``Type/id`` that chunk created, so splitting keeps the links.
    """
    http = client or httpx.Client(timeout=60)
    targets: dict[str, str] = {}
    responses: list[dict[str, Any]] = []
    try:
        for chunk in chunk_entries(list(bundle.get("entry") or [])):
            entries = [_rewrite(copy.deepcopy(e), targets) for e in chunk] if targets else chunk
            response = http.post(
                base_url,
                json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                headers={"Content-Type": "application/fhir+json"},
            )
            if response.status_code >= 400:
                message = (
                    f"transaction chunk refused ({response.status_code}): {response.text[:2000]}"
                )
                raise AssertionError(message)
            answer = response.json()
            for sent, got in zip(chunk, answer.get("entry") or [], strict=False):
                full_url = str(sent.get("fullUrl", ""))
                location = (got.get("response") or {}).get("location")
                if full_url.startswith("urn:") and location:
                    targets[full_url] = _target(str(location))
            responses.append(answer)
    finally:
        if client is None:
            http.close()
    return responses
