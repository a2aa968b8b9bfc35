"""Public FHIR data loads into both servers through transactions and reads back as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.interop.conftest import Server
from tests.peer_server import load_transaction_chunks
from tests.shared_data import shared_data_dir


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key not in {"meta", "id"}}


def _rewrite(node: object, targets: dict[str, str]) -> object:
    if isinstance(node, dict):
        return {
            k: targets.get(v, v)
            if k == "reference" and isinstance(v, str)
            else _rewrite(v, targets)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item, targets) for item in node]
    return node


def _location(entry: dict[str, Any]) -> str:
    return "/".join(entry["response"]["location"].split("/_history/")[0].split("/")[-2:])


def test_synthea_bundles_load_and_read_back(server: Server):
    folder = shared_data_dir("synthea-bundles")
    files = sorted(folder.glob("*.json"))
    assert len(files) == 6
    for path in files:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        answers = load_transaction_chunks(server.base_url, bundle, client=server.http)
        responses = [entry for answer in answers for entry in answer["entry"]]
        assert len(responses) == len(bundle["entry"]), path.name
        targets = {
            sent["fullUrl"]: _location(got)
            for sent, got in zip(bundle["entry"], responses, strict=True)
        }
        for sent, got in zip(bundle["entry"], responses, strict=True):
            stored = server.http.get(_location(got)).json()
            expected = _rewrite(_without_meta(sent["resource"]), targets)
            assert _without_meta(stored) == expected, (path.name, _location(got))


def test_official_r4_examples_load_and_read_back(server: Server, tag: str):
    folder = shared_data_dir("fhir-r4-examples")
    resources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    if not resources:
        pytest.skip(f"{folder} holds no examples")
    # Ids of this test's own, so reruns against the shared servers do not collide.
    entries = [
        {
            "resource": {**r, "id": f"{tag}-{i}"},
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{tag}-{i}"},
        }
        for i, r in enumerate(resources)
    ]

    load_transaction_chunks(
        server.base_url, {"resourceType": "Bundle", "entry": entries}, client=server.http
    )

    for entry in entries:
        sent = entry["resource"]
        stored = server.http.get(entry["request"]["url"]).json()
        assert _without_meta(stored) == _without_meta(sent), entry["request"]["url"]
