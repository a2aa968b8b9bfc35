"""schemathesis against the service's own OpenAPI document: whatever it sends, no 500s."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr

from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.service.app import create_service
from adapters.settings import TriggerSettings


@pytest.fixture(scope="module")
def service_schema(tmp_path_factory, coding):
    folder = tmp_path_factory.mktemp("schema")
    options = TriggerSettings(
        server="http://sandbox.test/fhir",
        notify_token=SecretStr("schema-token"),
        jobs_db=folder / "jobs.sqlite3",
    )
    ledger = JobLedger(options.jobs_db)
    unused = FhirClient("http://sandbox.test/fhir", transport=httpx.MockTransport(lambda _: None))
    pool = WorkerPool(ledger, Pipeline(unused, coding, write=False), "sb")
    app = create_service(options, pool, run_workers=False)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    ledger.close()


def test_no_input_makes_the_service_fail(service_schema):
    operations = [result.ok() for result in service_schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case):
            case.call_and_validate(checks=[schemathesis.checks.not_a_server_error])

        call()
