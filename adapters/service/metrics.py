"""Prometheus metrics of the service: queue depth, jobs processed and failed, latency.

Each service has its own registry (no process-global state), so tests can build several.
Labels carry outcomes and triggers only, never an encounter id.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.pipeline import EncounterResult

__all__ = ["ServiceMetrics"]


class ServiceMetrics:
    """The service's metrics, fed by the intake and the workers."""

    def __init__(self, ledger: JobLedger) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge(
            "fhir_coder_queue_depth", "Jobs queued or running", registry=self.registry
        )
        self.queue_depth.set_function(ledger.pending)
        self.notifications = Counter(
            "fhir_coder_notifications",
            "Notifications received, by trigger and what became of them",
            ["trigger", "result"],
            registry=self.registry,
        )
        self.processed = Counter(
            "fhir_coder_jobs_processed",
            "Jobs that ended, by final state",
            ["state"],
            registry=self.registry,
        )
        self.failed = Counter(
            "fhir_coder_jobs_failed", "Jobs that failed or were parked", registry=self.registry
        )
        self.round_trips = Counter(
            "fhir_coder_round_trips",
            "HTTP requests to FHIR servers made by processed jobs",
            registry=self.registry,
        )
        self.latency = Histogram(
            "fhir_coder_notification_to_claim_seconds",
            "Seconds from a job being queued to its Claim being written",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def job_ended(self, job: Job, result: EncounterResult | None, state: JobState) -> None:
        """Count a job that ended (the workers' ``on_result``)."""
        if result is not None:
            self.round_trips.inc(result.round_trips)
        self.processed.labels(state=state.value).inc()
        if state in (JobState.FAILED, JobState.PARKED):
            self.failed.inc()
        elif state is JobState.DONE:
            self.latency.observe(max(0.0, time.time() - job.created))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
