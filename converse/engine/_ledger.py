"""The token and cost ledger of one run, per agent, and the run's budget."""

from __future__ import annotations

from ..log._events import LedgerEntry, Usage
from ..scenario._scenario import Budget, Price


def price_for(prices: dict[str, Price], spec: str) -> Price | None:
    """The price of the model a spec names: by its name (``gpt-4o``) or spec (``openai:gpt-4o``)."""
    head = spec.partition("?")[0]
    return prices.get(head) or prices.get(head.partition(":")[2] or head)


class Ledger:
    """Counts calls, tokens and dollars per agent as the run's model calls are recorded."""

    def __init__(self, price: Price | None) -> None:
        self.price = price
        self._rows: dict[str, list[float]] = {}  # agent -> [calls, prompt, completion, estimated]
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.estimated_tokens = 0  # of the tokens, those the server did not report (our estimate)

    def charge(self, agent: str, usage: Usage, *, call: bool = True) -> None:
        """Book one call's tokens; ``call`` False: an attempt's (an answer paid for and not
        kept), whose tokens count but which is no call."""
        row = self._rows.get(agent)
        if row is None:
            row = self._rows[agent] = [0, 0, 0, 0]
        row[0] += call
        row[1] += usage.prompt_tokens
        row[2] += usage.completion_tokens
        self.calls += call
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.estimated:
            row[3] += usage.total_tokens
            self.estimated_tokens += usage.total_tokens

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """Dollars for that many tokens at this run's price (0 without one)."""
        if self.price is None:
            return 0.0
        return (prompt_tokens * self.price.input + completion_tokens * self.price.output) / 1e6

    @property
    def cost_usd(self) -> float:
        return self.cost(self.prompt_tokens, self.completion_tokens)

    def over(self, budget: Budget) -> str | None:
        """Why the run is over its budget, or None while it is within it (estimated tokens
        count like reported ones)."""
        tokens = self.prompt_tokens + self.completion_tokens
        if budget.tokens is not None and tokens >= budget.tokens:
            estimated = f" ({self.estimated_tokens:,} estimated)" if self.estimated_tokens else ""
            return f"token budget reached: {tokens:,} of {budget.tokens:,} tokens{estimated}"
        if budget.usd is not None and self.cost_usd >= budget.usd:
            return f"money budget reached: ${self.cost_usd:.4f} of ${budget.usd:.4f}"
        return None

    def rows(self) -> list[LedgerEntry]:
        """One row per agent, by name, and a last ``total`` row."""
        out = [
            LedgerEntry(
                agent=agent,
                calls=int(calls),
                prompt_tokens=int(prompt),
                completion_tokens=int(completion),
                cost_usd=round(self.cost(prompt, completion), 6),
                estimated_tokens=int(estimated),
            )
            for agent, (calls, prompt, completion, estimated) in sorted(self._rows.items())
        ]
        out.append(
            LedgerEntry(
                agent="total",
                calls=self.calls,
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                cost_usd=round(self.cost_usd, 6),
                estimated_tokens=self.estimated_tokens,
            )
        )
        return out
