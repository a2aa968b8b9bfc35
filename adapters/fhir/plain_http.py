"""Plain ``http://`` only where nobody can listen in: loopback, or a host the operator names.

Credentials (bearer tokens, passwords, client assertions, the tokens they buy) and
patient data go over every connection the plugin makes. Over ``http://`` anyone on the
path reads them, so a URL with that scheme is refused unless its host is the machine
itself (127.0.0.0/8, ``::1``, ``localhost``) or the operator has named it in
``allow_insecure_http`` (a lab network, a sidecar proxy that adds TLS).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

import httpx

from fhir_coder.errors import ConfigurationError

__all__ = ["InsecureUrlError", "check_url", "is_loopback"]


class InsecureUrlError(ConfigurationError):
    """A URL would send credentials or patient data in clear text to another machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine."""
    name = host.strip("[]").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_insecure_http: Collection[str] = (), what: str = "URL") -> str:
    """``url`` when it is ``https://``, or ``http://`` to loopback or an allowed host.

    Raises :class:`InsecureUrlError` naming ``what`` and the host (never the query string)
    otherwise, and :class:`ConfigurationError` for a URL that is neither.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"the {what} is not a URL") from exc
    if parsed.scheme == "https":
        return url
    if parsed.scheme != "http" or not parsed.host:
        raise ConfigurationError(f"the {what} must be an https:// URL, not {parsed.scheme}://")
    allowed = {host.strip().lower() for host in allow_insecure_http}
    if is_loopback(parsed.host) or parsed.host.lower() in allowed:
        return url
    raise InsecureUrlError(
        f"refusing plain http:// to {parsed.host} for the {what}: credentials and patient "
        f"data would cross the network unencrypted. Use https://, or name the host in "
        f"allow_insecure_http (--allow-insecure-http {parsed.host}) if that is intended"
    )
