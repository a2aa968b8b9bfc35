"""Write primitives against the sandbox and Medplum: create, conditional, If-Match, transaction."""

from uuid import uuid4

import httpx
import pytest

from adapters.fhir.batch import batch_get
from adapters.fhir.client import FhirClient
from adapters.fhir.profiles import PROFILES
from adapters.fhir.retry import RetryPolicy
from adapters.fhir.writes import (
    conditional_create,
    create,
    transaction,
    update_with_retry,
    weak_etag,
)
from fhir_coder.errors import ConfigurationError, FhirNotFoundError, FhirResponseError

ORG = {"resourceType": "Organization", "name": "Payer of last resort"}


def org(tag):
    return {**ORG, "identifier": [{"system": "urn:test:org", "value": tag}]}


@pytest.fixture(params=["sandbox", "medplum"])
async def server(request, asgi_fhir):
    """Each writable server in turn, with a tag no other test uses."""
    if request.param == "sandbox":
        yield asgi_fhir, uuid4().hex
        return
    async with FhirClient(request.getfixturevalue("medplum_base_url")) as fhir:
        yield fhir, uuid4().hex


async def test_create_returns_the_stored_resource_with_its_etag_and_location(server):
    fhir, tag = server
    written = await create(fhir, org(tag))
    assert written.created
    assert written.resource["id"]
    assert written.etag == weak_etag(written.resource["meta"]["versionId"])
    assert f"Organization/{written.resource['id']}" in written.location


async def test_conditional_create_finds_what_exists(server):
    fhir, tag = server
    first = await conditional_create(fhir, org(tag), f"identifier=urn:test:org|{tag}")
    second = await conditional_create(fhir, org(tag), f"identifier=urn:test:org|{tag}")
    assert first.created
    assert not second.created
    assert second.resource["id"] == first.resource["id"]


async def test_update_with_if_match_re_reads_and_re_applies_on_412(server):
    fhir, tag = server
    stored = (await create(fhir, org(tag))).resource
    calls = []

    def rename(resource):
        calls.append(resource["meta"]["versionId"])
        return {**resource, "name": f"{resource['name']}!"}

    original = fhir.request
    meddled = False

    async def request_with_a_rival(method, url, **kwargs):
        nonlocal meddled
        if method == "PUT" and not meddled:  # a rival writes between our read and our write
            meddled = True
            _, current = await original("GET", url)
            await original("PUT", url, json_body={**current, "alias": ["rival"]})
        return await original(method, url, **kwargs)

    fhir.request = request_with_a_rival
    try:
        written = await update_with_retry(fhir, "Organization", stored["id"], rename)
    finally:
        del fhir.request
    # Applied to the version read, then again to the rival's version.
    assert len(calls) == 2
    assert calls[0] == stored["meta"]["versionId"]
    assert calls[1] != calls[0]
    assert written.resource["name"] == "Payer of last resort!"
    assert written.resource["alias"] == ["rival"]


async def test_a_transaction_larger_than_the_profile_allows_is_refused_before_sending(server):
    fhir, tag = server
    entries = [
        {"resource": org(f"{tag}-{i}"), "request": {"method": "POST", "url": "Organization"}}
        for i in range(9)
    ]
    conditional = [
        {**e, "request": {**e["request"], "ifNoneExist": "identifier=x|1"}} for e in entries
    ]
    with pytest.raises(ConfigurationError, match="more than medplum takes"):
        await transaction(fhir, conditional, PROFILES["medplum"])
    answer = await transaction(fhir, entries, PROFILES["medplum"])
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == 9


async def test_a_batch_answers_each_entry_on_its_own(asgi_fhir):
    answers = await batch_get(
        asgi_fhir, ["Patient/pat-0001", "Patient/no-such-patient", "Encounter?status=finished"]
    )
    assert answers[0]["id"] == "pat-0001"
    assert isinstance(answers[1], FhirNotFoundError)
    assert answers[1].status_code == 404
    assert answers[2]["type"] == "searchset"


def _flaky_server(seen):
    """Answers 503 to the first transaction, then a transaction-response."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(
            200,
            json={"resourceType": "Bundle", "type": "transaction-response", "entry": []},
            headers={"Content-Type": "application/fhir+json"},
        )

    return httpx.MockTransport(answer)


async def _no_wait(_: float) -> None:
    return None


async def test_a_transaction_of_puts_and_conditional_creates_is_sent_again_after_a_503():
    seen: list[str] = []
    retry = RetryPolicy(attempts=3, sleep=_no_wait)
    entries = [
        {"resource": ORG | {"id": "o1"}, "request": {"method": "PUT", "url": "Organization/o1"}},
        {
            "resource": ORG,
            "request": {"method": "POST", "url": "Organization", "ifNoneExist": "identifier=x|1"},
        },
    ]
    async with FhirClient("https://ehr.test/fhir", transport=_flaky_server(seen), retry=retry) as f:
        answer = await transaction(f, entries, PROFILES["generic"])
    assert answer["type"] == "transaction-response"
    assert seen == ["POST", "POST"]


async def test_a_transaction_with_a_plain_post_is_not_sent_twice():
    seen: list[str] = []
    retry = RetryPolicy(attempts=3, sleep=_no_wait)
    entries = [
        {"resource": ORG | {"id": "o1"}, "request": {"method": "PUT", "url": "Organization/o1"}},
        {"resource": ORG, "request": {"method": "POST", "url": "Organization"}},
    ]
    async with FhirClient("https://ehr.test/fhir", transport=_flaky_server(seen), retry=retry) as f:
        with pytest.raises(FhirResponseError) as refused:
            await transaction(f, entries, PROFILES["generic"])
    assert refused.value.status_code == 503
    assert seen == ["POST"]
