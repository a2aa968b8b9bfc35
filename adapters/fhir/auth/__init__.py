"""Authentication as ``httpx.Auth`` flows, so the client never knows which one it carries.

``None`` (open test servers), :class:`BearerAuth` (a token handed over by an operator),
``httpx.BasicAuth`` (test servers), and :class:`SmartBackendAuth` (SMART Backend
Services: a signed JWT exchanged for short-lived tokens). Every flow keeps its secret out
of ``repr``, logs and error messages.
"""

from adapters.fhir.auth.keys import SigningKey, load_signing_key, public_jwks
from adapters.fhir.auth.options import (
    DEFAULT_SMART_SCOPE,
    SMART_WRITE_SCOPE,
    AuthSettings,
    build_auth,
)
from adapters.fhir.auth.smart import SmartBackendAuth
from adapters.fhir.auth.static import BasicAuth, BearerAuth

__all__ = [
    "DEFAULT_SMART_SCOPE",
    "SMART_WRITE_SCOPE",
    "AuthSettings",
    "BasicAuth",
    "BearerAuth",
    "SigningKey",
    "SmartBackendAuth",
    "build_auth",
    "load_signing_key",
    "public_jwks",
]
