"""pyx12 as the independent judge of the X12 we write: its 5010 maps, its error list.

pyx12 reads the implementation-guide maps (X222A1, X223A2, X221A1) and reports every
segment and element it finds wrong; the tests assert that list is empty.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyx12.params
import pyx12.x12n_document


def pyx12_errors(text: str, tmp_path: Path) -> list[str]:
    """Every error pyx12 reports on ``text`` (an interchange), one line each."""
    source = tmp_path / "judged.x12"
    source.write_text(text)
    params = pyx12.params.params()
    out_json = io.StringIO()
    out_999 = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(
        params, str(source), out_999, None, None, fd_json=out_json
    )
    errors: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            errors.extend(f"{where}: {error}" for error in node.get("errors", []) or [])
            for key, value in node.items():
                if key != "errors":
                    walk(value, f"{where}/{node.get('seg_id', node.get('id', key))}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(json.loads(out_json.getvalue() or "{}"), "")
    if not valid and not errors:
        errors.append("pyx12 rejected the interchange without naming an error")
    return errors
