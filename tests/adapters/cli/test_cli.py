"""The CLI as a user meets it: one-line errors, distinct exit codes, nothing half-written."""

import asyncio
import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger
from adapters.jobs.work_items import WorklistQuery


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("fhir-coder: error: ")
    assert "Traceback" not in err
    return err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "code", "sandbox"):
        assert command in out


def test_code_writes_one_claim_and_shows_lines_with_their_source(loopback_base_url, capsys):
    code = main(["code", "enc-0001-1", "--server", loopback_base_url, "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert code in (ExitCode.OK, ExitCode.FINDINGS)
    assert shown["encounter"] == "Encounter/enc-0001-1"
    assert shown["claim"]["resourceType"] == "Claim"
    for line in shown["lines"]:
        assert line["source"].startswith(("Condition/", "Procedure/", "Encounter/"))
        assert line["method"] in ("as-coded", "crosswalk", "table")
        assert line["release"]
    [visit] = [line for line in shown["lines"] if line["method"] == "table"]
    assert visit["source"] == "Encounter/enc-0001-1"


def test_unknown_encounter_exits_3_and_writes_nothing(loopback_base_url, capsys):
    before = main(["code", "enc-0001-1", "--server", loopback_base_url, "--dry-run"])
    capsys.readouterr()
    assert main(["code", "no-such-encounter", "--server", loopback_base_url]) == ExitCode.NOT_FOUND
    err = one_line_error(capsys)
    assert "404" in err
    assert "Encounter/no-such-encounter" in err
    assert before in (ExitCode.OK, ExitCode.FINDINGS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_exits_4(capsys):
    url = f"http://127.0.0.1:{free_port()}/fhir"
    assert main(["code", "enc-1", "--server", url]) == ExitCode.UNREACHABLE
    assert "cannot reach" in one_line_error(capsys)


class LoginPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>Please sign in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def html_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


def test_server_answering_html_exits_5(html_server, capsys):
    assert main(["code", "enc-1", "--server", html_server]) == ExitCode.NOT_FHIR
    assert "text/html, not FHIR JSON" in one_line_error(capsys)


def test_demo_twice_over_one_data_folder_leaves_the_same_claims(tmp_path):
    def demo() -> dict:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "fhir-coder"),
                "demo",
                "--json",
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first, second = demo(), demo()
    for key in (
        "encounters",
        "encounters_coded",
        "claims_written",
        "claims_on_server",
        "lines",
        "issues",
        "seconds",
    ):
        assert key in first
    assert first["claims_written"] > 0
    assert first["claims_on_server"] == first["claims_written"]
    assert second["claims_on_server"] == first["claims_on_server"]
    assert (tmp_path / "sandbox.sqlite3").exists()
    # what needs a person waits on the workbench, one command away, the same items twice
    assert first["work_items"] == second["work_items"] > 0
    assert first["workbench"] == "fhir-coder workbench --sandbox"
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        assert ledger.work.worklist(WorklistQuery()).total == first["work_items"]
    assert (tmp_path / "workbench-users.toml").exists()
    assert (tmp_path / "workbench-demo-password.txt").stat().st_mode & 0o077 == 0


def test_invalid_icd10cm_code_exits_1_with_the_finding_and_a_draft_claim(loopback_base_url, capsys):
    async def add_bad_condition() -> None:
        async with FhirClient(loopback_base_url) as fhir:
            encounter = await fhir.read("Encounter", "enc-0002-1")
            await fhir.update(
                {
                    "resourceType": "Condition",
                    "id": "cli-bad-code",
                    "subject": encounter["subject"],
                    "encounter": {"reference": "Encounter/enc-0002-1"},
                    "code": {
                        "coding": [{"system": "urn:oid:2.16.840.1.113883.6.90", "code": "E11.999"}]
                    },
                }
            )

    asyncio.run(add_bad_condition())
    code = main(["code", "enc-0002-1", "--server", loopback_base_url, "--source-id", "cli-test"])
    out = capsys.readouterr().out
    assert code == ExitCode.FINDINGS
    assert "ICD10CM-INVALID-ON-DATE: E11.999 on Condition/cli-bad-code" in out
