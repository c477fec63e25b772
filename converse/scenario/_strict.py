"""The base of every struct a user writes in a scenario file."""

from __future__ import annotations

import msgspec


class Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Anything a user writes: immutable, and an unknown key is an error."""
