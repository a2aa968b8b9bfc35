"""``python -m sandbox``: serve the FHIR sandbox (see :mod:`sandbox.server`)."""

from sandbox.server import main

raise SystemExit(main())
