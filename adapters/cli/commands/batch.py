"""``fhir-coder batch PATH... --out DIR``: code a population's NDJSON export on Apache Spark.

``local[*]`` by default (every core of this machine), or a cluster's master URL
(``--master spark://host:7077``, ``yarn``, ``k8s://...``) with ``--conf`` passed through.
The Claims are the ones ``run --from-ndjson`` would write for the same files and source;
they go into files (NDJSON and Parquet), never to a server: ``run`` writes them back.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError

__all__ = ["register", "run"]


def register(commands: Subcommands) -> None:
    """Add ``batch`` to the CLI."""
    parser = commands.add_parser(
        "batch", help="code an NDJSON export on Spark; Claims and findings as NDJSON and Parquet"
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="NDJSON files or folders, or URLs Spark reads"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the output folder (replaced)")
    parser.add_argument("--master", default="local[*]", help="Spark master (local[*])")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting"
    )
    parser.add_argument(
        "--source-id", metavar="NAME", help="the EHR the export came from (keys Claim ids)"
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="its FHIR base (absolute references to it resolve)"
    )
    parser.add_argument(
        "--fee-schedule", type=Path, metavar="CSV", help="charges per code (code,modifier,price)"
    )
    parser.add_argument("--partitions", type=int, help="groups of patients coded in parallel")
    parser.add_argument(
        "--created", metavar="TIME", help="the Claims' creation time, ISO 8601 (default: now)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def _inputs(paths: list[str]) -> list[str]:
    """Local folders listed as their NDJSON files (in order); URLs passed to Spark as given."""
    from adapters.bulk import ndjson_files  # noqa: PLC0415

    local = [p for p in paths if "://" not in p]
    remote = [p for p in paths if "://" in p]
    return [str(f.resolve()) for f in ndjson_files([Path(p) for p in local])] + remote


def run(args: argparse.Namespace) -> int:
    """Run the batch; print the summary."""
    from adapters.spark.executor import BatchOptions  # noqa: PLC0415
    from adapters.spark.job import run_batch, write_summary  # noqa: PLC0415
    from adapters.spark.session import spark_session  # noqa: PLC0415

    source = args.source_id or (args.base_url or "").rstrip("/")
    if not source:
        raise ConfigurationError("batch needs --source-id NAME (or --base-url URL): it keys Claims")
    created = datetime.fromisoformat(args.created) if args.created else datetime.now(UTC)
    if created.tzinfo is None:
        raise ConfigurationError("--created needs a time zone (2026-01-31T00:00:00+00:00)")
    conf = dict(item.split("=", 1) for item in args.conf if "=" in item)
    inputs = _inputs(args.paths)
    if not inputs:
        raise ConfigurationError(f"no NDJSON files in {' '.join(args.paths)}")
    options = BatchOptions(
        source_id=source,
        base_url=args.base_url or "",
        created=created.isoformat(),
        fee_schedule=str(args.fee_schedule.resolve()) if args.fee_schedule else None,
    )
    spark = spark_session(args.master, conf=conf)
    try:
        summary = run_batch(spark, inputs, args.out, options, partitions=args.partitions)
    finally:
        spark.stop()
    if "://" not in args.out:
        write_summary(summary, Path(args.out))
    if args.json:
        print_json(summary.as_json())
    else:
        outcomes = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.outcomes.items()))
        out(f"{summary.encounters} encounters: {outcomes}; written to {args.out}")
    return ExitCode.FINDINGS if summary.outcomes.get("failed") else ExitCode.OK
