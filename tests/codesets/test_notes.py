from __future__ import annotations

import pytest

from codesets.note_codes import codes_named
from fhir_coder.errors import UnknownCodeSystemError
from fhir_coder.ports import CodeNote, CodeNotesPort
from fhir_coder.systems import ICD10CM, ICD10PCS, SNOMED


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("type 1 diabetes mellitus (E10.-)", ("E10",)),
        ("gestational diabetes (O24.4-)", ("O244",)),
        ("neoplasms (C00-D49)", ("C00-D49",)),
        ("type 2 diabetes mellitus, with complications (E11.0-E11.8)", ("E110-E118",)),
        ("something (E11.0- E11.9) and (Z79.4, Z79.84)", ("E110-E119", "Z794", "Z7984")),
        ("code to identify control using:", ()),
        ("complications of pregnancy (O00-O9A)", ("O00-O9A",)),
    ],
)
def test_codes_are_read_from_note_text(text, codes):
    assert codes_named(text) == codes


def test_notes_of_a_code_and_its_ancestors(registry):
    port: CodeNotesPort = registry
    notes = port.notes(ICD10CM, "E11.9")
    assert all(isinstance(note, CodeNote) for note in notes)
    excludes1 = [note for note in notes if note.kind == "excludes1"]
    assert excludes1[0].written_at == "E119"
    assert any(note.codes == ("E10",) and note.written_at == "E11" for note in excludes1)
    use_additional = [note for note in notes if note.kind == "use_additional"]
    assert any(note.codes == ("Z794",) for note in use_additional)
    assert {"includes", "excludes1", "use_additional"} <= {note.kind for note in notes}


def test_code_first_and_inclusion_terms(registry):
    kinds = {note.kind for note in registry.notes(ICD10CM, "G01")}
    assert "code_first" in kinds
    inclusion = [n for n in registry.notes(ICD10CM, "S72.001A") if n.kind == "inclusion"]
    assert any(note.text == "Fracture of hip NOS" for note in inclusion)


def test_code_also_notes_are_kept(registry):
    found = [n for n in registry.notes(ICD10CM, "C25.0") if n.kind == "code_also"]
    assert any(note.codes == ("K8681",) and note.written_at == "C25" for note in found)


def test_notes_of_unknown_codes_and_systems(registry):
    assert registry.notes(ICD10CM, "nothing") == ()
    assert registry.notes(ICD10PCS, "0DTJ4ZZ") == ()
    with pytest.raises(UnknownCodeSystemError):
        registry.notes(SNOMED, "44054006")


def test_notes_under_the_oid(registry):
    assert registry.notes("urn:oid:2.16.840.1.113883.6.90", "E11.9") == registry.notes(
        ICD10CM, "E119"
    )
