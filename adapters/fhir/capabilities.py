"""What a server says it can do, read from its CapabilityStatement into plain answers.

The gatherer and the writers ask yes/no questions ("may I send a batch?", "does
``Condition`` take ``_revinclude`` from ``Encounter``?", "may I create a Claim?"); this
module answers them from ``/metadata`` once, so the CapabilityStatement's nesting is read
in one place. Vendor profiles (:mod:`adapters.fhir.profiles`) then correct what servers
declare wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ServerCapabilities", "read_capabilities"]


@dataclass(frozen=True, slots=True)
class ServerCapabilities:
    """The parts of a CapabilityStatement fhir-coder acts on."""

    software: str = ""
    fhir_version: str = ""
    system_interactions: frozenset[str] = frozenset()
    interactions: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    search_params: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    includes: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    revincludes: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    conditional_create: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def batch(self) -> bool:
        """Whether the server takes batch Bundles at its base URL."""
        return "batch" in self.system_interactions

    @property
    def transaction(self) -> bool:
        """Whether the server takes transaction Bundles at its base URL."""
        return "transaction" in self.system_interactions

    def supports(self, resource_type: str, interaction: str) -> bool:
        """Whether ``interaction`` (read, create, update, search-type...) is declared."""
        return interaction in self.interactions.get(resource_type, frozenset())

    def searchable(self, resource_type: str, param: str) -> bool:
        """Whether ``resource_type`` declares the search parameter ``param``.

        A resource that lists no parameters at all is taken to support the common ones:
        many servers declare search-type and leave the list out.
        """
        declared = self.search_params.get(resource_type)
        if declared is None:
            return False
        return not declared or param in declared

    def can_include(self, resource_type: str, target: str) -> bool:
        """Whether ``_include={target}`` is declared on searches of ``resource_type``."""
        return target in self.includes.get(resource_type, frozenset())

    def can_revinclude(self, resource_type: str, target: str) -> bool:
        """Whether ``_revinclude={target}`` is declared on searches of ``resource_type``."""
        return target in self.revincludes.get(resource_type, frozenset())


def _strings(values: object, key: str | None = None) -> frozenset[str]:
    if not isinstance(values, list):
        return frozenset()
    out = set()
    for value in values:
        item = value.get(key) if key is not None and isinstance(value, dict) else value
        if isinstance(item, str):
            out.add(item)
    return frozenset(out)


def read_capabilities(statement: Mapping[str, Any]) -> ServerCapabilities:
    """A CapabilityStatement's server ``rest`` entry as :class:`ServerCapabilities`.

    Leniently: a statement without a server entry declares nothing, which makes every
    strategy fall back to plain reads and searches.
    """
    rest: dict[str, Any] = {}
    for entry in statement.get("rest") or []:
        if isinstance(entry, dict) and entry.get("mode", "server") == "server":
            rest = entry
            break
    interactions: dict[str, frozenset[str]] = {}
    params: dict[str, frozenset[str]] = {}
    includes: dict[str, frozenset[str]] = {}
    revincludes: dict[str, frozenset[str]] = {}
    conditional: set[str] = set()
    for resource in rest.get("resource") or []:
        if not isinstance(resource, dict) or not isinstance(resource.get("type"), str):
            continue
        name = resource["type"]
        interactions[name] = _strings(resource.get("interaction"), "code")
        params[name] = _strings(resource.get("searchParam"), "name")
        includes[name] = _strings(resource.get("searchInclude"))
        revincludes[name] = _strings(resource.get("searchRevInclude"))
        if resource.get("conditionalCreate") is True:
            conditional.add(name)
    software = statement.get("software")
    return ServerCapabilities(
        software=str(software.get("name") or "") if isinstance(software, dict) else "",
        fhir_version=str(statement.get("fhirVersion") or ""),
        system_interactions=_strings(rest.get("interaction"), "code"),
        interactions=interactions,
        search_params=params,
        includes=includes,
        revincludes=revincludes,
        conditional_create=frozenset(conditional),
    )
