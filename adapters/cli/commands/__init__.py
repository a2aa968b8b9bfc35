"""One module per CLI command, each with ``register(commands)``.

``register`` adds the command's parser and sets ``run`` (a function taking the parsed
arguments and returning an exit code) as its default. Modules import their heavy
dependencies inside ``run``, so that ``fhir-coder --help`` stays fast.
"""
