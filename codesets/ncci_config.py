"""Which CMS NCCI PTP and MUE folders are configured, and their tables, once per process.

The one reader of ``FHIR_CODER_NCCI_PTP_DIR`` and ``FHIR_CODER_MUE_DIR``
(:func:`configured_folders`) and the one place the tables of a pair of folders are kept
(:func:`shared_ncci`), for ``fhir-coder validate`` and the pipeline's scrubber alike. Light
on purpose: the loaders (:mod:`codesets.ncci`) are imported only when a folder is configured,
so a process without tables never loads them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from codesets.ncci import NcciEdits

__all__ = ["MUE_DIR_ENV", "PTP_DIR_ENV", "configured_folders", "shared_ncci"]

PTP_DIR_ENV: Final = "FHIR_CODER_NCCI_PTP_DIR"
MUE_DIR_ENV: Final = "FHIR_CODER_MUE_DIR"


def configured_folders(
    ptp_dir: Path | str | None = None, mue_dir: Path | str | None = None
) -> tuple[Path | None, Path | None]:
    """The PTP and MUE folders: each one given, else the environment's, else None.

    The one reader of :data:`PTP_DIR_ENV` and :data:`MUE_DIR_ENV` (an empty variable is
    unset). A folder given (``validate --ptp-dir``) wins over the variable for that folder
    only, as the command line wins over the environment for every setting.
    """
    ptp = ptp_dir if ptp_dir is not None else os.environ.get(PTP_DIR_ENV) or None
    mue = mue_dir if mue_dir is not None else os.environ.get(MUE_DIR_ENV) or None
    return (Path(ptp) if ptp is not None else None, Path(mue) if mue is not None else None)


_shared: dict[tuple[Path | None, Path | None], NcciEdits] = {}
_shared_lock = threading.Lock()


def shared_ncci(
    ptp_dir: Path | str | None = None, mue_dir: Path | str | None = None
) -> NcciEdits | None:
    """The tables of :func:`configured_folders`, loaded once per process; None if no folder.

    Every scrubber of the process shares them (the PTP tables are large; the compiled
    cache makes loading them take tens of milliseconds, still too much per claim). The
    folders are read when first asked for: new CMS files are taken at the next start. A
    folder that does not exist or holds no table is a ``ConfigurationError``.
    """
    ptp, mue = configured_folders(ptp_dir, mue_dir)
    if ptp is None and mue is None:
        return None
    key = (ptp.resolve() if ptp else None, mue.resolve() if mue else None)
    with _shared_lock:
        edits = _shared.get(key)
        if edits is None:
            from codesets.ncci import NcciEdits  # noqa: PLC0415 - the loaders, only now

            edits = _shared[key] = NcciEdits(ptp_dir=ptp, mue_dir=mue)
        return edits
