"""The interoperability probe: what a FHIR server declares, what works, and what follows.

``fhir-coder probe --server URL`` (``adapters/cli/commands/probe.py``) runs :func:`run_probe`,
which reads the CapabilityStatement and SMART configuration (:mod:`.declared`), tries each
need for real (:mod:`.trials`, :mod:`.writing`), picks the vendor profile (:mod:`.vendor`)
and returns a :class:`ProbeReport` that :mod:`.render` shows as a table, Markdown or JSON.
May import the ``fhir`` and ``gathering`` rooms (a gather is one of its trials); it neither
codes, writes Claims nor queues jobs.
"""

from adapters.probe.model import Check, Exchange, ProbeReport, Status
from adapters.probe.runner import ProbeOptions, run_probe

__all__ = ["Check", "Exchange", "ProbeOptions", "ProbeReport", "Status", "run_probe"]
