"""One place that turns a user's authentication settings into an ``httpx.Auth`` flow.

Commands and configuration files name settings (a token, a user and password, a SMART
client id with its key file and scopes); this checks that they describe exactly one kind
of authentication and builds it. Secrets come in as values the caller read from the
environment or a file, never from a command line, where other users of the machine could
read them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from adapters.fhir.auth.keys import load_signing_key
from adapters.fhir.auth.smart import SmartBackendAuth
from adapters.fhir.auth.static import BasicAuth, BearerAuth
from adapters.fhir.plain_http import check_url
from fhir_coder.errors import ConfigurationError

__all__ = ["DEFAULT_SMART_SCOPE", "SMART_WRITE_SCOPE", "AuthSettings", "build_auth"]

SMART_WRITE_SCOPE = "system/Claim.cu system/Provenance.cu system/Task.cu"
"""What a write-back needs (SMART v2): the Claim, its Provenance and, for a draft, the
coder's Task, each created or updated (``PUT`` with the plugin's id is an update that may
create; without client ids a ``POST`` and, for the Task, a conditional ``PUT``)."""

DEFAULT_SMART_SCOPE = f"system/*.rs {SMART_WRITE_SCOPE}"
"""The scopes asked for unless told otherwise: read and search what an encounter needs
(and the Claim's current version before an update), plus the write-back."""


@dataclass(frozen=True, slots=True, repr=False)
class AuthSettings:
    """Authentication settings as a user gives them; at most one kind may be filled in."""

    bearer_token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None
    smart_client_id: str | None = None
    smart_key_file: Path | None = None
    smart_key_id: str | None = None
    smart_scope: str = DEFAULT_SMART_SCOPE
    smart_token_url: str | None = None

    def __repr__(self) -> str:
        return f"AuthSettings(kind={self.kind!r})"

    @property
    def kind(self) -> str:
        """``none``, ``bearer``, ``basic`` or ``smart``; ConfigurationError for a mixture."""
        kinds = [
            name
            for name, given in (
                ("bearer", self.bearer_token),
                ("basic", self.basic_user or self.basic_password),
                ("smart", self.smart_client_id or self.smart_key_file),
            )
            if given
        ]
        if len(kinds) > 1:
            raise ConfigurationError(
                f"choose one kind of authentication, not {' and '.join(kinds)}"
            )
        return kinds[0] if kinds else "none"


def build_auth(
    settings: AuthSettings, *, fhir_base_url: str, allow_insecure_http: Collection[str] = ()
) -> httpx.Auth | None:
    """The flow ``settings`` describe for the server at ``fhir_base_url`` (None: no auth).

    Every command builds its clients' authentication here, so this is where plain
    ``http://`` to another machine is refused: the server's URL, the token endpoint given,
    and (when the flow finds it) the discovered one, unless their host is named in
    ``allow_insecure_http`` (:func:`adapters.fhir.plain_http.check_url`).
    """
    check_url(fhir_base_url, allow_insecure_http=allow_insecure_http, what="FHIR server")
    kind = settings.kind
    if kind == "bearer" and settings.bearer_token:
        return BearerAuth(settings.bearer_token)
    if kind == "basic":
        if not settings.basic_user or settings.basic_password is None:
            raise ConfigurationError("basic authentication needs a user and a password")
        return BasicAuth(settings.basic_user, settings.basic_password)
    if kind == "smart":
        if not settings.smart_client_id or settings.smart_key_file is None:
            raise ConfigurationError(
                "SMART backend authentication needs a client id and a key file"
            )
        check = partial(check_url, allow_insecure_http=allow_insecure_http, what="token endpoint")
        if settings.smart_token_url:
            check(settings.smart_token_url)
        return SmartBackendAuth(
            client_id=settings.smart_client_id,
            key=load_signing_key(settings.smart_key_file, kid=settings.smart_key_id),
            scope=settings.smart_scope,
            fhir_base_url=fhir_base_url,
            token_url=settings.smart_token_url,
            check_token_url=check,
        )
    return None
