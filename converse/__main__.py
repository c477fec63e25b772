"""``python -m converse``: the same as the ``converse`` command."""

import sys

from .cli._main import command

sys.exit(command())
