"""The one error hierarchy of fhir-coder.

Findings about a claim are data (:class:`fhir_coder.outcome.Issue`), never exceptions;
exceptions are for failures that stop a piece of work::

    FhirCoderError
    ├── ConfigurationError          a setting is missing or contradicts another
    ├── CodeSetError                a code set cannot answer
    │   ├── UnknownCodeSystemError  no code set is loaded for that system
    │   └── ReleaseNotAvailableError  no release of the code set covers the date
    ├── CodingError                 an encounter cannot be coded at all
    ├── X12Error                    an X12 file is malformed (names the segment and position)
    └── FhirError                   talking to a FHIR server failed
        ├── FhirTransportError      no HTTP answer (refused, reset, timeout, TLS)
        ├── FhirResponseError       an HTTP answer that is an error status
        │   └── FhirNotFoundError   404 / 410 for a resource the caller named
        └── NotFhirError            an answer that is not FHIR JSON

Every FHIR error carries the ``url`` it was about (with no query string, which may hold
identifiers), and a response error carries the ``status_code`` and the parsed
``OperationOutcome`` so callers can show the server's own words.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeSetError",
    "CodingError",
    "ConfigurationError",
    "FhirCoderError",
    "FhirError",
    "FhirNotFoundError",
    "FhirResponseError",
    "FhirTransportError",
    "NotFhirError",
    "ReleaseNotAvailableError",
    "UnknownCodeSystemError",
    "X12Error",
]


class FhirCoderError(Exception):
    """Root of every error fhir-coder raises on purpose."""


class ConfigurationError(FhirCoderError):
    """A setting is missing, malformed or contradicts another."""


class CodeSetError(FhirCoderError):
    """A code set cannot answer a question about a code."""


class UnknownCodeSystemError(CodeSetError):
    """No code set is loaded for the system asked about."""

    def __init__(self, system: str) -> None:
        super().__init__(f"no code set is loaded for system {system!r}")
        self.system = system


class ReleaseNotAvailableError(CodeSetError):
    """No release of a code set covers the date of service asked about."""

    def __init__(self, system: str, on: str, covered: str) -> None:
        super().__init__(f"no release of {system} covers {on} (releases loaded cover {covered})")
        self.system = system
        self.on = on
        self.covered = covered


class CodingError(FhirCoderError):
    """An encounter cannot be coded at all (as opposed to a line that needs a coder)."""


class X12Error(FhirCoderError):
    """An X12 interchange is malformed; ``segment`` and ``position`` say where.

    ``position`` counts segments from 1 at the ISA, as an acknowledgment (999 IK3) does.
    """

    def __init__(self, message: str, *, source: str, segment: str, position: int) -> None:
        super().__init__(f"{source}: segment {segment} at position {position}: {message}")
        self.source = source
        self.segment = segment
        self.position = position


class FhirError(FhirCoderError):
    """Talking to a FHIR server failed."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class FhirTransportError(FhirError):
    """The server gave no HTTP answer: connection refused or reset, timeout, TLS failure."""


class FhirResponseError(FhirError):
    """The server answered with an error status; ``outcome`` holds its OperationOutcome."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status_code: int,
        outcome: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status_code = status_code
        self.outcome = outcome


class FhirNotFoundError(FhirResponseError):
    """The resource the caller named does not exist (404) or is gone (410)."""


class NotFhirError(FhirError):
    """The server answered, but not with FHIR JSON (an HTML login page, a proxy error...)."""
