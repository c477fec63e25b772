"""The token and cost ledger of one run, per agent and per model, and the run's budget.

Each model is charged at its own price (agents can speak with different models). An answer
served from the cache (``--cache``) is counted, as a call and in its tokens, but costs
nothing: its cost and the budget leave it out. A model with no known price is "unpriced":
its cost is 0 here, and what shows it says "unpriced", never "$0.00".
"""

from __future__ import annotations

from collections.abc import Callable

from ..log._events import LedgerEntry, ModelSpend, Usage
from ..models._prices import Priced
from ..scenario._scenario import Budget, Price

# A row's counts, by index.
_CALLS, _PROMPT, _COMPLETION, _ESTIMATED, _CACHED, _CACHED_PROMPT, _CACHED_COMPLETION = range(7)


class _Row:
    """One agent's (or model's, or the total's) counts and its cost."""

    __slots__ = ("cost", "counts")

    def __init__(self) -> None:
        self.counts = [0] * 7
        self.cost = 0.0

    def add(self, other: _Row) -> None:
        counts = self.counts
        for i, n in enumerate(other.counts):
            counts[i] += n
        self.cost += other.cost

    def entry(self, name: str, *, model: str = "") -> LedgerEntry:
        counts = self.counts
        return LedgerEntry(
            agent=name,
            calls=counts[_CALLS],
            prompt_tokens=counts[_PROMPT],
            completion_tokens=counts[_COMPLETION],
            cost_usd=round(self.cost, 6),
            estimated_tokens=counts[_ESTIMATED],
            cached_calls=counts[_CACHED],
            model=model,
        )


class Ledger:
    """Counts calls, tokens and dollars per agent and per model as the run's calls are recorded.

    A call is booked to one row per agent and model it spoke with, and to the total; an
    agent's row and a model's are the sums of theirs, made when they are asked for.

    Args:
        priced: the price of the run's model (the one ``model`` names when a call does not).
        prices: the price of any model by its spec (the run's agents can use others); by
            default every model is charged at ``priced``.
    """

    def __init__(self, priced: Priced | None, prices: Callable[[str], Priced | None] | None = None) -> None:
        self.priced = priced
        self._prices = prices
        self._priced: dict[str, Priced | None] = {}
        self._cells: dict[tuple[str, str], _Row] = {}  # (agent, model spec) -> its row, in the order first used
        self._total = _Row()
        # Actors whose calls are booked on a row not their own (a population's researchers,
        # thousands of them, on one row), by the row.
        self.booked_as: dict[str, str] = {}

    @property
    def price(self) -> Price | None:
        """The price the run's model is charged at, if one is known."""
        return self.priced.price if self.priced is not None else None

    def priced_model(self, model: str) -> Priced | None:
        """The price ``model`` (a spec) is charged at, and where it came from."""
        if self._prices is None or not model:
            return self.priced
        if model not in self._priced:
            self._priced[model] = self._prices(model)
        return self._priced[model]

    def charge(self, agent: str, usage: Usage, *, model: str = "", call: bool = True, cached: bool = False) -> None:
        """Book one call's tokens to ``agent`` (or the row it is ``booked_as``) and ``model``; ``call`` False: an attempt's (an
        answer paid for and not kept), whose tokens count but which is no call; ``cached``: an
        answer from the cache, counted but not paid for."""
        booked_as = self.booked_as
        key = (booked_as.get(agent, agent) if booked_as else agent, model)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Row()
        total = self._total
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        # The agent's row and the total, side by side (once a call: no loop over the two).
        mine, all_ = cell.counts, total.counts
        if call:
            mine[_CALLS] += 1
            all_[_CALLS] += 1
        mine[_PROMPT] += prompt
        all_[_PROMPT] += prompt
        mine[_COMPLETION] += completion
        all_[_COMPLETION] += completion
        if usage.estimated:
            mine[_ESTIMATED] += prompt + completion
            all_[_ESTIMATED] += prompt + completion
        if cached:
            for counts in (mine, all_):
                counts[_CACHED] += 1
                counts[_CACHED_PROMPT] += prompt
                counts[_CACHED_COMPLETION] += completion
            return
        priced = self.priced_model(model)
        if priced is not None:
            cost = (prompt * priced.price.input + completion * priced.price.output) / 1e6
            if cost:
                cell.cost += cost
                total.cost += cost

    @property
    def calls(self) -> int:
        return self._total.counts[_CALLS]

    @property
    def prompt_tokens(self) -> int:
        return self._total.counts[_PROMPT]

    @property
    def completion_tokens(self) -> int:
        return self._total.counts[_COMPLETION]

    @property
    def estimated_tokens(self) -> int:
        """Of the tokens, those the server did not report (our estimate)."""
        return self._total.counts[_ESTIMATED]

    @property
    def cached_calls(self) -> int:
        """Of the calls, those answered from the cache (paid for by an earlier run)."""
        return self._total.counts[_CACHED]

    @property
    def paid_tokens(self) -> int:
        """The tokens this run paid for: all but the cached answers'."""
        t = self._total.counts
        return t[_PROMPT] + t[_COMPLETION] - t[_CACHED_PROMPT] - t[_CACHED_COMPLETION]

    @property
    def cost_usd(self) -> float:
        return self._total.cost

    def over(self, budget: Budget) -> str | None:
        """Why the run is over its budget, or None while it is within it (estimated tokens
        count like reported ones; cached answers, paid for by an earlier run, do not)."""
        tokens = self.paid_tokens
        if budget.tokens is not None and tokens >= budget.tokens:
            estimated = f" ({self.estimated_tokens:,} estimated)" if self.estimated_tokens else ""
            return f"token budget reached: {tokens:,} of {budget.tokens:,} tokens{estimated}"
        if budget.usd is not None and self.cost_usd >= budget.usd:
            return f"money budget reached: ${self.cost_usd:.4f} of ${budget.usd:.4f}"
        return None

    def rows(self) -> list[LedgerEntry]:
        """One row per agent, by name (with the models it spoke with), and a last ``total`` row."""
        agents: dict[str, tuple[_Row, dict[str, None]]] = {}
        for (agent, model), cell in self._cells.items():
            if agent not in agents:
                agents[agent] = (_Row(), {})
            row, models = agents[agent]
            row.add(cell)
            if model:
                models[model] = None
        named = [row.entry(agent, model=", ".join(models)) for agent, (row, models) in sorted(agents.items())]
        return [*named, self._total.entry("total")]

    def model_rows(self) -> list[ModelSpend]:
        """One row per model that was called, in the order first called, with its price."""
        by_model: dict[str, _Row] = {}
        for (_, model), cell in self._cells.items():
            if model:
                if model not in by_model:
                    by_model[model] = _Row()
                by_model[model].add(cell)
        rows = []
        for model, row in by_model.items():
            entry, priced = row.entry(model), self.priced_model(model)
            rows.append(ModelSpend(
                model=model, calls=entry.calls, prompt_tokens=entry.prompt_tokens,
                completion_tokens=entry.completion_tokens, cost_usd=entry.cost_usd,
                estimated_tokens=entry.estimated_tokens, cached_calls=entry.cached_calls,
                price_input=priced.price.input if priced else None,
                price_output=priced.price.output if priced else None,
                price_source=priced.source if priced else "",
            ))
        return rows
