"""``converse view``: a local, read-only web app over a directory of runs, sweeps and datasets.

Embed it in an async program with ``view_server``::

    async with view_server("runs") as url:
        ...  # the viewer answers at url while the block runs
"""

from ._app import App
from ._catalog import Catalog
from ._runview import RunView
from ._serve import DEFAULT_PORT, serve, view_server

__all__ = ["DEFAULT_PORT", "App", "Catalog", "RunView", "serve", "view_server"]
