"""X12 in and out: 837P/837I claims to payers, 835 remittances, 999 and 277CA acknowledgments.

The room turns our FHIR Claims into ASC X12 5010 interchanges with x12sdk's models (never
segments written by hand), reads what payers send back into remittance records matched
to our Claims, and keeps the submissions, statuses and remittance lines in its own
ledger (``ledger``). It may import ``fhir`` (Claims and their Patients from a server),
``writeback`` (the Claim ledger's ``mark_submitted``) and the core; no room imports it
but the CLI.
"""
