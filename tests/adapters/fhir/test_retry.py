from datetime import UTC, datetime

import pytest

from adapters.fhir.retry import RetryPolicy, is_idempotent, server_delay

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "Thu, 15 Jan 2026 12:00:30 GMT"}, 30.0),
        ({"retry-after": "Thu, 15 Jan 2026 11:00:00 GMT"}, 0.0),  # in the past: now
        ({"x-ms-retry-after-ms": "1500"}, 1.5),
        ({"x-ms-retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "whenever"}, None),
        ({}, None),
    ],
)
def test_server_delay_reads_every_form(headers, expected):
    assert server_delay(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("method", "url", "headers", "expected"),
    [
        ("GET", "Encounter?status=finished", {}, True),
        ("DELETE", "Claim/1", {}, True),
        ("PUT", "Claim/1", {}, True),
        ("PUT", "Claim", {}, False),
        ("PUT", "Claim/$validate", {}, False),
        ("POST", "Claim", {}, False),
        ("POST", "Claim", {"If-None-Exist": "identifier=a|1"}, True),
        ("POST", "", {}, False),  # a transaction
        ("PATCH", "Claim/1", {}, False),
    ],
)
def test_only_requests_that_cannot_do_a_thing_twice_are_idempotent(method, url, headers, expected):
    assert is_idempotent(method, url, headers) is expected


def test_backoff_stays_under_its_exponential_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    for retry in range(1, 8):
        for _ in range(50):
            assert 0.0 <= policy.backoff(retry) <= min(3.0, 0.5 * 2 ** (retry - 1))
