"""``fhir-coder serve``: the HTTP service that takes encounter-close triggers.

Subscription notifications (R4 rest-hook and the Backport IG), CDS Hooks
``encounter-discharge``, health, readiness and Prometheus metrics. Routes only enqueue
into the job ledger; the workers started with the app do the processing.
May import ``jobs``, ``fhir`` (auth) and the settings; never gathering or write-back directly.
"""
