"""``fhir-coder probe --server URL``: what a FHIR server offers the plugin, checked for real.

Read-only unless ``--write``, and then it writes one test Claim that it removes again.
Secrets come from the environment (``--bearer-token-env``, ``--basic-password-env``) or a
file (``--smart-key``), never as flag values, and never appear in what the probe prints
or writes. Exit codes: 0 when every need of the plugin works, 1 when some fail (the
report says which), and 4, 5, 6... (:mod:`adapters.exit_codes`) when the server cannot be
probed at all.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import (
    Subcommands,
    add_auth_arguments,
    add_insecure_http_argument,
    auth_settings,
    out,
)

if TYPE_CHECKING:
    from adapters.fhir.auth import AuthSettings

__all__ = ["register", "run"]


def _secrets(settings: AuthSettings) -> list[str]:
    """Every secret the settings hold, to be scrubbed from output (key files line by line)."""
    found = [s for s in (settings.bearer_token, settings.basic_password) if s]
    if settings.smart_key_file is not None:
        try:
            text = settings.smart_key_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        found += [text.strip(), *(line for line in text.splitlines() if len(line) >= 16)]
    return found


def register(commands: Subcommands) -> None:
    """Add ``probe`` to the CLI."""
    probe = commands.add_parser(
        "probe",
        help="check what a FHIR server offers the plugin (read-only unless --write)",
        description="Compare what a FHIR server declares with what the plugin needs, try "
        "each need for real, and say which settings the plugin will use there.",
    )
    probe.add_argument("--server", required=True, metavar="URL", help="FHIR R4 base URL")
    probe.add_argument(
        "--write",
        action="store_true",
        help="also write a test Claim, then delete it (or mark it entered-in-error)",
    )
    probe.add_argument("--encounter", metavar="ID", help="a finished encounter to try things on")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.add_argument("--report", metavar="FILE", type=Path, help="also write Markdown to FILE")
    probe.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="per request (default: %(default)s)",
    )
    add_auth_arguments(probe)
    add_insecure_http_argument(probe)
    probe.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Probe the server; the exit code says whether the plugin can work there."""
    import orjson  # noqa: PLC0415

    from adapters.fhir.auth import build_auth  # noqa: PLC0415
    from adapters.probe import ProbeOptions, run_probe  # noqa: PLC0415
    from adapters.probe.render import markdown, scrub, terminal  # noqa: PLC0415

    settings = auth_settings(args)
    auth = build_auth(
        settings, fhir_base_url=args.server, allow_insecure_http=args.allow_insecure_http or ()
    )
    options = ProbeOptions(
        write=args.write,
        encounter_id=args.encounter,
        timeout=args.timeout,
        auth=auth,
        smart_auth=settings.kind == "smart",
    )
    report = asyncio.run(run_probe(args.server, options))
    secrets = _secrets(settings)
    if args.report is not None:
        args.report.write_text(scrub(markdown(report), secrets), encoding="utf-8")
    if args.json:
        text = orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode()
        out(scrub(text, secrets))
    else:
        out(scrub(terminal(report), secrets))
    return report.exit_code
