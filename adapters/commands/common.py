"""What the CLI commands share: how they print, and where the embedded default keeps data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Protocol

import orjson

__all__ = ["DEFAULT_DATA_DIR", "Subcommands", "out", "print_json"]

DEFAULT_DATA_DIR = Path("fhir-coder-data")
"""Where the embedded default keeps its SQLite files, relative to the working folder."""


class Subcommands(Protocol):
    """The object ``ArgumentParser.add_subparsers`` returns, as far as commands use it."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        """Add a command's parser."""
        ...


def out(text: str = "") -> None:
    """Print a line of the command's output (stdout; errors go to stderr from ``main``)."""
    print(text)  # noqa: T201 - the CLI's voice


def print_json(value: object) -> None:
    """Print ``value`` as indented JSON."""
    out(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())
