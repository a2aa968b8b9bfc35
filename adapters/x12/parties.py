"""Who sends, who receives, who bills: the parties of an 837, from the organisation's settings.

An 837 names its submitter (1000A), receiver (1000B) and billing provider (2010AA) by the
identifiers a clearinghouse or payer assigned: none of them is in a FHIR Claim, so they
are settings, read from a TOML file (``--x12-config FILE`` or ``FHIR_CODER_X12_CONFIG``)
and the environment (``FHIR_CODER_X12_<NAME>``). ``docs/x12.md`` lists them.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fhir_coder.errors import ConfigurationError

__all__ = ["X12_CONFIG_ENV", "X12Parties", "load_parties"]

X12_CONFIG_ENV = "FHIR_CODER_X12_CONFIG"
_CONFIG: ContextVar[Path | None] = ContextVar("fhir_coder_x12_config", default=None)
_NPI = re.compile(r"\d{10}")
_TAX_ID = re.compile(r"\d{9}")


class X12Parties(BaseSettings):
    """The envelope and the parties of every interchange this organisation sends."""

    model_config = SettingsConfigDict(env_prefix="FHIR_CODER_X12_", extra="forbid", frozen=True)

    sender_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)  # ISA05
    sender_id: str = Field(min_length=2, max_length=15)  # ISA06 and GS02
    receiver_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)  # ISA07
    receiver_id: str = Field(min_length=2, max_length=15)  # ISA08 and GS03
    usage: Literal["T", "P"] = "T"  # ISA15: test until the trading partner says production
    submitter_name: str = Field(min_length=1, max_length=60)  # 1000A NM103
    submitter_id: str = Field(min_length=2, max_length=80)  # 1000A NM109 (ETIN)
    contact_name: str = Field(min_length=1, max_length=60)  # 1000A PER02
    contact_phone: str = Field(pattern=r"^\d{10}$")  # 1000A PER04
    receiver_name: str = Field(min_length=1, max_length=60)  # 1000B NM103
    receiver_etin: str = Field(min_length=2, max_length=80)  # 1000B NM109
    billing_name: str = Field(min_length=1, max_length=60)  # 2010AA NM103
    billing_npi: str  # 2010AA NM109
    billing_tax_id: str  # 2010AA REF*EI
    billing_address: str = Field(min_length=1, max_length=55)  # 2010AA N301 (no PO box)
    billing_city: str = Field(min_length=2, max_length=30)
    billing_state: str = Field(pattern=r"^[A-Z]{2}$")
    billing_postal_code: str = Field(pattern=r"^\d{9}$")  # 5010 wants all nine digits here
    billing_taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{9}X$")  # PRV*BI*PXC
    # where `x12 837` hands interchanges off when no --out/--outbox/--post is given
    outbox: Path | None = None  # a folder a clearinghouse's SFTP agent empties
    post_url: str | None = None  # or an HTTPS endpoint to POST each interchange to
    post_timeout: float = Field(default=60.0, gt=0, le=600)  # seconds, the whole request

    @field_validator("billing_npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        if not _NPI.fullmatch(value) or not _luhn_npi(value):
            raise ValueError("an NPI is ten digits with a valid check digit")
        return value

    @field_validator("billing_tax_id")
    @classmethod
    def _tax_id(cls, value: str) -> str:
        value = value.replace("-", "")
        if not _TAX_ID.fullmatch(value):
            raise ValueError("a tax id (EIN) is nine digits")
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
        """Given values, then the environment, then the TOML file."""
        del dotenv_settings, file_secret_settings
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _luhn_npi(npi: str) -> bool:
    """The NPI check digit: Luhn over ``80840`` + the first nine digits (CMS's NPI standard)."""
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def load_parties(config: Path | None = None, **given: str) -> X12Parties:
    """The parties from ``given``, the environment and the TOML file (``config`` or the env)."""
    if config is None and os.environ.get(X12_CONFIG_ENV):
        config = Path(os.environ[X12_CONFIG_ENV])
    if config is not None and not config.is_file():
        raise ConfigurationError(f"no X12 settings file at {config}")
    token = _CONFIG.set(config)
    try:
        return X12Parties(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(
            f"bad X12 settings (FHIR_CODER_X12_* or {config or 'an --x12-config file'}): {problems}"
        ) from exc
    finally:
        _CONFIG.reset(token)
