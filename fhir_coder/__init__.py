"""fhir-coder's pure core: the encounter as a coder sees it, coding, validation and Claims.

Nothing here touches the network or files of its own: code-set facts come in through
:class:`fhir_coder.ports.CodeSetPort`, FHIR data through the adapters.
"""

__version__ = "0.1.0"
