"""What a model costs: a scenario's ``[prices]``, else OpenAI's list prices shipped with converse
(``prices.toml``, dated), else nothing known: the run is "unpriced", never "$0.00"."""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

import msgspec

from ..scenario._scenario import Price
from ._open import parse_spec
from ._openai import OPENAI_URL
from ._person import PERSON

__all__ = ["Priced", "ShippedPrices", "price_of", "shipped_prices"]


class ShippedPrices(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The price table shipped with converse: OpenAI's list prices on ``date``."""

    date: str
    source: str
    models: dict[str, Price]


class Priced(msgspec.Struct, frozen=True, kw_only=True):
    """A model's price and where it came from: ``scenario`` (its ``[prices]``) or the shipped
    table (``OpenAI list prices of 2026-03-21``)."""

    price: Price
    source: str


@functools.cache
def shipped_prices() -> ShippedPrices:
    """The shipped table, read once."""
    text = resources.files("converse.models").joinpath("prices.toml").read_text(encoding="utf-8")
    return msgspec.convert(tomllib.loads(text), ShippedPrices)


def price_of(prices: dict[str, Price], spec: str, base_url: str | None = None) -> Priced | None:
    """The price of the model ``spec`` names: the scenario's ``prices`` by its name (``gpt-4o``)
    or spec (``openai:gpt-4o``); else nothing for the offline model or a person at the terminal
    (``human``: free); else, for an ``openai:`` model on OpenAI's own API (``base_url``
    OpenAI's: a model of unknown address is not priced), the shipped list price of its name or,
    for a dated snapshot (``gpt-4o-2024-08-06``), of the name it is a snapshot of; else None
    (unpriced: ``gpt-4o-audio-preview`` is another model, at another price)."""
    head = spec.partition("?")[0]
    given = prices.get(head) or prices.get(head.partition(":")[2] or head)
    if given is not None:
        return Priced(price=given, source="scenario")
    if spec == PERSON:
        return Priced(price=Price(), source="a person at the terminal: free")
    kind, name, _ = parse_spec(spec)
    if kind == "offline":
        return Priced(price=Price(), source="the offline model: free")
    if kind != "openai" or base_url is None or base_url.partition("?")[0].rstrip("/") != OPENAI_URL:
        return None
    table = shipped_prices()
    known = table.models.get(_SNAPSHOT.sub("", name))
    if known is None:
        return None
    return Priced(price=known, source=f"OpenAI list prices of {table.date}")


_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-4o-2024-08-06 is a snapshot of gpt-4o
