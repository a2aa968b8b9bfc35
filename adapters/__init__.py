"""Everything of fhir-coder that touches the outside: the FHIR client, the pipeline, the CLI."""
