"""Paging: next links are absolute, opaque, and walk every match exactly once."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

BASE = "http://sandbox.test/fhir"


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next(
        (item["url"] for item in bundle.get("link", []) if item["relation"] == relation), None
    )


async def walk(
    http: httpx.AsyncClient, url: str, params: dict[str, str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow next links from the first page; the ids seen and every page."""
    pages = [(await http.get(url, params=params)).json()]
    while (next_url := link(pages[-1], "next")) is not None:
        assert next_url.startswith(f"{BASE}/")  # absolute, built from the request's base
        response = await http.get(next_url)
        assert response.status_code == 200
        pages.append(response.json())
        assert len(pages) < 100, "paging does not end"
    seen = [
        e["resource"]["id"]
        for page in pages
        for e in page.get("entry", [])
        if e["search"]["mode"] == "match"
    ]
    return seen, pages


async def test_following_next_links_returns_every_match_once(seeded_client):
    seen, pages = await walk(seeded_client, "Condition", {"_count": "7"})

    total = pages[0]["total"]
    assert total > 21  # several pages
    assert len(seen) == total
    assert len(set(seen)) == total
    assert all(page["total"] == total for page in pages)
    assert all(len(page.get("entry", [])) <= 7 for page in pages)
    assert link(pages[-1], "next") is None
    assert link(pages[0], "previous") is None


async def test_next_links_keep_the_criteria_and_carry_an_opaque_cursor(seeded_client):
    seen, pages = await walk(seeded_client, "Encounter", {"status": "finished", "_count": "5"})

    next_url = link(pages[0], "next")
    assert next_url is not None
    query = parse_qs(urlsplit(next_url).query)
    assert query["status"] == ["finished"]
    assert query["_count"] == ["5"]
    assert query["_cursor"][0].isascii()
    assert len(seen) == pages[0]["total"] == len(set(seen))


async def test_previous_links_walk_back(seeded_client):
    first = (await seeded_client.get("Patient", params={"_count": "5"})).json()
    second = (await seeded_client.get(link(first, "next"))).json()
    third = (await seeded_client.get(link(second, "next"))).json()

    back = (await seeded_client.get(link(third, "previous"))).json()
    back_again = (await seeded_client.get(link(back, "previous"))).json()

    def page_ids(bundle: dict[str, Any]) -> list[str]:
        return [e["resource"]["id"] for e in bundle["entry"]]

    assert page_ids(back) == page_ids(second)
    assert page_ids(back_again) == page_ids(first)
    assert link(back_again, "previous") is None
    assert link(third, "next") is None  # 12 patients: 5 + 5 + 2
    assert link(second, "first") == f"{BASE}/Patient?_count=5"


async def test_writes_between_pages_cause_no_repeats(client):
    for number in range(9):
        await client.put(f"Patient/p{number}", json={"resourceType": "Patient", "id": f"p{number}"})
    first = (await client.get("Patient", params={"_count": "4"})).json()
    for number in range(4):  # update the resources already seen: they keep their place
        await client.put(
            f"Patient/p{number}",
            json={"resourceType": "Patient", "id": f"p{number}", "active": True},
        )

    seen = [e["resource"]["id"] for e in first["entry"]]
    url = link(first, "next")
    while url is not None:
        page = (await client.get(url)).json()
        seen.extend(e["resource"]["id"] for e in page.get("entry", []))
        url = link(page, "next")

    assert sorted(seen) == [f"p{n}" for n in range(9)]


async def test_next_link_uses_the_host_the_client_used(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://other.example:8443/fhir"
    ) as http:
        for number in range(3):
            await http.put(
                f"Patient/p{number}", json={"resourceType": "Patient", "id": f"p{number}"}
            )
        bundle = (await http.get("Patient", params={"_count": "1"})).json()
    assert link(bundle, "next").startswith("https://other.example:8443/fhir/Patient?")
    assert bundle["entry"][0]["fullUrl"] == "https://other.example:8443/fhir/Patient/p0"
