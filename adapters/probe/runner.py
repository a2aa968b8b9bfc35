"""One probe from start to report: declared, tried, profile, settings, verdict.

The CapabilityStatement comes first; when it cannot be read (nothing listening, a
timeout, an HTML page) there is nothing else to probe, and the report says why with the
exit code that names the kind of failure (:mod:`adapters.exit_codes`). Otherwise every
check runs, each failure becomes a check in the report, and the exit code is 1 when a
need of the plugin fails, 0 when all work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from adapters.exit_codes import ExitCode, exit_code_for
from adapters.fhir.capabilities import ServerCapabilities, read_capabilities
from adapters.fhir.client import DEFAULT_LIMITS, FhirClient
from adapters.fhir.profiles import choose_strategy
from adapters.fhir.retry import RetryPolicy
from adapters.probe.declared import declared_checks, subscription_forms
from adapters.probe.model import Check, ProbeReport, Status
from adapters.probe.recorder import RecordingTransport, recording
from adapters.probe.smart import smart_check
from adapters.probe.stepping import not_applicable
from adapters.probe.trials import Trials
from adapters.probe.vendor import detect, known_limits, settings
from adapters.probe.writing import write_checks
from fhir_coder.errors import FhirError

__all__ = ["ProbeOptions", "public_url", "run_probe"]

_REFUSALS = (None, 401, 403)  # no answer at all, or "not you"
_DENIED = (
    "nothing can be read: check the URL and the credentials (token, or client id, key and "
    "scopes registered with the server)"
)


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How to probe: what to try, how long to wait, and how to authenticate."""

    write: bool = False
    encounter_id: str | None = None
    timeout: float = 30.0
    auth: httpx.Auth | None = field(default=None, repr=False)
    smart_auth: bool = False  # the auth flow is SMART Backend Services
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=2, budget=5.0))


def public_url(url: str) -> str:
    """``url`` without user, password or query string, for reports."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"", query=None)).rstrip("/")


def _default_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - aiohttp loads only when used

    return AiohttpTransport(limits=DEFAULT_LIMITS)


async def run_probe(server: str, options: ProbeOptions | None = None) -> ProbeReport:
    """Probe the FHIR server at ``server``; the report holds every check and the verdict."""
    options = options or ProbeOptions()
    transport = RecordingTransport(options.transport or _default_transport())
    try:
        async with FhirClient(
            server,
            transport=transport,
            timeout=httpx.Timeout(options.timeout),
            auth=options.auth,
            retry=options.retry,
        ) as fhir:
            return await _probe(fhir, transport, options)
    finally:
        await transport.close_inner()


async def _probe(
    fhir: FhirClient, transport: RecordingTransport, options: ProbeOptions
) -> ProbeReport:
    server = public_url(fhir.base_url)
    with recording() as exchanges:
        try:
            statement = await fhir.metadata()
        except FhirError as exc:
            check = Check(
                "declared.metadata",
                "read the CapabilityStatement",
                Status.FAIL,
                str(exc),
                "nothing can be probed: check the base URL (it ends where /metadata starts) "
                "and that the server is up",
                required=True,
                declared=True,
                exchanges=tuple(exchanges),
            )
            return ProbeReport(server, (check,), unreachable=str(exc), exit_code=exit_code_for(exc))
    caps = read_capabilities(statement)
    metadata = Check(
        "declared.metadata",
        "read the CapabilityStatement",
        Status.PASS,
        f"{caps.software or 'unnamed software'}, FHIR {caps.fhir_version or '?'}",
        required=True,
        declared=True,
        exchanges=tuple(exchanges),
    )
    declared = [
        metadata,
        *declared_checks(statement, caps),
        await smart_check(
            transport, fhir.base_url, wait=options.timeout, smart_auth=options.smart_auth
        ),
    ]
    trials = Trials(fhir, caps, encounter_id=options.encounter_id)
    tried = await _tried(trials, options, caps.supports("Claim", "create"))
    profile, reason = detect(
        statement, fhir.base_url, server_wide_search=trials.server_wide_search, caps=caps
    )
    strategy = choose_strategy(caps, profile)
    checks = (*declared, *tried)
    failed = any(
        check.blocking or (check.required and check.status is Status.NOT_APPLICABLE)
        for check in checks
    )
    return ProbeReport(
        server,
        checks,
        software=caps.software,
        fhir_version=caps.fhir_version,
        profile=profile.name,
        profile_reason=reason,
        settings=settings(
            strategy, trigger=_trigger(statement, caps, tried), batch_works=trials.batch_works
        ),
        limits=known_limits(profile),
        wrote=options.write,
        exit_code=ExitCode.FINDINGS if failed else ExitCode.OK,
    )


async def _tried(trials: Trials, options: ProbeOptions, claim_declared: bool) -> list[Check]:
    first = await trials.find_encounter()
    if _denied(first):
        refused = replace(first, status=Status.FAIL, required=True, consequence=_DENIED)
        why = "not tried: the server let nothing through"
        return [refused, not_applicable("tried.rest", "the other tried checks", why)]
    checks = [first, await trials.poll_search()]
    checks += await trials.searches()
    checks += [
        await trials.paging(),
        await trials.references(),
        await trials.gather(),
        await trials.batch(),
        await trials.include(),
    ]
    checks += await write_checks(
        trials.fhir, trials.patient_id, write=options.write, claim_allowed=claim_declared
    )
    return checks


def _denied(check: Check) -> bool:
    """Whether the first request got no answer, or a refusal of who we are (401, 403)."""
    last = check.exchanges[-1] if check.exchanges else None
    return check.status is not Status.PASS and last is not None and last.status in _REFUSALS


def _trigger(statement: dict[str, Any], caps: ServerCapabilities, tried: list[Check]) -> str:
    forms = subscription_forms(statement, caps)
    if forms:
        return f"Subscription: {forms[0]}"
    poll = "tried.search.Encounter._lastUpdated"
    if any(c.id == poll and c.status is Status.PASS for c in tried):
        return "polling Encounter?_lastUpdated= with an overlap window"
    return "CDS Hooks encounter-discharge, or encounters named one by one"
