"""Suggestions for a work item never stop the job, whatever date the encounter has."""

from datetime import UTC, datetime

import orjson
import pytest

from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.jobs.suggestions import suggest_for
from adapters.processing import code_and_build
from tests.shared_data import shared_data_dir

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_encounter_older_than_every_release_gets_no_suggestions_and_no_error():
    """Synthea histories reach back before ICD-10-CM FY2023: such an item keeps its findings.

    Before, the text search's ReleaseNotAvailableError escaped from the work item's
    suggestions, and the job was retried five times and parked instead of reaching a coder.
    """
    folder = shared_data_dir("synthea-bundles")
    coding = default_coding()
    old = []
    for path in sorted(folder.glob("*.json")):
        for encounter in encounters_in_bundle(orjson.loads(path.read_bytes()), source_id="s"):
            on = encounter.date_of_service
            if on is not None and on.year < 2020 and encounter.diagnoses:
                old.append(encounter)
    if not old:
        pytest.fail("the Synthea bundles have no encounter with a diagnosis before 2020")
    for encounter in old[:10]:
        processed = code_and_build(encounter, coding, created=CREATED)
        suggestions = suggest_for(processed.coded, coding)
        assert all(not item["options"] for item in suggestions) or suggestions == []
        rules = {issue.rule for issue in processed.issues}
        assert "CODESET-NO-RELEASE" in rules, rules
