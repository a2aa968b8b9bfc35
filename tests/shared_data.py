"""Access to ``../shared/data``: public FHIR data nobody on the project wrote.

It is never copied into the repository; tests that need it skip, with the reason, on a
clone that does not have it beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def shared_data_dir(name: str) -> Path:
    """``../shared/data/<name>``, or skip the test when the folder is not there."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the public test data lives beside the repository")
    return folder
