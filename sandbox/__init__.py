"""A small FHIR R4 server for tests and demos, kept in one SQLite file.

Nothing in fhir-coder imports this package at run time: the pipeline talks to it over
HTTP like to any other FHIR server (in tests through ``httpx.ASGITransport``). Run it with
``python -m sandbox`` (``--load PATH`` for data files, ``--auth-config FILE`` for bearer
tokens and SMART backend clients); build it in-process with :func:`create_app`. What it
does, and how it differs from the Medplum peer the parity tests compare it with, is in
``docs/sandbox.md``.
"""

from sandbox.app import DEFAULT_MAX_BODY_BYTES, create_app
from sandbox.auth import AuthConfig, ClientRegistration, load_auth_config
from sandbox.loading import LoadError, LoadReport, load_path, load_paths
from sandbox.problems import FhirRequestError
from sandbox.seed import build_seed_bundle, load_bundle, load_bundle_file, seed_store
from sandbox.server import READY_PREFIX
from sandbox.store import Store, StoredResource

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "READY_PREFIX",
    "AuthConfig",
    "ClientRegistration",
    "FhirRequestError",
    "LoadError",
    "LoadReport",
    "Store",
    "StoredResource",
    "build_seed_bundle",
    "create_app",
    "load_auth_config",
    "load_bundle",
    "load_bundle_file",
    "load_path",
    "load_paths",
    "seed_store",
]
