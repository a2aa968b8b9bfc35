"""Durable processing: the job ledger every trigger feeds, and the workers that empty it.

Only the ledger is imported here, so that commands that merely read it (``jobs list``)
start fast; the workers live in :mod:`adapters.jobs.workers`. May import ``fhir`` and the
pipeline that joins the rooms (the workers run it); never ``service`` or ``cli``.
"""

from adapters.jobs.ledger import DEFAULT_JOBS_DB, Enqueued, Job, JobLedger, JobState
from adapters.jobs.options import WorkerSettings

__all__ = ["DEFAULT_JOBS_DB", "Enqueued", "Job", "JobLedger", "JobState", "WorkerSettings"]
