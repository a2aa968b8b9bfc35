"""Session-wide set-up: an ICD-10-CM cache of the test run's own, never the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["tests.peer_server", "tests.postgres"]

# Set before any test imports codesets, and inherited by the CLI processes tests start.
_CACHE = Path(tempfile.mkdtemp(prefix="fhir-coder-test-cache-"))
os.environ["FHIR_CODER_CACHE_DIR"] = str(_CACHE)


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    """The code-set cache folder of this test run."""
    return _CACHE
