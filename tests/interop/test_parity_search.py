"""Type search, the same on both servers: tokens, references, dates, strings, paging, sorting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.conftest import FHIR_JSON, Server


def _post(server: Server, resource: dict[str, Any]) -> dict[str, Any]:
    response = server.http.post(
        resource["resourceType"], json=resource, headers={"Content-Type": FHIR_JSON}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _patients(server: Server, tag: str) -> list[dict[str, Any]]:
    """Three patients of this test: born 1950, 1970 and 1990."""
    return [
        _post(
            server,
            {
                "resourceType": "Patient",
                "identifier": [{"system": f"urn:test:{tag}", "value": str(number)}],
                "name": [{"family": f"{tag}{name}", "given": [name]}],
                "gender": gender,
                "birthDate": birth,
            },
        )
        for number, (name, gender, birth) in enumerate(
            [
                ("Ada", "female", "1950-03-01"),
                ("Bob", "male", "1970-06-15"),
                ("Cy", "male", "1990-12-31"),
            ]
        )
    ]


def _search(server: Server, resource_type: str, **params: str) -> dict[str, Any]:
    response = server.http.get(resource_type, params=params)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return bundle


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode", "match") == "match"
    ]


def test_token_search_by_system_and_code(server: Server, tag: str):
    people = _patients(server, tag)

    both = _search(server, "Patient", identifier=f"urn:test:{tag}|1")
    either = _search(server, "Patient", identifier=f"urn:test:{tag}|0,urn:test:{tag}|2")

    assert _ids(both) == [people[1]["id"]]
    assert sorted(_ids(either)) == sorted([people[0]["id"], people[2]["id"]])


def test_reference_search_by_type_and_id(server: Server, tag: str):
    people = _patients(server, tag)
    encounter = _post(
        server,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{people[0]['id']}"},
            "identifier": [{"system": f"urn:test:{tag}", "value": "enc"}],
        },
    )

    by_patient = _search(
        server, "Encounter", patient=f"Patient/{people[0]['id']}", status="finished"
    )
    by_subject = _search(server, "Encounter", subject=f"Patient/{people[0]['id']}")
    other = _search(server, "Encounter", patient=f"Patient/{people[1]['id']}")

    assert _ids(by_patient) == [encounter["id"]]
    assert _ids(by_subject) == [encounter["id"]]
    assert _ids(other) == []


def test_search_by_id(server: Server, tag: str):
    people = _patients(server, tag)

    found = _search(server, "Patient", _id=f"{people[0]['id']},{people[2]['id']}")

    assert sorted(_ids(found)) == sorted([people[0]["id"], people[2]["id"]])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1970-06-15", [1]),
        ("eq1970-06-15", [1]),
        ("ge1970-06-15", [1, 2]),
        ("gt1970-06-15", [2]),
        ("lt1970-06-15", [0]),
        ("le1970-06-15", [0, 1]),
        ("ne1970-06-15", [0, 2]),
        ("1970", [1]),
        ("lt1960-01-01", [0]),
    ],
)
def test_date_search_with_prefixes(server: Server, tag: str, value: str, expected: list[int]):
    people = _patients(server, tag)

    found = _search(server, "Patient", identifier=f"urn:test:{tag}|", birthdate=value)

    assert sorted(_ids(found)) == sorted(people[i]["id"] for i in expected)


def test_string_search_is_a_case_insensitive_prefix_and_exact_is_exact(server: Server, tag: str):
    people = _patients(server, tag)

    prefix = _search(server, "Patient", family=tag.upper())
    name = _search(server, "Patient", name=f"{tag}bo")
    exact = _search(server, "Patient", **{"family:exact": f"{tag}Cy"})
    exact_miss = _search(server, "Patient", **{"family:exact": f"{tag}cy"})

    assert sorted(_ids(prefix)) == sorted(p["id"] for p in people)
    assert _ids(name) == [people[1]["id"]]
    assert _ids(exact) == [people[2]["id"]]
    # Deliberate difference: FHIR's :exact is case-sensitive; Medplum's memory store ignores case.
    assert _ids(exact_miss) == ([] if server.is_sandbox else [people[2]["id"]])


def test_count_pages_through_next_links(server: Server, tag: str):
    people = _patients(server, tag)
    seen: list[str] = []

    bundle = _search(server, "Patient", identifier=f"urn:test:{tag}|", _count="2")
    pages = 1
    seen.extend(_ids(bundle))
    while next_url := next(
        (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None
    ):
        response = server.http.get(next_url)
        assert response.status_code == 200
        bundle = response.json()
        seen.extend(_ids(bundle))
        pages += 1
        assert pages < 10

    assert pages == 2
    assert sorted(seen) == sorted(p["id"] for p in people)
    assert bundle["total"] == 3


def test_sort_by_a_date_both_ways(server: Server, tag: str):
    people = _patients(server, tag)
    ids = [p["id"] for p in people]

    ascending = _search(server, "Patient", identifier=f"urn:test:{tag}|", _sort="birthdate")
    descending = _search(server, "Patient", identifier=f"urn:test:{tag}|", _sort="-birthdate")

    assert _ids(ascending) == ids
    assert _ids(descending) == ids[::-1]


def test_summary_count_gives_the_total_and_no_entries(server: Server, tag: str):
    _patients(server, tag)

    bundle = _search(server, "Patient", identifier=f"urn:test:{tag}|", _summary="count")

    assert bundle["total"] == 3
    assert _ids(bundle) == []


def test_search_without_count_is_paged(server: Server, tag: str):
    bundle = _search(server, "Patient", identifier=f"urn:test:{tag}|")

    assert bundle.get("entry", []) == []
    assert any(link["relation"] == "self" for link in bundle["link"])


def test_last_updated_search(server: Server, tag: str):
    people = _patients(server, tag)
    stamp = people[0]["meta"]["lastUpdated"]

    after = _search(
        server, "Patient", identifier=f"urn:test:{tag}|", _lastUpdated=f"ge{stamp[:10]}"
    )
    before = _search(server, "Patient", identifier=f"urn:test:{tag}|", _lastUpdated="lt2000-01-01")

    assert sorted(_ids(after)) == sorted(p["id"] for p in people)
    assert _ids(before) == []


def test_include_and_revinclude(server: Server, tag: str):
    people = _patients(server, tag)
    encounter = _post(
        server,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "identifier": [{"system": f"urn:test:{tag}", "value": "enc"}],
            "subject": {"reference": f"Patient/{people[0]['id']}"},
        },
    )
    condition = _post(
        server,
        {
            "resourceType": "Condition",
            "subject": {"reference": f"Patient/{people[0]['id']}"},
            "encounter": {"reference": f"Encounter/{encounter['id']}"},
            "code": {"text": "cough"},
        },
    )

    bundle = _search(
        server,
        "Encounter",
        identifier=f"urn:test:{tag}|enc",
        _include="Encounter:patient",
        _revinclude="Condition:encounter",
    )

    modes = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["search"]["mode"]
        for e in bundle["entry"]
    }
    assert modes == {
        ("Encounter", encounter["id"]): "match",
        ("Patient", people[0]["id"]): "include",
        ("Condition", condition["id"]): "include",
    }
