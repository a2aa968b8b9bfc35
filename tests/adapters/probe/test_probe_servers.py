"""The probe against real servers: the sandbox and the Medplum peer, over loopback HTTP.

Both must pass; their reports must differ where the servers do (``_revinclude``, the
transaction limits), and a ``--write`` probe must leave no test Claim behind.
"""

import json

import httpx

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from sandbox.seed import build_seed_bundle
from tests.peer_server import load_transaction_chunks


def run_probe(capsys, base_url, *args):
    code = main(["probe", "--server", base_url, *args])
    return code, capsys.readouterr().out


def probe_claims(base_url):
    answer = httpx.get(f"{base_url}/Claim", params={"_count": "500"})
    answer.raise_for_status()
    claims = [e["resource"] for e in answer.json().get("entry") or []]
    return [c for c in claims if c["id"].startswith("fhir-coder-probe-")]


def test_the_sandbox_passes_every_check_and_cleans_up(loopback_base_url, capsys, tmp_path):
    report = tmp_path / "sandbox.md"
    code, out = run_probe(capsys, loopback_base_url, "--write", "--json", "--report", str(report))
    result = json.loads(out)
    assert code == ExitCode.OK, result["verdict"]
    assert result["profile"] == "sandbox"
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    assert statuses["tried.write.Claim"] == "pass"
    assert statuses["tried.write.cleanup"] == "pass"
    assert statuses["tried.include"] == "pass"
    assert statuses["tried.batch"] == "pass"
    assert all(s in {"pass", "n/a"} for s in statuses.values()), statuses
    gather = next(c for c in result["checks"] if c["id"] == "tried.gather")
    assert gather["round_trips"] == 2  # one batch per round
    assert gather["seconds"] > 0
    assert probe_claims(loopback_base_url) == []
    markdown = report.read_text()
    assert "**Verdict:** every need of the plugin works here" in markdown
    assert "| pass | gather one finished encounter |" in markdown
    assert "- _revinclude: used" in markdown
    assert "- entries per transaction: 100 (100 when any entry is conditional)" in markdown


def test_the_medplum_peer_passes_and_names_its_limits(medplum_clean, capsys):
    load_transaction_chunks(medplum_clean, build_seed_bundle())
    code, out = run_probe(capsys, medplum_clean, "--write")
    assert code == ExitCode.OK, out
    assert "Vendor profile: medplum" in out
    assert "a transaction holding a conditional entry may have at most 8 entries" in out
    assert "entries per transaction: 50 (8 when any entry is conditional)" in out
    # where the peer differs from the sandbox: its profile turns _revinclude off
    assert "_revinclude: not used: explicit searches" in out
    assert "Verdict: every need of the plugin works here" in out
    assert probe_claims(medplum_clean) == []


def test_an_empty_server_cannot_try_the_encounter_needs(medplum_clean, capsys):
    code, out = run_probe(capsys, medplum_clean, "--json")
    result = json.loads(out)
    assert code == ExitCode.FINDINGS
    assert "could not be tried" in result["verdict"]
    gather = next(c for c in result["checks"] if c["id"] == "tried.gather")
    assert gather["status"] == "n/a"


def test_a_named_encounter_that_does_not_exist_fails_with_the_server_words(
    loopback_base_url, capsys
):
    code, out = run_probe(capsys, loopback_base_url, "--encounter", "no-such-encounter")
    assert code == ExitCode.FINDINGS
    assert "FAIL     read the named Encounter" in out
    assert "HTTP 404" in out
    assert "check the id given with --encounter" in out
