"""The token and cost ledger of one run, per agent, and the run's budget.

An answer served from the cache (``--cache``) is counted, as a call and in its tokens, but
costs nothing: its cost and the budget leave it out. A run whose model has no known price is
"unpriced": its cost is 0 here, and what shows it says "unpriced", never "$0.00".
"""

from __future__ import annotations

from ..log._events import LedgerEntry, Usage
from ..models._prices import Priced
from ..scenario._scenario import Budget, Price

# A row's counts, by index.
_CALLS, _PROMPT, _COMPLETION, _ESTIMATED, _CACHED, _CACHED_PROMPT, _CACHED_COMPLETION = range(7)


class Ledger:
    """Counts calls, tokens and dollars per agent as the run's model calls are recorded."""

    def __init__(self, priced: Priced | None) -> None:
        self.priced = priced
        self._rows: dict[str, list[int]] = {}  # agent -> its counts (see the indices above)
        self._total = [0] * 7

    @property
    def price(self) -> Price | None:
        """The price the run is charged at, if one is known."""
        return self.priced.price if self.priced is not None else None

    def charge(self, agent: str, usage: Usage, *, call: bool = True, cached: bool = False) -> None:
        """Book one call's tokens; ``call`` False: an attempt's (an answer paid for and not
        kept), whose tokens count but which is no call; ``cached``: an answer from the cache,
        counted but not paid for."""
        row = self._rows.get(agent)
        if row is None:
            row = self._rows[agent] = [0] * 7
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        for counts in (row, self._total):
            counts[_CALLS] += call
            counts[_PROMPT] += prompt
            counts[_COMPLETION] += completion
            if usage.estimated:
                counts[_ESTIMATED] += prompt + completion
            if cached:
                counts[_CACHED] += 1
                counts[_CACHED_PROMPT] += prompt
                counts[_CACHED_COMPLETION] += completion

    @property
    def calls(self) -> int:
        return self._total[_CALLS]

    @property
    def prompt_tokens(self) -> int:
        return self._total[_PROMPT]

    @property
    def completion_tokens(self) -> int:
        return self._total[_COMPLETION]

    @property
    def estimated_tokens(self) -> int:
        """Of the tokens, those the server did not report (our estimate)."""
        return self._total[_ESTIMATED]

    @property
    def cached_calls(self) -> int:
        """Of the calls, those answered from the cache (paid for by an earlier run)."""
        return self._total[_CACHED]

    @property
    def paid_tokens(self) -> int:
        """The tokens this run paid for: all but the cached answers'."""
        t = self._total
        return t[_PROMPT] + t[_COMPLETION] - t[_CACHED_PROMPT] - t[_CACHED_COMPLETION]

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """Dollars for that many tokens at this run's price (0 without one)."""
        price = self.price
        if price is None:
            return 0.0
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1e6

    def _cost_of(self, counts: list[int]) -> float:
        return self.cost(counts[_PROMPT] - counts[_CACHED_PROMPT], counts[_COMPLETION] - counts[_CACHED_COMPLETION])

    @property
    def cost_usd(self) -> float:
        return self._cost_of(self._total)

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
        """One row per agent, by name, and a last ``total`` row."""
        named = [*sorted(self._rows.items()), ("total", self._total)]
        return [
            LedgerEntry(
                agent=agent,
                calls=counts[_CALLS],
                prompt_tokens=counts[_PROMPT],
                completion_tokens=counts[_COMPLETION],
                cost_usd=round(self._cost_of(counts), 6),
                estimated_tokens=counts[_ESTIMATED],
                cached_calls=counts[_CACHED],
            )
            for agent, counts in named
        ]
