"""``python -m converse``: the same as the ``converse`` command."""

import sys

from .cli import main

sys.exit(main())
