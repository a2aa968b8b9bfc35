"""The FHIR client against failure shapes a real server cannot be made to produce on demand."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from adapters.fhir.client import FhirClient, count_round_trips
from adapters.fhir.retry import RetryPolicy
from adapters.fhir.search import Query
from fhir_coder.errors import (
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
    NotFhirError,
)

BASE = "https://ehr.test/fhir/R4"


def fhir_json(body, status=200):
    return httpx.Response(status, json=body, headers={"Content-Type": "application/fhir+json"})


@pytest.fixture
def router():
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


class Sleeps(list):
    """Records the waits the client asks for instead of waiting."""

    async def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
async def fhir(router, sleeps):
    policy = RetryPolicy(attempts=4, base_delay=0.5, max_delay=4.0, budget=30.0, sleep=sleeps)
    async with FhirClient(
        BASE, transport=httpx.MockTransport(router.async_handler), retry=policy
    ) as client:
        yield client


async def test_read_returns_the_resource_and_counts_the_round_trip(router, fhir):
    router.get("/Encounter/e1").mock(
        return_value=fhir_json({"resourceType": "Encounter", "id": "e1"})
    )
    with count_round_trips() as trips:
        assert (await fhir.read("Encounter", "e1"))["id"] == "e1"
    assert trips.count == 1


async def test_404_keeps_the_operation_outcome_and_shows_its_text(router, fhir):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "not-found",
                "diagnostics": "Resource Encounter/nope is not known",
            }
        ],
    }
    router.get("/Encounter/nope").mock(return_value=fhir_json(outcome, 404))
    with pytest.raises(FhirNotFoundError) as caught:
        await fhir.read("Encounter", "nope")
    assert caught.value.status_code == 404
    assert caught.value.outcome == outcome
    assert "Resource Encounter/nope is not known" in str(caught.value)
    assert caught.value.url == f"{BASE}/Encounter/nope"


async def test_other_error_statuses_are_response_errors(router, fhir):
    router.get("/Encounter/e1").mock(
        return_value=fhir_json({"resourceType": "OperationOutcome", "issue": []}, 403)
    )
    with pytest.raises(FhirResponseError) as caught:
        await fhir.read("Encounter", "e1")
    assert not isinstance(caught.value, FhirNotFoundError)
    assert caught.value.status_code == 403


async def test_html_answer_is_not_fhir(router, fhir):
    router.get("/Encounter/e1").mock(
        return_value=httpx.Response(
            200, text="<html>Sign in</html>", headers={"Content-Type": "text/html"}
        )
    )
    with pytest.raises(NotFhirError, match="text/html, not FHIR JSON"):
        await fhir.read("Encounter", "e1")


async def test_json_that_is_not_a_resource_is_not_fhir(router, fhir):
    router.get("/Encounter/e1").mock(return_value=httpx.Response(200, json={"status": "ok"}))
    with pytest.raises(NotFhirError, match="not a FHIR resource"):
        await fhir.read("Encounter", "e1")


async def test_wrong_resource_type_is_not_what_was_asked_for(router, fhir):
    router.get("/Encounter/e1").mock(
        return_value=fhir_json({"resourceType": "Patient", "id": "e1"})
    )
    with pytest.raises(NotFhirError, match="where a Encounter was expected"):
        await fhir.read("Encounter", "e1")


async def test_connection_failure_and_timeout_are_transport_errors(router, fhir):
    router.get("/Encounter/a").mock(side_effect=httpx.ConnectError("refused"))
    router.get("/Encounter/b").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(FhirTransportError, match="cannot reach"):
        await fhir.read("Encounter", "a")
    with pytest.raises(FhirTransportError, match="timed out"):
        await fhir.read("Encounter", "b")


async def test_error_urls_never_carry_the_query_string(router, fhir):
    router.get("/Condition").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(FhirTransportError) as caught:
        await fhir.search_all("Condition", {"patient": "Patient/secret-mrn"})
    assert "secret-mrn" not in str(caught.value)
    assert "secret-mrn" not in caught.value.url


def page(entries, next_url=None):
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return fhir_json(bundle)


def enc(i):
    return {"resource": {"resourceType": "Encounter", "id": str(i)}, "search": {"mode": "match"}}


async def test_paging_follows_relative_and_absolute_next_links(router, fhir):
    router.get("/Encounter", params={"status": "finished"}).mock(
        return_value=page([enc(1)], "Encounter?_page=2")
    )
    router.get("/Encounter", params={"_page": "2"}).mock(
        return_value=page([enc(2)], f"{BASE}/Encounter?_page=3")
    )
    router.get("/Encounter", params={"_page": "3"}).mock(return_value=page([enc(3)]))
    found = await fhir.search_all("Encounter", {"status": "finished"})
    assert [r["id"] for r in found] == ["1", "2", "3"]


async def test_next_link_to_another_origin_is_refused(router, fhir):
    router.get("/Encounter").mock(
        return_value=page([enc(1)], "https://evil.test/fhir/Encounter?p=2")
    )
    with pytest.raises(FhirError, match="another origin"):
        await fhir.search_all("Encounter")


async def test_outcome_entries_in_a_searchset_are_not_data(router, fhir):
    outcome = {
        "resource": {"resourceType": "OperationOutcome", "issue": []},
        "search": {"mode": "outcome"},
    }
    router.get("/Encounter").mock(return_value=page([enc(1), outcome]))
    assert [r["id"] for r in await fhir.search_all("Encounter")] == ["1"]


async def test_empty_searchset_without_entry_is_empty(router, fhir):
    router.get("/Encounter").mock(
        return_value=fhir_json({"resourceType": "Bundle", "type": "searchset"})
    )
    assert await fhir.search_all("Encounter") == []


def test_repr_shows_no_headers():
    client = FhirClient(
        BASE,
        headers={"Authorization": "Bearer s3cret"},
        transport=httpx.MockTransport(lambda _request: httpx.Response(200)),
    )
    assert "s3cret" not in repr(client)


# -- retries ---------------------------------------------------------------------------

ENCOUNTER = {"resourceType": "Encounter", "id": "e1"}
THROTTLED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "throttled", "diagnostics": "slow down"}],
}


async def test_429_with_retry_after_seconds_waits_that_long_then_succeeds(router, fhir, sleeps):
    router.get("/Encounter/e1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            fhir_json(ENCOUNTER),
        ]
    )
    with count_round_trips() as trips:
        assert (await fhir.read("Encounter", "e1"))["id"] == "e1"
    assert sleeps == [3.0]
    assert trips.count == 2


async def test_429_with_retry_after_as_an_http_date_is_honoured(router, fhir, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=5)
    router.get("/Encounter/e1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            fhir_json(ENCOUNTER),
        ]
    )
    await fhir.read("Encounter", "e1")
    [waited] = sleeps
    assert 3.0 <= waited <= 5.0


async def test_ms_retry_after_header_is_preferred(router, fhir, sleeps):
    router.get("/Encounter/e1").mock(
        side_effect=[
            httpx.Response(429, headers={"x-ms-retry-after-ms": "250", "Retry-After": "9"}),
            fhir_json(ENCOUNTER),
        ]
    )
    await fhir.read("Encounter", "e1")
    assert sleeps == [0.25]


async def test_503_backs_off_exponentially_with_jitter_then_gives_up_with_the_outcome(
    router, fhir, sleeps
):
    route = router.get("/Encounter/e1").mock(return_value=fhir_json(THROTTLED, 503))
    with pytest.raises(FhirResponseError) as caught:
        await fhir.read("Encounter", "e1")
    assert route.call_count == 4  # the policy's attempts
    assert caught.value.status_code == 503
    assert "slow down" in str(caught.value)
    assert len(sleeps) == 3
    for retry, waited in enumerate(sleeps, start=1):
        assert 0.0 <= waited <= min(4.0, 0.5 * 2 ** (retry - 1))


async def test_a_server_asking_for_more_than_the_budget_gets_an_error_now(router, fhir, sleeps):
    router.get("/Encounter/e1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(FhirResponseError) as caught:
        await fhir.read("Encounter", "e1")
    assert caught.value.status_code == 429
    assert sleeps == []


async def test_connection_reset_is_retried_for_reads(router, fhir, sleeps):
    router.get("/Encounter/e1").mock(
        side_effect=[httpx.ReadError("connection reset by peer"), fhir_json(ENCOUNTER)]
    )
    assert (await fhir.read("Encounter", "e1"))["id"] == "e1"
    assert len(sleeps) == 1


async def test_timeouts_are_retried_then_reported_as_transport_errors(router, fhir, sleeps):
    route = router.get("/Encounter/e1").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(FhirTransportError, match="timed out"):
        await fhir.read("Encounter", "e1")
    assert route.call_count == 4


async def test_a_plain_create_is_never_retried(router, fhir, sleeps):
    route = router.post("/Claim").mock(side_effect=httpx.ReadError("reset"))
    with pytest.raises(FhirTransportError):
        await fhir.request("POST", "Claim", json_body={"resourceType": "Claim"})
    assert route.call_count == 1
    route = router.post("/Encounter").mock(return_value=httpx.Response(503))
    with pytest.raises(FhirResponseError):
        await fhir.request("POST", "Encounter", json_body={"resourceType": "Encounter"})
    assert route.call_count == 1


async def test_put_to_an_id_and_conditional_create_are_retried(router, fhir, sleeps):
    claim = {"resourceType": "Claim", "id": "c1"}
    router.put("/Claim/c1").mock(side_effect=[httpx.Response(503), fhir_json(claim, 201)])
    assert (await fhir.update(claim))[0] == 201
    router.post("/Claim").mock(side_effect=[httpx.ReadError("reset"), fhir_json(claim, 201)])
    response, _ = await fhir.request(
        "POST", "Claim", json_body=claim, headers={"If-None-Exist": "identifier=x|1"}
    )
    assert response.status_code == 201


# -- error statuses keep the outcome ------------------------------------------------------


def outcome_of(text, code="invalid", expression=None):
    issue = {"severity": "error", "code": code, "diagnostics": text}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, FhirResponseError),
        (403, FhirResponseError),
        (404, FhirNotFoundError),
        (410, FhirNotFoundError),
        (412, FhirResponseError),
        (422, FhirResponseError),
    ],
)
async def test_error_statuses_are_typed_and_show_the_outcome(router, fhir, status, kind):
    outcome = outcome_of(f"said with {status}", expression=["Claim.item[0]"])
    router.put("/Claim/c1").mock(return_value=fhir_json(outcome, status))
    with pytest.raises(kind) as caught:
        await fhir.update({"resourceType": "Claim", "id": "c1"}, if_match='W/"1"')
    assert caught.value.status_code == status
    assert caught.value.outcome == outcome
    assert f"said with {status} (at Claim.item[0])" in str(caught.value)


# -- paging -------------------------------------------------------------------------------


async def test_an_expired_cursor_restarts_the_search_once(router, fhir):
    first = router.get("/Encounter", params={"status": "finished"}).mock(
        side_effect=[
            page([enc(1)], "Encounter?_cursor=old"),
            page([enc(1)], "Encounter?_cursor=new"),
        ]
    )
    router.get("/Encounter", params={"_cursor": "old"}).mock(
        return_value=fhir_json(outcome_of("cursor expired", "not-found"), 410)
    )
    router.get("/Encounter", params={"_cursor": "new"}).mock(return_value=page([enc(2)]))
    found = await fhir.search_all("Encounter", {"status": "finished"})
    assert [r["id"] for r in found] == ["1", "1", "2"]
    assert first.call_count == 2


async def test_a_cursor_that_expires_again_after_the_restart_is_an_error(router, fhir):
    router.get("/Encounter", params={"status": "finished"}).mock(
        return_value=page([enc(1)], "Encounter?_cursor=old")
    )
    router.get("/Encounter", params={"_cursor": "old"}).mock(
        return_value=fhir_json(outcome_of("cursor expired", "not-found"), 410)
    )
    with pytest.raises(FhirNotFoundError) as caught:
        await fhir.search_all("Encounter", {"status": "finished"})
    assert caught.value.status_code == 410


async def test_next_links_that_go_round_in_circles_are_stopped(router, fhir):
    router.get("/Encounter", params={"status": "finished"}).mock(
        return_value=page([enc(1)], "Encounter?_page=2")
    )
    router.get("/Encounter", params={"_page": "2"}).mock(
        return_value=page([enc(2)], "Encounter?_page=2")
    )
    with pytest.raises(FhirError, match="already read"):
        await fhir.search_all("Encounter", {"status": "finished"})


async def test_outcome_entries_are_surfaced_as_warnings(router, fhir):
    remark = {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "warning", "code": "processing", "diagnostics": "no results for x"}
            ],
        },
        "search": {"mode": "outcome"},
    }
    router.get("/Encounter").mock(return_value=page([enc(1), remark]))
    warnings = []
    found = await fhir.search_all("Encounter", warnings=warnings)
    assert [r["id"] for r in found] == ["1"]
    [warning] = warnings
    assert warning.rule == "READ-SEARCH-OUTCOME"
    assert "no results for x" in warning.message


async def test_a_query_builder_search_sends_repeated_parameters(router, fhir):
    route = router.get("/Encounter").mock(return_value=page([enc(1)]))
    query = (
        Query("Encounter").where(_id="1").revinclude("Condition:encounter", "Procedure:encounter")
    )
    await fhir.search_all(query.limit(10))
    sent = route.calls.last.request.url.params
    assert sent.get_list("_revinclude") == ["Condition:encounter", "Procedure:encounter"]
    assert sent["_count"] == "10"
    assert query.params == (
        ("_id", "1"),
        ("_revinclude", "Condition:encounter"),
        ("_revinclude", "Procedure:encounter"),
    )


async def test_metadata_is_read_once_per_client(router, fhir):
    route = router.get("/metadata").mock(
        return_value=fhir_json({"resourceType": "CapabilityStatement", "rest": []})
    )
    await fhir.metadata()
    await fhir.capabilities()
    assert route.call_count == 1
