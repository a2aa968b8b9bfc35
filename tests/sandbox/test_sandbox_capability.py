"""/metadata tells the truth: R4, the routes that exist, the parameters that are indexed."""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource

import sandbox
from sandbox.resource_types import IDENTIFIED_TYPES, RESOURCE_TYPES
from sandbox.searchparams import params_for


async def test_metadata_is_an_r4_capability_statement(client):
    response = await client.get("metadata")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    statement = response.json()
    get_fhir_model_class("CapabilityStatement").model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance"
    assert statement["implementation"]["url"] == "http://sandbox.test/fhir"
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}


async def test_metadata_lists_exactly_the_interactions_and_parameters(client):
    rest = (await client.get("metadata")).json()["rest"][0]
    by_type = {resource["type"]: resource for resource in rest["resource"]}

    assert set(by_type) == RESOURCE_TYPES
    for name, resource in by_type.items():
        assert [i["code"] for i in resource["interaction"]] == [
            "read",
            "vread",
            "update",
            "delete",
            "history-instance",
            "history-type",
            "create",
            "search-type",
        ]
        assert resource["updateCreate"] is True
        assert resource["conditionalCreate"] is True
        params = {p["name"]: p["type"] for p in resource["searchParam"]}
        expected = {"_id": "token", "_lastUpdated": "date"} | {
            p.name: p.kind.value for p in params_for(name).values()
        }
        assert params == expected, name
    assert {p["name"] for p in by_type["Encounter"]["searchParam"]} == {
        "_id",
        "_lastUpdated",
        "date",
        "class",
        "type",
        "status",
        "identifier",
        "patient",
        "subject",
    }
    assert {p["name"] for p in by_type["Condition"]["searchParam"]} >= {
        "patient",
        "subject",
        "encounter",
    }
    assert {p["name"] for p in by_type["Coverage"]["searchParam"]} >= {"patient"}


def test_every_served_type_is_an_r4b_resource():
    for name in RESOURCE_TYPES:
        model = get_fhir_model_class(name)
        assert issubclass(model, Resource), name
    assert {
        "Patient",
        "Encounter",
        "Condition",
        "Procedure",
        "Coverage",
        "Claim",
        "Practitioner",
        "Organization",
        "Provenance",
        "Task",
    } <= RESOURCE_TYPES


def test_identifier_is_searchable_on_exactly_the_types_whose_model_has_it():
    having = {
        name for name in RESOURCE_TYPES if "identifier" in get_fhir_model_class(name).model_fields
    }
    assert having == IDENTIFIED_TYPES


def test_public_api_is_exported():
    assert sorted(sandbox.__all__) == sorted(
        name for name in sandbox.__all__ if hasattr(sandbox, name)
    )
    assert {"create_app", "Store", "build_seed_bundle", "load_bundle_file"} <= set(sandbox.__all__)
