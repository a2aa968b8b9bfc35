"""What the CLI commands share: printing, the data folder, the authentication flags.

Every command that talks to a FHIR server takes the same authentication flags. Secrets
come from the environment (``--bearer-token-env VAR``, ``--basic-password-env VAR``) or a
file (``--smart-key FILE``), never as flag values: other users of the machine can read
command lines.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from adapters.fhir.auth import AuthSettings

__all__ = [
    "CLAIMS_AUTH_PREFIX",
    "DEFAULT_DATA_DIR",
    "Subcommands",
    "add_auth_arguments",
    "add_insecure_http_argument",
    "auth_settings",
    "auth_values",
    "out",
    "print_json",
]

CLAIMS_AUTH_PREFIX = "claims-"
"""The prefix of the flags that authenticate to the ``--claims-to`` server."""

DEFAULT_DATA_DIR = Path("fhir-coder-data")
"""Where the embedded default keeps its SQLite files, relative to the working folder."""


class Subcommands(Protocol):
    """The object ``ArgumentParser.add_subparsers`` returns, as far as commands use it."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        """Add a command's parser."""
        ...


def out(text: str = "") -> None:
    """Print a line of the command's output (stdout; errors go to stderr from ``main``)."""
    print(text)  # noqa: T201 - the CLI's voice


def print_json(value: object) -> None:
    """Print ``value`` as indented JSON."""
    out(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def add_auth_arguments(
    parser: argparse.ArgumentParser, *, prefix: str = "", title: str | None = None
) -> None:
    """The authentication flags: secrets by environment variable or file only.

    ``prefix`` (``claims-``) makes the same flags for another server
    (``--claims-bearer-token-env``...).
    """
    auth = parser.add_argument_group(title or "authentication (at most one kind)")
    auth.add_argument(
        f"--{prefix}bearer-token-env",
        metavar="VAR",
        help="environment variable holding a bearer token",
    )
    auth.add_argument(f"--{prefix}basic-user", metavar="USER", help="user for basic authentication")
    auth.add_argument(
        f"--{prefix}basic-password-env",
        metavar="VAR",
        help="environment variable holding the password",
    )
    auth.add_argument(
        f"--{prefix}smart-client-id", metavar="ID", help="SMART Backend Services client id"
    )
    auth.add_argument(
        f"--{prefix}smart-key",
        metavar="FILE",
        type=Path,
        help="the client's private key (PEM, JWK or JWKS)",
    )
    auth.add_argument(
        f"--{prefix}smart-key-id", metavar="KID", help="the key's kid (default: from FILE)"
    )
    auth.add_argument(
        f"--{prefix}smart-scope",
        metavar="SCOPES",
        help="scopes to ask for (default: system/*.rs, and create/update of Claim, "
        "Provenance and Task)",
    )
    auth.add_argument(
        f"--{prefix}smart-token-url",
        metavar="URL",
        help="the token endpoint (default: from .well-known/smart-configuration)",
    )


def add_insecure_http_argument(parser: argparse.ArgumentParser) -> None:
    """``--allow-insecure-http HOST``: plain ``http://`` to that host although not loopback."""
    parser.add_argument(
        "--allow-insecure-http",
        action="append",
        metavar="HOST",
        help="allow plain http:// to HOST (credentials and patient data unencrypted; "
        "loopback is always allowed); repeatable",
    )


def _from_env(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(f"the environment variable {variable} ({what}) is not set")
    return value


def auth_values(args: argparse.Namespace, *, prefix: str = "") -> dict[str, Any]:
    """The :class:`AuthSettings` fields the flags give, secrets read from where they point.

    Only the flags that were given; a parser without them gives nothing.
    """
    dest = prefix.replace("-", "_")

    def flag(name: str) -> Any:  # noqa: ANN401 - whatever argparse stored
        return getattr(args, dest + name, None)

    values = {
        "bearer_token": _from_env(flag("bearer_token_env"), "bearer token"),
        "basic_user": flag("basic_user"),
        "basic_password": _from_env(flag("basic_password_env"), "password"),
        "smart_client_id": flag("smart_client_id"),
        "smart_key_file": flag("smart_key"),
        "smart_key_id": flag("smart_key_id"),
        "smart_scope": flag("smart_scope"),
        "smart_token_url": flag("smart_token_url"),
    }
    return {name: value for name, value in values.items() if value is not None}


def auth_settings(args: argparse.Namespace, *, prefix: str = "") -> AuthSettings:
    """The :class:`AuthSettings` the flags describe (the default scope unless given)."""
    from adapters.fhir.auth import AuthSettings  # noqa: PLC0415 - jwt and cryptography, when needed

    return AuthSettings(**auth_values(args, prefix=prefix))
