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


ROOMS = ROOT / "adapters"


def _room_of(module: str) -> str:
    """``adapters.fhir.client`` -> ``adapters.fhir``; a top-level module is its own room."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports_of(path: Path) -> list[tuple[str, str]]:
    """Each ``from X import name`` in ``path``, as (module, name)."""
    import ast  # noqa: PLC0415

    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.module, alias.name) for alias in node.names)
    return found


def test_no_room_imports_another_rooms_private_helpers():
    """A name with a leading underscore is its room's own business (ARCHITECTURE.md)."""
    offences = []
    for path in ROOMS.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for source, name in _imports_of(path):
            if (
                source.startswith("adapters.")
                and name.startswith("_")
                and _room_of(source) != _room_of(module)
            ):
                offences.append(f"{module} imports {source}.{name}")
    assert offences == []


def test_adapters_keeps_about_ten_modules_outside_its_rooms():
    loose = sorted(p.name for p in ROOMS.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 11, loose


def test_every_room_says_what_it_is_for_and_what_it_may_import():
    for init in ROOMS.glob("*/__init__.py"):
        doc = init.read_text(encoding="utf-8")
        assert doc.startswith('"""'), f"{init} has no module docstring"
        assert "import" in doc.split('"""')[1], f"{init} does not say what it may import"


@pytest.mark.parametrize("package", ["codesets", "adapters", "fhir_coder", "sandbox"])
def test_no_import_cycles_between_modules(package):
    """Each module sits on one level: no circle of imports, lazy imports included."""
    import grimp  # noqa: PLC0415

    graph = grimp.build_graph(package)
    modules = sorted(m for m in graph.modules if m.startswith(package))
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == module or not imported.startswith(package):
                continue
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert cycles == []
