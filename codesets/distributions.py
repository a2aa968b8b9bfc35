"""Find an installed package's files and version without importing it or ``importlib.metadata``.

The cache key of a compiled code set names the versions of the packages it was built
from, so it is needed at every start-up. ``importlib.metadata`` costs ~45 ms to import
(it pulls in ``email``, ``zipfile``, ``csv``...), and importing the packages themselves
is worse (``simple_icd_10_cm`` parses its XML on import). ``importlib.util.find_spec``
locates a top-level package without running it, and the version is in the name of the
``<name>-<version>.dist-info`` folder beside it; ``importlib.metadata`` stays the
fallback for layouts where that folder is not found.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

__all__ = ["distribution_version", "package_dir"]


def package_dir(package: str) -> Path:
    """The folder of the installed top-level ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed", name=package)
    return Path(next(iter(locations)))


def distribution_version(distribution: str, package: str) -> str:
    """The installed version of ``distribution``, whose top-level package is ``package``."""
    prefix = re.sub(r"[-_.]+", "_", distribution).lower() + "-"
    folder = package_dir(package).parent
    found = {
        entry.name[len(prefix) : -len(".dist-info")]
        for entry in os.scandir(folder)
        if entry.name.lower().startswith(prefix) and entry.name.endswith(".dist-info")
    }
    if len(found) == 1:
        return found.pop()
    import importlib.metadata  # noqa: PLC0415 - slow import, only for unusual layouts

    return importlib.metadata.version(distribution)
