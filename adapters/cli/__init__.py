"""The ``fhir-coder`` command line: ``main``, one module per command, reports and progress.

May import every room; no room imports it.
"""
