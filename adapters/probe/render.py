"""The probe's report for people (a terminal table, Markdown) and for programs (JSON).

All three come from the same :class:`~adapters.probe.model.ProbeReport`, and every text
goes through :func:`scrub`, which replaces the caller's secrets wherever they appear: the
recorder keeps no header or body, so this is the second lock, not the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from adapters.probe.model import Check, ProbeReport, Status

__all__ = ["REDACTED", "markdown", "scrub", "terminal"]

REDACTED = "[redacted]"
_MARK = {
    Status.PASS: "pass",
    Status.LIMITED: "limited",
    Status.FAIL: "FAIL",
    Status.NOT_APPLICABLE: "n/a",
}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of four characters or more) replaced."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _header(report: ProbeReport) -> list[str]:
    lines = [f"Server: {report.server}"]
    if report.software or report.fhir_version:
        lines.append(f"Software: {report.software or '(unnamed)'}, FHIR {report.fhir_version}")
    if not report.unreachable:
        lines.append(f"Vendor profile: {report.profile} (from {report.profile_reason})")
    return lines


def _timing(check: Check) -> str:
    if check.seconds is None:
        return ""
    trips = f", {check.round_trips} trip(s)" if check.round_trips is not None else ""
    return f"{check.seconds * 1000:.0f} ms{trips}"


def terminal(report: ProbeReport) -> str:
    """The report as a plain-text table for a terminal."""
    lines = [*_header(report), ""]
    width = max((len(check.title) for check in report.checks), default=10)
    for check in report.checks:
        timing = f" [{_timing(check)}]" if check.seconds is not None else ""
        lines.append(f"{_MARK[check.status]:<7}  {check.title:<{width}}  {check.detail}{timing}")
        if check.consequence:
            lines.append(f"{'':<7}  {'':<{width}}  -> {check.consequence}")
        if check.status in (Status.FAIL, Status.LIMITED):
            lines.extend(f"{'':<7}  {'':<{width}}     {e.line()}" for e in check.exchanges)
    if report.settings:
        lines += ["", "Settings the plugin will use:"]
        lines += [f"  {name}: {value}" for name, value in report.settings.items()]
    if report.limits:
        lines += ["", "Known limits of this kind of server:"]
        lines += [f"  - {limit}" for limit in report.limits]
    lines += ["", f"Verdict: {report.verdict}"]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(checks: Sequence[Check], *, tried: bool) -> list[str]:
    head = "| status | check | detail | consequence |"
    rule = "|---|---|---|---|"
    if tried:
        head = "| status | check | time, round trips | detail | consequence |"
        rule = "|---|---|---|---|---|"
    rows = [head, rule]
    for check in checks:
        cells = [_MARK[check.status], check.title]
        if tried:
            cells.append(_timing(check))
        cells += [check.detail, check.consequence]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def markdown(report: ProbeReport) -> str:
    """The report as Markdown, for ``--report FILE`` and the documentation."""
    lines = [f"### Probe of {report.server}", "", f"**Verdict:** {report.verdict}", ""]
    lines += [f"- {line}" for line in _header(report)[1:]]
    declared = [c for c in report.checks if c.declared]
    tried = [c for c in report.checks if not c.declared]
    if declared:
        lines += ["", "#### Declared (CapabilityStatement, SMART configuration)", ""]
        lines += _table(declared, tried=False)
    if tried:
        lines += ["", "#### Tried", ""]
        lines += _table(tried, tried=True)
    if report.settings:
        lines += ["", "#### Settings the plugin will use", ""]
        lines += [f"- {name}: {value}" for name, value in report.settings.items()]
    if report.limits:
        lines += ["", "#### Known limits", ""]
        lines += [f"- {limit}" for limit in report.limits]
    shown = [c for c in report.checks if c.status in (Status.FAIL, Status.LIMITED) and c.exchanges]
    if shown:
        lines += ["", "#### HTTP exchanges of the checks that did not pass", ""]
        for check in shown:
            lines += [f"- {check.title}:"]
            lines += [f"  - `{e.line()}`" for e in check.exchanges]
    return "\n".join(lines) + "\n"
