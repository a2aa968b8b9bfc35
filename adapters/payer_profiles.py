"""Payer profiles from a TOML settings file: which edits apply, and at what severity.

Two profiles are built in (:data:`fhir_coder.edits.MEDICARE`, the default, and
:data:`fhir_coder.edits.COMMERCIAL`); a file adds more or redefines them::

    [profiles.acme]
    extends = "commercial"        # a built-in or another profile of the file
    sex_edits = true              # ask for MCE sex conflicts after CMS dropped them
    mce = true                    # apply the MCE to institutional claims

    [profiles.acme.edits]
    "ICD10CM-EXCLUDES1" = "error" # error | warning | information | off
    "MCE-QUESTIONABLE-ADMISSION" = "off"

An unknown edit id, severity or parent is a :class:`ConfigurationError` naming it, so a
typo never silently leaves an edit at its default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from fhir_coder.edits import COMMERCIAL, MEDICARE, PayerProfile
from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Severity

__all__ = ["BUILT_IN", "load_profiles", "profile_named"]

BUILT_IN: Final[Mapping[str, PayerProfile]] = {"medicare": MEDICARE, "commercial": COMMERCIAL}
_SEVERITIES: Final = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "information": Severity.INFORMATION,
    "off": None,
}


def load_profiles(path: Path) -> dict[str, PayerProfile]:
    """The built-in profiles plus those ``path`` defines (which may replace them)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read payer profiles {path}: {exc}") from exc
    raw = data.get("profiles", {})
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: [profiles] must be a table of profiles")
    profiles = dict(BUILT_IN)
    pending = dict(raw)
    while pending:
        ready = [
            name
            for name, body in pending.items()
            if str(_table(body, name, path).get("extends", "medicare")) not in pending
            or str(_table(body, name, path).get("extends")) == name
        ]
        if not ready:
            raise ConfigurationError(f"{path}: profiles extend each other in a cycle")
        for name in ready:
            profiles[name] = _profile(name, _table(pending.pop(name), name, path), profiles, path)
    return profiles


def _table(body: object, name: str, path: Path) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ConfigurationError(f"{path}: profile {name!r} must be a table")
    return body


def _profile(
    name: str, body: dict[str, Any], known: Mapping[str, PayerProfile], path: Path
) -> PayerProfile:
    parent_name = str(body.get("extends", "medicare"))
    parent = known.get(parent_name)
    if parent is None or (parent_name == name and name not in BUILT_IN):
        raise ConfigurationError(f"{path}: profile {name!r} extends unknown {parent_name!r}")
    severities: dict[str, Severity | None] = dict(parent.severities)
    edits = body.get("edits", {})
    if not isinstance(edits, dict):
        raise ConfigurationError(f"{path}: [profiles.{name}.edits] must be a table")
    for edit_id, value in edits.items():
        if not isinstance(value, str) or value.lower() not in _SEVERITIES:
            raise ConfigurationError(
                f"{path}: profile {name!r}, edit {edit_id}: {value!r} is not one of "
                f"{', '.join(_SEVERITIES)}"
            )
        severities[edit_id] = _SEVERITIES[value.lower()]
    flags = {key: body.get(key, getattr(parent, key)) for key in ("sex_edits", "mce")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigurationError(f"{path}: profile {name!r}: {key} must be true or false")
    return PayerProfile(
        name, severities, sex_edits=bool(flags["sex_edits"]), mce=bool(flags["mce"])
    )


def profile_named(name: str, path: Path | None = None) -> PayerProfile:
    """The profile called ``name``, built in or from the file at ``path``."""
    profiles = load_profiles(path) if path is not None else dict(BUILT_IN)
    found = profiles.get(name)
    if found is None:
        raise ConfigurationError(
            f"no payer profile {name!r} (known: {', '.join(sorted(profiles))})"
        )
    return found
