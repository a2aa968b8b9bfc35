"""Reading ``Reference.reference`` strings and search values into (type, id) pairs.

References arrive as ``Type/id``, ``Type/id/_history/v`` or absolute URLs; search values
also as a bare id. Both the indexer and the search parser use these functions, so a value
is matched exactly the way it was indexed.
"""

from __future__ import annotations

import re

from sandbox.resource_types import is_resource_type

__all__ = ["ID_PATTERN", "is_valid_id", "split_reference"]

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""The FHIR ``id`` datatype: 1-64 letters, digits, ``-`` and ``.``."""

_RELATIVE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a syntactically valid FHIR logical id."""
    return ID_PATTERN.fullmatch(value) is not None


def split_reference(reference: str) -> tuple[str, str] | None:
    """``Patient/1``, ``Patient/1/_history/2`` or ``http://host/Patient/1`` as (Patient, 1).

    Absolute URLs keep only their last ``Type/id`` segments: a server treats an absolute
    reference to itself as a local one, and the sandbox does not know which name it is
    reached by when it indexes. Contained (``#x``), ``urn:`` and conditional references
    give None: they name no stored resource.
    """
    text = reference.strip()
    if text.startswith(("http://", "https://")):
        parts = text.split("?", 1)[0].rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        text = "/".join(parts[-2:])
    match = _RELATIVE.fullmatch(text)
    if match is None or not is_resource_type(match["type"]):
        return None
    return match["type"], match["id"]
