"""The workbench inside another app: ``fhir-coder serve --workbench-accounts FILE`` mounts it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger
from adapters.pipeline import Pipeline
from adapters.workbench.accounts import Accounts
from adapters.workbench.app import Workbench, create_workbench
from codesets import default_registry

__all__ = ["mount_workbench"]


def mount_workbench(
    app: FastAPI, ledger: JobLedger, pipeline: Pipeline, fhir: FhirClient, accounts: Path
) -> None:
    """Serve the workbench at ``/workbench`` of ``app`` (``serve``), over its workers' ledger.

    It releases through the pipeline's own writer, so a Claim a coder releases and one the
    workers write go through one exactly-once write-back. A mounted app runs no lifespan of
    its own: AuditEvents go out at each release (with every action before it).
    """
    bench = Workbench(
        ledger=ledger, accounts=Accounts.from_file(accounts), coding=pipeline.coding,
        registry=default_registry(), fhir=fhir, writer=pipeline.writer,
    )  # fmt: skip
    app.mount("/workbench", create_workbench(bench))
