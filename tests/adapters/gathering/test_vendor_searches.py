"""Servers that search clinical data only by patient (Epic, Oracle Cerner), end to end.

Epic refuses ``Condition?encounter=`` without ``patient`` and ``category``; Oracle Cerner
wants ``patient`` on every search. Gathering there names the patient (the US Core
``patient`` + ``category=encounter-diagnosis`` + ``encounter`` combination), so their
encounters are coded like any other; the replay server answers as the vendor does.
"""

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from adapters.writeback.ndjson import read_claims
from tests.adapters.recordings.replay import replay_server


def test_an_epic_like_encounter_is_coded_and_its_claim_goes_to_ndjson(capsys, tmp_path):
    folder = tmp_path / "claims"
    with replay_server("epic_like") as server:
        code = main(
            ["code", "enc-1", "--server", server.base_url, "--claims-to", str(folder), "--json"]
        )
        seen = list(server.requests)
    out = capsys.readouterr().out
    assert code in (ExitCode.OK, ExitCode.FINDINGS), out
    claims = list(read_claims(folder).values())
    assert len(claims) == 1
    codes = {
        coding["code"]
        for diagnosis in claims[0]["diagnosis"]
        for coding in diagnosis["diagnosisCodeableConcept"]["coding"]
    }
    assert "E119" in {c.replace(".", "") for c in codes}
    searches = [r for r in seen if r.path == "/Condition"]
    assert searches, "the Condition search was never made"
    for search in searches:
        assert search.query["patient"] == ["pat-1"]
        assert search.query["category"] == ["encounter-diagnosis"]
        assert search.query["encounter"] == ["Encounter/enc-1"]
    assert {r.method for r in seen} == {"GET"}  # nothing written to the EHR
