"""X12 in and out: 837P/837I claims to payers, 835 remittances, 999 and 277CA acknowledgments.

The room turns our FHIR Claims into ASC X12 5010 interchanges with x12sdk's models (never
segments written by hand), reads what payers send back into remittance records matched
to our Claims, hands interchanges to a file, an outbox folder or an HTTPS endpoint exactly
once (``submit``, ``handoff``), and keeps the submissions, statuses, remittance lines and
hand-offs in its own ledger (``ledger``, SQLite or PostgreSQL through ``storage``). It may
import ``fhir`` (Claims and their Patients from a server; the plain-HTTP rule),
``storage``, ``writeback`` (the Claim ledger's ``mark_submitted``) and the core; no room
imports it but the CLI (and ``jobs migrate``, for its schema).
"""
