"""One ICD-10-CM index compiled per test session, into a temporary cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesets import CodeSetRegistry


@pytest.fixture(scope="session")
def cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fhir-coder-cache")


@pytest.fixture(scope="session")
def registry(cache_folder: Path):
    with CodeSetRegistry(cache_dir=cache_folder) as built:
        yield built
