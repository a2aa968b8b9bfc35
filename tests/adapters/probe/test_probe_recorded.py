"""The probe against recorded-style vendor shapes (tests/adapters/recordings/), over loopback.

Each recording imitates a behaviour described in the integration guide; the probe must
name it, give the server's own words and the fix, and exit with the right code, never a
traceback.
"""

import json
import socket
import subprocess
import sys

import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from tests.adapters.recordings.replay import Rule, replay_server

CLAIM_FIX = "Claims cannot be written here: configure an NDJSON or second-server destination"


def probe(capsys, base_url, *args):
    code = main(["probe", "--server", base_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def checks_of(text):
    return {check["id"]: check for check in json.loads(text)["checks"]}


def test_an_epic_like_server_refusing_claim_create_is_named_with_the_fix(capsys, tmp_path):
    report = tmp_path / "epic.md"
    with replay_server("epic_like") as server:
        code, out, err = probe(
            capsys, server.base_url, "--encounter", "enc-1", "--write", "--report", str(report)
        )
        sent = [(r.method, r.path) for r in server.requests]
    assert code == ExitCode.FINDINGS
    assert err == ""
    assert "Vendor profile: epic" in out
    assert CLAIM_FIX in out
    # the server's own words, and the HTTP exchange in short
    assert "The Claim.Create interaction is not supported by this server" in out
    assert "POST /fhir/Claim -> HTTP 403 application/fhir+json" in out
    assert "Condition searches need the patient and category parameters" in out
    assert ("DELETE", "/Claim/") not in [(m, p[:7]) for m, p in sent]  # nothing to clean up
    markdown = report.read_text()
    assert CLAIM_FIX in markdown
    assert "| FAIL | write a test Claim |" in markdown
    assert "SMART signing algorithms: RS384" in markdown


def test_an_epic_like_server_read_only_probe_never_writes(capsys):
    with replay_server("epic_like") as server:
        code, out, _ = probe(capsys, server.base_url, "--encounter", "enc-1", "--json")
        methods = {r.method for r in server.requests}
    assert methods == {"GET"}
    checks = checks_of(out)
    assert checks["declared.write.Claim"]["status"] == "fail"
    assert checks["declared.write.Claim"]["consequence"].startswith(CLAIM_FIX)
    assert checks["tried.write.Claim"]["status"] == "n/a"
    assert "the server declares no Claim writes" in checks["tried.write.Claim"]["detail"]
    assert checks["declared.smart"]["status"] == "pass"
    assert checks["tried.search.Procedure.encounter"]["status"] == "pass"
    assert code == ExitCode.FINDINGS


def test_a_cerner_like_server_needs_a_named_encounter(capsys):
    with replay_server("cerner_like") as server:
        code, out, _ = probe(capsys, server.base_url, "--json")
    report = json.loads(out)
    checks = checks_of(out)
    assert report["profile"] == "cerner"
    assert code == ExitCode.FINDINGS
    server_wide = checks["tried.search.Encounter.status"]
    assert server_wide["status"] == "limited"
    assert "The patient or _id parameter is required" in server_wide["detail"]
    assert "cannot be polled server-wide" in server_wide["consequence"]
    assert server_wide["exchanges"][0]["url"] == "/fhir/Encounter?status=…&_count=…"
    assert checks["tried.gather"]["status"] == "n/a"
    assert "--encounter ID" in report["verdict"]


def test_a_cerner_like_server_with_a_named_encounter(capsys):
    with replay_server("cerner_like") as server:
        code, out, _ = probe(capsys, server.base_url, "--encounter", "enc-1", "--json")
    checks = checks_of(out)
    report = json.loads(out)
    assert checks["tried.gather"]["status"] == "pass"
    assert checks["tried.gather"]["round_trips"] >= 4  # no batches: one request per read
    assert checks["tried.paging"]["status"] == "pass"  # a relative next link, by patient
    assert checks["declared.batch"]["status"] == "limited"
    assert checks["declared.subscriptions"]["status"] == "limited"
    assert checks["declared.write.Claim"]["status"] == "fail"
    assert report["settings"]["gathering"] == "concurrent plain requests per round"
    assert report["settings"]["Claim write-back"].startswith("not to this server")
    assert code == ExitCode.FINDINGS


def test_a_hapi_like_server_passes_and_the_test_claim_is_marked_entered_in_error(capsys):
    with replay_server("hapi_like") as server:
        code, out, _ = probe(capsys, server.base_url, "--write", "--json")
        writes = [r for r in server.requests if r.method in {"PUT", "DELETE"}]
    checks = checks_of(out)
    assert code == ExitCode.OK, json.loads(out)["verdict"]
    assert json.loads(out)["profile"] == "hapi"
    assert checks["tried.include"]["status"] == "limited"  # _revinclude cut short
    assert checks["tried.paging"]["status"] == "pass"  # _getpages next link
    assert checks["tried.batch"]["status"] == "pass"
    assert "marked entered-in-error" in checks["tried.write.cleanup"]["detail"]
    assert [w.method for w in writes] == ["PUT", "DELETE", "PUT"]
    assert json.loads(writes[0].body)["meta"]["tag"][0]["code"] == "probe"
    assert json.loads(writes[-1].body)["status"] == "entered-in-error"


def test_a_server_answering_html_is_not_fhir(capsys, tmp_path):
    report = tmp_path / "html.md"
    with replay_server("html_login") as server:
        code, out, err = probe(capsys, server.base_url, "--report", str(report))
    assert code == ExitCode.NOT_FHIR
    assert err == ""
    assert "answered HTTP 200 with text/html, not FHIR JSON" in out
    assert "Verdict: cannot be probed" in out
    assert "cannot be probed" in report.read_text()


def test_a_slow_server_times_out_with_a_clear_message(capsys):
    with replay_server("slow") as server:
        code, out, _ = probe(capsys, server.base_url, "--timeout", "0.2", "--json")
    report = json.loads(out)
    assert code == ExitCode.UNREACHABLE
    assert report["exit_code"] == ExitCode.UNREACHABLE
    assert "timed out talking to" in report["verdict"]
    assert report["checks"][0]["exchanges"][0]["answer"] == "timed out"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_down_ends_without_a_traceback():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.cli.main",
            "probe",
            "--server",
            f"http://127.0.0.1:{free_port()}/fhir",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.UNREACHABLE
    assert "Traceback" not in done.stderr + done.stdout
    assert "Verdict: cannot be probed: cannot reach" in done.stdout


@pytest.mark.parametrize("bad", ["--timeout", "--server"])
def test_usage_errors_are_argparse_errors(bad):
    with pytest.raises(SystemExit) as exit_info:
        main(["probe", bad])
    assert exit_info.value.code == ExitCode.USAGE


def test_a_sloppy_server_is_caught_where_declared_is_not_working(capsys):
    with replay_server("sloppy") as server:
        code, out, _ = probe(capsys, server.base_url, "--write", "--json")
    checks = checks_of(out)
    assert code == ExitCode.FINDINGS
    assert json.loads(out)["profile"] == "generic"

    def said(check_id):
        check = checks[check_id]
        return check["status"], check["detail"]

    assert said("tried.search.Encounter.status") == (
        "limited",
        "1 of 2 matches are not finished: the status parameter is ignored",
    )
    assert said("tried.search.Condition.encounter") == (
        "fail",
        "1 of 2 matches do not point at the encounter: the parameter is ignored",
    )
    assert said("tried.paging") == ("fail", "the second page repeats the first or is empty")
    status, detail = said("tried.references")
    assert status == "fail"
    assert "HTTP 410: Resource was deleted" in detail
    status, detail = said("tried.batch")
    assert (status, "Bundle type batch is not supported" in detail) == ("limited", True)
    status, detail = said("declared.smart")
    assert status == "limited"
    assert "token_endpoint_auth_methods_supported lacks private_key_jwt" in detail
    cleanup = checks["tried.write.cleanup"]
    assert cleanup["status"] == "fail"
    assert "HTTP 500: Internal error while deleting" in cleanup["detail"]
    assert "is still on the server: remove it by hand" in cleanup["consequence"]


def test_a_named_encounter_that_is_not_finished(capsys):
    with replay_server("sloppy") as server:
        code, out, _ = probe(capsys, server.base_url, "--encounter", "enc-2")
    assert code == ExitCode.FINDINGS
    assert "the encounter's status is 'in-progress'" in out
    assert "the plugin codes finished encounters: name a finished one" in out


def test_a_server_that_is_not_r4_is_told_so(capsys):
    statement = {"resourceType": "CapabilityStatement", "fhirVersion": "3.0.2", "rest": []}
    with replay_server([Rule("GET", "/metadata", body=statement)]) as server:
        code, out, _ = probe(capsys, server.base_url)
    assert code == ExitCode.FINDINGS
    assert "FAIL     FHIR R4" in out
    assert "point it at the server's R4 endpoint" in out
