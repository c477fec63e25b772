"""The ``converse`` command line."""

from ._main import command, main

__all__ = ["command", "main"]
