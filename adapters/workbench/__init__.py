"""The coder workbench: HTTP in from people (pages, sign-in, sessions, actions on work items).

Server-rendered pages (Jinja2 templates, htmx 2 vendored in ``static/``, no build step) over
the work items of the job ledger (:mod:`adapters.jobs.work_items`): the worklist, the
encounter with its evidence and the coder's lines, the scrubber run again after each change,
the release through the same exactly-once write-back (:mod:`adapters.writeback`), the
dashboard. May import the ledgers (``jobs``), ``writeback``, ``fhir``, the pipeline (whose writer
it shares when mounted in ``serve``), the coding set-up and
the core; never ``service`` or ``cli`` (``serve`` mounts it; ``fhir-coder workbench`` runs it).
"""

from adapters.workbench.app import Workbench, create_workbench

__all__ = ["Workbench", "create_workbench"]
