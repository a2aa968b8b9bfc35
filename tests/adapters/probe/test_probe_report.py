"""The probe's pieces that need no server: short URLs, verdicts, Markdown, JSON."""

import httpx

from adapters.fhir.capabilities import read_capabilities
from adapters.probe import Check, Exchange, ProbeReport, Status
from adapters.probe.recorder import short_url
from adapters.probe.render import markdown, terminal
from adapters.probe.runner import public_url
from adapters.probe.vendor import detect


def test_short_urls_keep_parameter_names_and_drop_values():
    url = httpx.URL("http://ehr.test/fhir/Coverage?patient=Patient%2F123&access_token=abc")
    assert short_url(url) == "/fhir/Coverage?patient=…&access_token=…"
    assert short_url(httpx.URL("http://ehr.test/fhir/metadata")) == "/fhir/metadata"


def test_public_urls_lose_user_password_and_query():
    assert public_url("https://user:secret@ehr.test/fhir/?x=1") == "https://ehr.test/fhir"


def failing_report():
    exchange = Exchange("POST", "/fhir/Claim", 403, "HTTP 403 application/fhir+json")
    return ProbeReport(
        "https://ehr.test/fhir",
        (
            Check(
                "declared.batch",
                "batch Bundles",
                Status.LIMITED,
                "not declared",
                "more trips",
                declared=True,
            ),
            Check(
                "tried.write.Claim",
                "write a test Claim",
                Status.FAIL,
                "refused | 403",
                "use a destination",
                required=True,
                seconds=0.012,
                round_trips=2,
                exchanges=(exchange,),
            ),
            Check("tried.gather", "gather", Status.NOT_APPLICABLE, "no encounter", required=True),
        ),
        profile="epic",
        profile_reason="the server's host (epic.com)",
        exit_code=1,
    )


def test_the_verdict_names_failures_and_untried_needs():
    verdict = failing_report().verdict
    assert "1 need(s) of the plugin fail here: write a test Claim" in verdict
    assert "1 need(s) could not be tried" in verdict


def test_markdown_escapes_cells_and_lists_the_exchanges():
    text = markdown(failing_report())
    assert (
        "| FAIL | write a test Claim | 12 ms, 2 trip(s) | refused \\| 403 | use a destination |"
        in text
    )
    assert "- `POST /fhir/Claim -> HTTP 403 application/fhir+json`" in text
    assert "| limited | batch Bundles | not declared | more trips |" in text


def test_terminal_shows_consequences_under_failures():
    text = terminal(failing_report())
    assert "FAIL     write a test Claim" in text
    assert "-> use a destination" in text
    assert text.endswith(f"Verdict: {failing_report().verdict}")


def test_json_says_what_kind_each_check_is():
    checks = failing_report().as_json()["checks"]
    assert [c["kind"] for c in checks] == ["declared", "tried", "tried"]
    assert checks[1]["exchanges"][0]["status"] == 403


def test_the_profile_comes_from_the_name_then_the_host_then_behaviour():
    unnamed = {
        "resourceType": "CapabilityStatement",
        "rest": [
            {
                "mode": "server",
                "resource": [{"type": "Encounter", "interaction": [{"code": "read"}]}],
            }
        ],
    }
    caps = read_capabilities(unnamed)
    named = {**unnamed, "software": {"name": "HAPI FHIR Server"}}
    assert (
        detect(named, "https://x.test/fhir", server_wide_search=True, caps=caps)[0].name == "hapi"
    )
    profile, why = detect(
        unnamed,
        "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4",
        server_wide_search=True,
        caps=caps,
    )
    assert (profile.name, why) == ("epic", "the server's host (epic.com)")
    profile, why = detect(unnamed, "https://ehr.test/r4", server_wide_search=False, caps=caps)
    assert profile.name == "cerner"
    assert why.startswith("behaviour")
    assert detect(unnamed, "https://ehr.test/r4", server_wide_search=True, caps=caps)[0].name == (
        "generic"
    )
