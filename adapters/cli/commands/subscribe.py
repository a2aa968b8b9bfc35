"""``fhir-coder subscribe --server URL --endpoint URL``: ask the server to notify ``serve``.

The form follows the CapabilityStatement (Backport topic where declared, else an R4
rest-hook); ``--form`` overrides it. The notification token (``FHIR_CODER_NOTIFY_TOKEN``)
goes into the Subscription's channel header and is never printed; an ``--endpoint`` over
plain ``http://`` to another machine is refused unless the host is named
(``--allow-insecure-http``), since the token and the encounters would travel in clear
text. Authentication to the server is that of the triggers (flags, environment or file);
a SMART client asks for :data:`SUBSCRIBE_SCOPE` unless ``smart_scope`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from adapters.cli.commands.common import (
    Subcommands,
    add_auth_arguments,
    add_insecure_http_argument,
    auth_values,
    out,
    print_json,
)
from adapters.exit_codes import ExitCode

__all__ = ["SUBSCRIBE_SCOPE", "register", "run"]

SUBSCRIBE_SCOPE = "system/Subscription.c"
"""All ``subscribe`` does with a token: create the Subscription (``/metadata`` is public)."""


def register(commands: Subcommands) -> None:
    """Add ``subscribe`` to the CLI."""
    parser = commands.add_parser(
        "subscribe", help="create the Subscription that tells `serve` of finished encounters"
    )
    parser.add_argument("--server", metavar="URL", help="FHIR R4 base URL")
    parser.add_argument(
        "--endpoint", required=True, metavar="URL", help="the notify URL of `serve` (…/notify)"
    )
    parser.add_argument(
        "--form", choices=("auto", "rest-hook", "backport"), default="auto", help="(auto)"
    )
    parser.add_argument(
        "--payload",
        choices=("full-resource", "id-only", "empty"),
        default="full-resource",
        help="what each notification carries (full-resource)",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--json", action="store_true", help="print the Subscription as JSON")
    add_auth_arguments(parser)
    add_insecure_http_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Create the Subscription; print its id and form."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from adapters.fhir.plain_http import check_url  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415
    from adapters.service.subscription import build_subscription, supported_form  # noqa: PLC0415
    from adapters.settings import auth_overrides, load_settings  # noqa: PLC0415

    settings = load_settings(
        args.config,
        server=args.server,
        allow_insecure_http=args.allow_insecure_http,
        **auth_overrides(auth_values(args)),
    )
    # the server will send patient data there, and the notification token with it
    check_url(
        args.endpoint,
        allow_insecure_http=settings.allow_insecure_http,
        what="notification endpoint (--endpoint)",
    )
    token = settings.notify_token
    header = None
    if token is not None:
        value = token.get_secret_value()
        if settings.notify_header.lower() == "authorization" and " " not in value:
            value = f"Bearer {value}"
        header = f"{settings.notify_header}: {value}"
    async with source_client(settings, default_scope=SUBSCRIBE_SCOPE) as fhir:
        form = args.form if args.form != "auto" else supported_form(await fhir.metadata())
        subscription = build_subscription(form, args.endpoint, header=header, payload=args.payload)
        _, created = await fhir.request("POST", "Subscription", json_body=subscription)
    created = created or {}
    shown = {"id": created.get("id"), "form": form, "status": created.get("status")}
    if args.json:
        print_json(shown)
    else:
        out(f"Subscription/{shown['id']} ({form}, {shown['status']})")
    return ExitCode.OK
