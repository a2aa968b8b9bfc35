"""Writing Claims back exactly once: destinations, the writer, the Claim ledger, R4 conformance.

May import the ``fhir`` room and the core; no other room (the pipeline joins gathering and
writing).
"""
