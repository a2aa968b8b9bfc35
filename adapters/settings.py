"""The settings of the long-running triggers (``serve``, ``watch``, ``run``), in one place.

Read, later ones winning, from the defaults, a TOML file (``--config FILE`` or
``FHIR_CODER_CONFIG``), the environment (``FHIR_CODER_*``), then the command line.
Secrets (the token notifications must carry, the FHIR server's token or password) come
only from the environment or from files named there (``FHIR_CODER_NOTIFY_TOKEN_FILE``),
are held as :class:`pydantic.SecretStr` and never printed or logged; a SMART client's
private key stays in its file (``smart_key_file``) and only its path is a setting.

Authentication to the FHIR server (``fhir_token``, ``basic_*``, ``smart_*``) and, with its
own ``claims_`` keys, to a ``--claims-to`` server are the settings behind the same
:class:`adapters.fhir.auth.AuthSettings` the command-line flags fill in: at most one kind each.
``docs/triggers.md`` lists every setting.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.fhir.auth.options import DEFAULT_SMART_SCOPE, AuthSettings
from adapters.fhir.plain_http import check_url, is_loopback
from adapters.jobs.ledger import DEFAULT_JOBS_DB
from adapters.jobs.options import WorkerSettings
from adapters.storage import is_postgres_url
from fhir_coder.errors import ConfigurationError

__all__ = ["CONFIG_ENV", "CdsIssuer", "TriggerSettings", "auth_overrides", "load_settings"]

CONFIG_ENV = "FHIR_CODER_CONFIG"
CLAIMS_PREFIX = "claims_"
"""The prefix of the settings that authenticate to the ``--claims-to`` server."""
_SECRETS = ("notify_token", "fhir_token", "basic_password", "claims_token", "claims_basic_password")
_AUTH_FIELDS = tuple(field.name for field in fields(AuthSettings))
"""Each a setting of the same name (``fhir_token`` for the bearer token; ``claims_``...)."""
_CONFIG: ContextVar[Path | None] = ContextVar("fhir_coder_config", default=None)


class CdsIssuer(BaseModel):
    """A CDS client (an EHR) allowed to call the CDS Hooks service, and where its keys are.

    ``iss`` is the JWT's issuer; its public keys come from ``jwks_url`` (fetched and kept),
    a ``jwks_file`` handed over out of band, or the JWT's ``jku`` header when that URL is
    one of ``jku``. ``sub``, when given, lists the client ids accepted from this issuer;
    ``tenant``, when given, the healthcare organisations (the JWT's optional ``tenant``
    claim, CDS Hooks 2.0) this service codes for: one EHR issuer often serves many
    organisations, and a call for another one must not queue work here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    jwks_url: str | None = None
    jwks_file: Path | None = None
    jku: tuple[str, ...] = ()
    sub: tuple[str, ...] = ()
    tenant: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _has_keys(self) -> Self:
        if self.jwks_url is None and self.jwks_file is None and not self.jku:
            raise ValueError(f"the CDS issuer {self.iss} needs jwks_url, jwks_file or jku")
        return self


class TriggerSettings(BaseSettings):
    """Every setting of the triggers; see ``docs/triggers.md``."""

    model_config = SettingsConfigDict(env_prefix="FHIR_CODER_", extra="forbid")

    server: str | None = None  # the FHIR base URL encounters come from
    source_id: str | None = None  # a stable name for it (default: the URL)
    jobs_db: Path | str = DEFAULT_JOBS_DB  # a SQLite file, or a postgresql:// URL (shared)
    # the Claim ledger; default: claims.sqlite3 beside jobs_db, or jobs_db itself on PostgreSQL
    claims_db: Path | str | None = None
    # the X12 submission ledger; default: x12.sqlite3 beside jobs_db, or jobs_db on PostgreSQL
    x12_db: Path | str | None = None
    concurrency: int = Field(default=4, ge=1, le=64)
    rate_per_second: float = Field(default=0.0, ge=0.0)  # per server; 0 = no limit
    max_attempts: int = Field(default=5, ge=1)
    lease_seconds: float = Field(default=120.0, gt=0)
    retry_base_seconds: float = Field(default=1.0, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    notify_header: str = "Authorization"  # the header notifications carry the token in
    notify_token: SecretStr | None = None  # its expected value (Bearer xyz, or a bare secret)
    # authentication to the FHIR server: at most one kind (adapters.fhir.auth.AuthSettings)
    fhir_token: SecretStr | None = None  # a bearer token
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    smart_client_id: str | None = None  # SMART Backend Services
    smart_key_file: Path | None = None  # its private key (PEM, JWK or JWKS)
    smart_key_id: str | None = None  # the key's kid (default: from the file)
    smart_scope: str | None = None  # default: DEFAULT_SMART_SCOPE
    smart_token_url: str | None = None  # default: from .well-known/smart-configuration
    # where Claims go: a FHIR base URL or an NDJSON folder (default: back to the source server)
    claims_to: str | None = None
    # authentication to the --claims-to server, when Claims go to another one (default: none)
    claims_token: SecretStr | None = None
    claims_basic_user: str | None = None
    claims_basic_password: SecretStr | None = None
    claims_smart_client_id: str | None = None
    claims_smart_key_file: Path | None = None
    claims_smart_key_id: str | None = None
    claims_smart_scope: str | None = None
    claims_smart_token_url: str | None = None
    poll_seconds: float = Field(default=30.0, gt=0)
    overlap_seconds: float = Field(default=120.0, ge=0)
    public_url: str | None = None  # where the FHIR server and EHRs reach ``serve``
    # CDS Hooks: the EHRs whose signed JWTs are accepted; unsigned calls only on loopback
    cds_issuers: tuple[CdsIssuer, ...] = ()
    cds_allow_unsigned: bool = False
    # hosts that may be reached over plain http:// although not loopback (comma-separated)
    allow_insecure_http: Annotated[tuple[str, ...], NoDecode] = ()
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # ``serve``'s request bodies

    @field_validator("allow_insecure_http", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if isinstance(value, str):  # FHIR_CODER_ALLOW_INSECURE_HTTP=lab1,lab2
            return tuple(host.strip() for host in value.split(",") if host.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Command line, then environment, then the TOML file, then defaults."""
        del dotenv_settings, file_secret_settings
        path = _CONFIG.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def workers(self) -> WorkerSettings:
        """The worker settings among these."""
        return WorkerSettings(
            concurrency=self.concurrency,
            rate_per_second=self.rate_per_second,
            max_attempts=self.max_attempts,
            lease_seconds=self.lease_seconds,
            retry_base_seconds=self.retry_base_seconds,
        )

    def claims_db_path(self) -> Path | str:
        """Where the Claim ledger is: ``claims_db``, else ``claims.sqlite3`` beside the jobs.

        Beside a PostgreSQL job ledger, in the same database: machines that share the jobs
        share the record of what was written, so a Claim goes out once across all of them.
        """
        if self.claims_db:
            return self.claims_db
        if is_postgres_url(self.jobs_db):
            return self.jobs_db
        return Path(self.jobs_db).with_name("claims.sqlite3")

    def x12_db_path(self) -> Path | str:
        """Where the X12 submission ledger is: ``x12_db``, else ``x12.sqlite3`` beside the jobs.

        Beside a PostgreSQL job ledger, in the same database: machines that share the work
        send each Claim once among them.
        """
        if self.x12_db:
            return self.x12_db
        if is_postgres_url(self.jobs_db):
            return self.jobs_db
        return Path(self.jobs_db).with_name("x12.sqlite3")

    def data_dir(self) -> Path:
        """The folder for local files (export indexes, downloads) on this machine.

        The job ledger's folder, or ``fhir-coder-data`` when the ledger is a PostgreSQL database.
        """
        if is_postgres_url(self.jobs_db):
            return DEFAULT_JOBS_DB.parent
        return Path(self.jobs_db).parent

    def source_auth(self, *, default_scope: str = DEFAULT_SMART_SCOPE) -> AuthSettings:
        """How to authenticate to the FHIR server (``default_scope`` unless ``smart_scope``)."""
        return self._auth("", default_scope)

    def claims_auth(self) -> AuthSettings:
        """How to authenticate to the ``--claims-to`` server (the ``claims_`` settings)."""
        return self._auth(CLAIMS_PREFIX, DEFAULT_SMART_SCOPE)

    def _auth(self, prefix: str, default_scope: str) -> AuthSettings:
        values = {field: getattr(self, _setting(field, prefix)) for field in _AUTH_FIELDS}
        secrets = ("bearer_token", "basic_password")
        for field in secrets:
            if values[field] is not None:
                values[field] = values[field].get_secret_value()
        values["smart_scope"] = values["smart_scope"] or default_scope
        return AuthSettings(**values)

    def check_urls(self) -> None:
        """Refuse plain ``http://`` to another machine for every URL the settings name.

        The FHIR server, the ``claims_to`` server, token endpoints and CDS issuers' key
        sets, unless the host is in ``allow_insecure_http`` (:mod:`adapters.fhir.plain_http`).
        """
        named = {
            "FHIR server (server)": self.server,
            "token endpoint (smart_token_url)": self.smart_token_url,
            "Claims server (claims_to)": self.claims_to if _is_url(self.claims_to) else None,
            "Claims server's token endpoint (claims_smart_token_url)": (
                self.claims_smart_token_url
            ),
        }
        for issuer in self.cds_issuers:
            named[f"JWK Set of the CDS issuer {issuer.iss} (jwks_url)"] = issuer.jwks_url
            for jku in issuer.jku:
                named[f"JWK Set of the CDS issuer {issuer.iss} (jku)"] = jku
        for what, url in named.items():
            if url:
                check_url(url, allow_insecure_http=self.allow_insecure_http, what=what)

    def check_serving(self) -> None:
        """Refuse what is only safe on loopback when ``serve`` binds another address.

        Off loopback anyone on the network reaches the service: notifications must carry
        the token, and CDS Hooks calls must be signed.
        """
        if is_loopback(self.host):
            return
        if self.notify_token is None:
            raise ConfigurationError(
                f"serve binds {self.host}, not loopback: set the notification token "
                "(FHIR_CODER_NOTIFY_TOKEN or FHIR_CODER_NOTIFY_TOKEN_FILE)"
            )
        if self.cds_allow_unsigned:
            raise ConfigurationError(
                f"serve binds {self.host}, not loopback: cds_allow_unsigned is refused there; "
                "configure cds_issuers instead"
            )
        if self.cds_issuers and not self.public_url:
            raise ConfigurationError(
                f"serve binds {self.host}: set public_url (--public-url), the URL EHRs call "
                "it at, which their CDS Hooks JWTs must name as aud"
            )

    def source_key(self) -> str:
        """The name jobs of this server are filed under."""
        if self.source_id:
            return self.source_id
        if self.server:
            return self.server.rstrip("/")
        raise ConfigurationError("no FHIR server: pass --server or set FHIR_CODER_SERVER")


def _is_url(value: str | None) -> bool:
    return value is not None and value.startswith(("http://", "https://"))


def _setting(field: str, prefix: str) -> str:
    """The setting holding ``field``: ``fhir_token`` / ``claims_token`` for the bearer token."""
    if field == "bearer_token":
        return f"{prefix}token" if prefix else "fhir_token"
    return f"{prefix}{field}"


def auth_overrides(values: dict[str, Any], *, claims: bool = False) -> dict[str, Any]:
    """``values`` (:class:`AuthSettings` field names, as flags give them) as setting names.

    ``claims`` names the ``--claims-to`` server's settings (``claims_token``...).
    """
    prefix = CLAIMS_PREFIX if claims else ""
    return {_setting(field, prefix): value for field, value in values.items()}


def _secret_files() -> dict[str, str]:
    """Secrets named by ``FHIR_CODER_<NAME>_FILE``: the file's content, stripped."""
    found: dict[str, str] = {}
    for name in _SECRETS:
        where = os.environ.get(f"FHIR_CODER_{name.upper()}_FILE")
        if where:
            try:
                found[name] = Path(where).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read FHIR_CODER_{name.upper()}_FILE: {exc.strerror}"
                ) from exc
    return found


def load_settings(config: Path | None = None, **given: Any) -> TriggerSettings:  # noqa: ANN401
    """The settings: ``given`` (flags that were set) over environment, file and defaults."""
    overrides = {key: value for key, value in given.items() if value is not None}
    if config is None and os.environ.get(CONFIG_ENV):
        config = Path(os.environ[CONFIG_ENV])
    if config is not None and not config.is_file():
        raise ConfigurationError(f"no settings file at {config}")
    for name, value in _secret_files().items():
        overrides.setdefault(name, value)
    token = _CONFIG.set(config)
    try:
        settings = TriggerSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(f"bad settings: {problems}") from exc
    finally:
        _CONFIG.reset(token)
    settings.check_urls()
    _ = settings.source_auth().kind  # a mixture of kinds is an error now, not at first use
    try:
        _ = settings.claims_auth().kind
    except ConfigurationError as exc:
        raise ConfigurationError(f"the --claims-to server's settings (claims_*): {exc}") from exc
    return settings
