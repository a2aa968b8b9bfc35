"""The FHIR client against failure shapes a real server cannot be made to produce on demand."""

import httpx
import pytest
import respx

from adapters.client import FhirClient, count_round_trips
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


@pytest.fixture
async def fhir(router):
    async with FhirClient(BASE, transport=httpx.MockTransport(router.async_handler)) as client:
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
