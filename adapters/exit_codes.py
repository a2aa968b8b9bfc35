"""The CLI's exit codes: one per kind of failure, so scripts can tell them apart."""

from __future__ import annotations

from enum import IntEnum

from fhir_coder.errors import (
    CodeSetError,
    CodingError,
    ConfigurationError,
    FhirCoderError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
    NotFhirError,
    X12Error,
)

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    FINDINGS = 1  # it worked, but a claim has findings that block submission
    USAGE = 2  # the command line is wrong (argparse's own code)
    NOT_FOUND = 3  # the encounter (or other named resource) does not exist
    UNREACHABLE = 4  # no answer from the server: refused, reset, timeout, TLS
    NOT_FHIR = 5  # the server answered something that is not FHIR
    SERVER_ERROR = 6  # the server answered with an error status
    CANNOT_CODE = 7  # the data cannot be coded at all (no patient, ...)
    CONFIGURATION = 8  # a setting or a code set is missing or wrong
    SANDBOX_FAILED = 9  # the embedded sandbox did not start
    X12_INVALID = 10  # an X12 file is malformed (the message names the segment and position)


def exit_code_for(error: FhirCoderError) -> ExitCode:
    """The exit code that names the kind of ``error``."""
    table: tuple[tuple[type[FhirCoderError], ExitCode], ...] = (
        (FhirNotFoundError, ExitCode.NOT_FOUND),
        (FhirTransportError, ExitCode.UNREACHABLE),
        (NotFhirError, ExitCode.NOT_FHIR),
        (FhirResponseError, ExitCode.SERVER_ERROR),
        (CodingError, ExitCode.CANNOT_CODE),
        (ConfigurationError, ExitCode.CONFIGURATION),
        (CodeSetError, ExitCode.CONFIGURATION),
        (X12Error, ExitCode.X12_INVALID),
    )
    return next((code for kind, code in table if isinstance(error, kind)), ExitCode.SERVER_ERROR)
