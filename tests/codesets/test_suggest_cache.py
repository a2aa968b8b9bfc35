"""The suggestions' cold start (codesets/suggest_cache.py): the word index and the coders' index
kept in the cache folder, read back equal, rebuilt when their sources change or the file is
damaged, never read stale.
"""

from __future__ import annotations

import os
from pathlib import Path

from codesets.coders_index import read_index
from codesets.search import Icd10cmSearch
from codesets.suggest_cache import KEEP, cached_coders_index, cached_search, coders_index

_TABLE = """# title: a test table
term\tcode\tbasis
Asthma\tJ45.909\tIndex: Asthma
Attack, heart\tI21.9\tIndex: Attack, heart - see Infarction, myocardium
Fracture, traumatic, radius, lower end (distal)\tS52.50-\tIndex: Fracture, radius, lower end
"""


def _tables(folder: Path, text: str = _TABLE) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "a.tsv").write_text(text, encoding="utf-8")
    return folder


def test_the_coders_index_is_kept_and_read_back_equal(tmp_path):
    tables = _tables(tmp_path / "index")
    cache = tmp_path / "cache"
    built = cached_coders_index(tables, cache)
    kept = list(cache.glob("coders-index-*.marshal"))
    assert len(kept) == 1
    read = cached_coders_index(tables, cache)
    assert read == built == read_index(tables)
    assert read.rows[2].subtree
    assert read.rows[2].optional == frozenset({"distal"})
    assert read.words_starting("fractur") == built.words_starting("fractur")


def test_a_changed_table_is_read_again_never_from_the_old_cache(tmp_path):
    tables = _tables(tmp_path / "index")
    cache = tmp_path / "cache"
    assert len(cached_coders_index(tables, cache).rows) == 3
    _tables(tables, _TABLE + "Gout\tM10.9\tIndex: Gout\n")
    changed = cached_coders_index(tables, cache)
    assert [r.term for r in changed.rows][-1] == "Gout"
    assert len(list(cache.glob("coders-index-*.marshal"))) == 2


def test_a_damaged_cache_file_is_rebuilt_not_trusted(tmp_path):
    tables = _tables(tmp_path / "index")
    cache = tmp_path / "cache"
    cached_coders_index(tables, cache)
    (kept,) = cache.glob("coders-index-*.marshal")
    kept.write_bytes(kept.read_bytes()[:-10])
    assert cached_coders_index(tables, cache) == read_index(tables)
    assert cached_coders_index(tables, cache) == read_index(tables)  # and rewritten whole


def test_no_tables_is_an_empty_index_and_nothing_kept(tmp_path):
    assert cached_coders_index(tmp_path / "none", tmp_path / "cache").rows == ()
    assert not (tmp_path / "cache").exists()


def test_the_project_coders_index_comes_from_the_cache_folder(test_cache_dir):
    index = coders_index()
    assert len(index.rows) > 10_000
    assert list(test_cache_dir.glob("coders-index-*.marshal"))


def test_the_word_index_is_built_once_then_read_back(tmp_path):
    documents = [(0, "Asthma, unspecified"), (1, "Acute bronchitis"), (1, "Chest cold")]
    builds = []

    def build() -> Icd10cmSearch:
        builds.append(1)
        return Icd10cmSearch(documents)

    first = cached_search(tmp_path, "icd10cm-test", build)
    again = cached_search(tmp_path, "icd10cm-test", build)
    assert len(builds) == 1
    assert again.vocabulary == first.vocabulary == ["acute", "asthma", "bronchitis", "chest",
                                                     "cold", "unspecified"]  # fmt: skip
    assert [h.row for h in again.search("bronch")] == [1]
    assert again.frequency("asthma") == 1
    assert again.frequency("asth") == 0
    assert again.document(2) == first.document(2) == (1, "Chest cold", ("chest", "cold"))
    # Another code set's key is another file: built again.
    cached_search(tmp_path, "icd10cm-other", build)
    assert len(builds) == 2


def test_a_damaged_word_index_is_rebuilt(tmp_path):
    build = lambda: Icd10cmSearch([(0, "Asthma")])  # noqa: E731
    cached_search(tmp_path, "icd10cm-test", build)
    (kept,) = tmp_path.glob("*-words-*.marshal")
    kept.write_bytes(b"FHCODER\x01" + b"\0" * 20)
    assert cached_search(tmp_path, "icd10cm-test", build).vocabulary == ["asthma"]


def test_only_the_most_recently_used_versions_are_kept(tmp_path):
    """Each table change is a new file; old versions are pruned, the ones in use stay."""
    tables = _tables(tmp_path / "index")
    cache = tmp_path / "cache"
    cached_coders_index(tables, cache)
    (first,) = cache.glob("coders-index-*.marshal")
    for n in range(KEEP + 2):
        os.utime(first)  # the first version is read again and again: still in use
        _tables(tables, _TABLE + f"Gout\tM10.{n}\tIndex: Gout\n")
        cached_coders_index(tables, cache)
        os.utime(first, (first.stat().st_atime, first.stat().st_mtime + 10 + n))
    kept = set(cache.glob("coders-index-*.marshal"))
    assert len(kept) == KEEP
    assert first in kept
    # Reading a version marks it used (its modification time moves forward).
    os.utime(first, (0, 0))
    _tables(tables, _TABLE)
    cached_coders_index(tables, cache)
    assert first.stat().st_mtime > 0


def test_old_word_indexes_are_pruned_by_code_set(tmp_path):
    for n in range(KEEP + 2):  # earlier versions of this code set's word index, and another's
        (tmp_path / f"icd10cm-test-words-old{n}.marshal").write_bytes(b"old")
        os.utime(tmp_path / f"icd10cm-test-words-old{n}.marshal", (n, n))
    (tmp_path / "icd10cm-other-words-0.marshal").write_bytes(b"other")
    os.utime(tmp_path / "icd10cm-other-words-0.marshal", (0, 0))
    cached_search(tmp_path, "icd10cm-test", lambda: Icd10cmSearch([(0, "Asthma")]))
    kept = {p.name for p in tmp_path.glob("icd10cm-test-words-*.marshal")}
    old = {f"icd10cm-test-words-old{n}.marshal" for n in (KEEP, KEEP + 1)}  # the newest old ones
    assert len(kept) == KEEP
    assert old < kept  # and the one just built
    assert (tmp_path / "icd10cm-other-words-0.marshal").exists()  # another code set's: untouched
