"""The test suite also holds the code to its standards: lint, format, types, import layers.

Each tool runs from the same virtual environment as pytest, so the README's one test
command checks everything CI checks.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} is not installed: install the dev extra (pip install -e '.[dev]')")
    return on_path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )


def test_ruff_finds_nothing():
    result = run(tool("ruff"), "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted():
    result = run(tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_packages():
    result = run(tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_flow_one_way():
    """adapters -> codesets -> fhir_coder; nothing imports the sandbox (pyproject.toml)."""
    result = run(tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
