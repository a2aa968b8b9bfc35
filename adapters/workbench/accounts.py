"""Who may sign in to the workbench: local accounts from a file, passwords hashed by argon2.

The file is TOML, one table per user (``fhir-coder workbench add-user`` writes it)::

    [users.ada]
    name = "Ada Lovelace, CCS"
    role = "coder"                      # coder | auditor | admin
    password = "$argon2id$v=19$..."     # argon2-cffi's hash, never the password
    practitioner = "Practitioner/123"   # optional: who the coder is in the EHR

Roles: a ``coder`` works items and releases Claims; an ``auditor`` reads everything and
changes nothing; an ``admin`` may do what a coder does.
Verification takes as long for an unknown user as for a wrong password, so a sign-in form
does not tell which user names exist.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fhir_coder.errors import ConfigurationError

__all__ = ["Account", "Accounts", "Role", "add_user"]

_HASHER: Final = PasswordHasher()
_MAX_FILE: Final = 1_000_000


class Role(StrEnum):
    """What a person may do in the workbench."""

    CODER = "coder"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def may_edit(self) -> bool:
        """Whether the role changes items (coders and admins)."""
        return self is not Role.AUDITOR


@dataclass(frozen=True, slots=True)
class Account:
    """One person: user name, display name, role and the Practitioner they are, if known."""

    user: str
    name: str
    role: Role
    password_hash: str
    practitioner: str = ""

    def who(self) -> dict[str, object]:
        """The FHIR ``who`` naming this person (Provenance, AuditEvent)."""
        found: dict[str, object] = {
            "identifier": {"system": "urn:fhir-coder:workbench-user", "value": self.user},
            "display": self.name,
        }
        if self.practitioner:
            found["reference"] = self.practitioner
        return found


class Accounts:
    """The accounts of one file, read once."""

    def __init__(self, accounts: dict[str, Account]) -> None:
        self._accounts = accounts
        # verifying against a real hash for an unknown user costs the same time
        self._decoy = _HASHER.hash("no such user")

    @classmethod
    def from_file(cls, path: Path) -> Accounts:
        """Read ``path``; a missing file or a bad entry is a ConfigurationError naming it."""
        try:
            if path.stat().st_size > _MAX_FILE:
                raise ConfigurationError(f"{path}: an accounts file over 1 MB is not one")
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read the accounts file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path} is not TOML: {exc}") from exc
        found: dict[str, Account] = {}
        for user, entry in (data.get("users") or {}).items():
            try:
                role = Role(entry.get("role", "coder"))
            except ValueError as exc:
                raise ConfigurationError(
                    f"{path}: users.{user}.role must be coder, auditor or admin"
                ) from exc
            password = str(entry.get("password", ""))
            if not password.startswith("$argon2"):
                raise ConfigurationError(
                    f"{path}: users.{user}.password must be an argon2 hash "
                    "(fhir-coder workbench add-user writes one)"
                )
            found[user] = Account(
                user=user,
                name=str(entry.get("name") or user),
                role=role,
                password_hash=password,
                practitioner=str(entry.get("practitioner", "")),
            )
        if not found:
            raise ConfigurationError(f"{path} holds no [users.NAME] entries")
        return cls(found)

    def verify(self, user: str, password: str) -> Account | None:
        """The account when ``password`` is its password, else None."""
        account = self._accounts.get(user)
        try:
            _HASHER.verify(account.password_hash if account else self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return account

    def get(self, user: str) -> Account | None:
        """The account of ``user``, if there is one."""
        return self._accounts.get(user)


def add_user(
    path: Path, user: str, password: str, *, name: str = "", role: Role = Role.CODER,
    practitioner: str = "",
) -> None:  # fmt: skip
    """Add (or replace) ``user`` in the accounts file, with the password's argon2 hash."""
    if not user or not user.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigurationError("a user name is letters, digits, '.', '-' and '_'")
    if len(password) < 12:
        raise ConfigurationError("a password has 12 characters at least")
    entries: dict[str, dict[str, str]] = {}
    if path.is_file():
        entries = {
            k: dict(v)
            for k, v in (tomllib.loads(path.read_text("utf-8")).get("users") or {}).items()
        }
    entries[user] = {"name": name or user, "role": role.value, "password": _HASHER.hash(password)}
    if practitioner:
        entries[user]["practitioner"] = practitioner
    lines = []
    for key, entry in entries.items():
        lines.append(f"[users.{key}]")
        lines.extend(f"{field} = {_toml_string(value)}" for field, value in entry.items())
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
