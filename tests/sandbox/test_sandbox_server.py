"""``python -m sandbox`` as a real process: ready line, real HTTP, clean stop, kept data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from sandbox.server import READY_PREFIX, _seed_if_empty, parse_args
from sandbox.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]


def _read_line(stream, timeout: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def test_server_process_announces_serves_and_stops(tmp_path: Path):
    db = tmp_path / "data" / "sandbox.sqlite3"
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--ready-line",
            "--db",
            str(db),
            "--patients",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(process.stdout, timeout=20)
        assert line.startswith(f"{READY_PREFIX} http://127.0.0.1:"), (line, process.poll())
        base_url = line.split()[1]
        assert base_url.endswith("/fhir")

        with httpx.Client(timeout=10) as http:
            metadata = http.get(f"{base_url}/metadata")
            patient = http.get(f"{base_url}/Patient/pat-0001")

        assert metadata.status_code == 200
        assert metadata.headers["content-type"] == "application/fhir+json"
        assert metadata.json()["fhirVersion"] == "4.0.1"
        assert patient.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=20)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert returncode == 0, stderr
    assert db.exists()


def test_seeding_happens_only_into_an_empty_database(tmp_path: Path):
    db = tmp_path / "sandbox.sqlite3"
    _seed_if_empty(db, seed=7, patients=2)
    with Store(db) as store:
        count = store.resource_count()
        store.update("pat-0001", {"resourceType": "Patient", "id": "pat-0001", "active": False})

    _seed_if_empty(db, seed=99, patients=5)  # a restart over the same file

    with Store(db) as store:
        assert store.resource_count() == count
        kept = store.read("Patient", "pat-0001")
        assert kept is not None
        assert kept.version_id == 2


def test_command_line_defaults():
    options = parse_args([])
    assert (options.host, options.port, options.seed, options.patients) == (
        "127.0.0.1",
        8080,
        7,
        12,
    )
    assert options.db == Path("fhir-coder-data/sandbox.sqlite3")
    assert not options.no_seed
    assert not options.ready_line


def test_patient_count_out_of_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(["--patients", "10000"])
    assert exited.value.code == 2
    assert "between 0 and 9999" in capsys.readouterr().err
