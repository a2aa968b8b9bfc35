"""Paging cursors expire: an old next link is 410 Gone, not a silently different page."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.app import create_app
from sandbox.criteria import Cursor
from sandbox.problems import FhirRequestError
from sandbox.search import CURSOR_TTL_SECONDS, decode_cursor, encode_cursor


def test_a_fresh_cursor_round_trips_and_an_old_one_is_gone():
    fresh = encode_cursor(Cursor(after=42))
    old = encode_cursor(Cursor(after=42, issued=int(time.time() - CURSOR_TTL_SECONDS - 5)))

    assert decode_cursor(fresh).after == 42
    with pytest.raises(FhirRequestError) as gone:
        decode_cursor(old)
    assert gone.value.status == 410


async def test_following_an_expired_next_link_is_410(tmp_path):
    app = create_app(tmp_path / "sandbox.sqlite3", cursor_ttl_seconds=-1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test/fhir/"
    ) as http:
        for n in range(3):
            await http.put(f"Patient/p{n}", json={"resourceType": "Patient", "id": f"p{n}"})
        first = (await http.get("Patient", params={"_count": "2"})).json()
        next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
        response = await http.get(next_url)
    app.state.store.close()

    assert response.status_code == 410
    assert response.json()["resourceType"] == "OperationOutcome"
