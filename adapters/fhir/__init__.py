"""Talking to FHIR servers: the client, retries, search and paging, lenient reading, references.

Also batches and rounds of requests, what a server declares (capabilities) and what it really
does (vendor profiles), write primitives, and authentication (``auth/``). The lowest room of
``adapters``: it imports only the core (``fhir_coder``), never another room.
"""
