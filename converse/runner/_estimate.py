"""What a run will cost before it runs: a dry run of the scenario's structure on the offline model
(the same agents, councils, periods, memory and judge; the real model's window), priced at the
real model's price. The offline model's answers are not a real model's length, so the estimate
also gives the most the answers could take: every one as long as its ``max_tokens`` allows.
Memory streams' embedding calls are counted as calls too, priced at the embedder's price (the
offline model embeds them in the dry run)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

import msgspec

from ..engine._run import default_scheduler
from ..log._events import Embedded, LLMCall
from ..log._log import read_events
from ..models._open import parse_spec
from ..models._openai import server_url
from ..models._prices import Priced, price_of
from ..models._windows import context_window
from ..scenario._load import load_scenario
from ..scenario._model_choice import ModelChoice, ModelSpecOrChoice
from ..scenario._models import embedded_by, embedder_spec, settings_by_agent, with_choices
from ..scenario._scenario import ModelSettings, Scenario
from ._run import run_scenario

__all__ = ["Estimate", "estimate_run"]


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """The calls, tokens and dollars of ``runs`` runs of one scenario on ``model``.

    Attributes:
        runs: how many runs it counts.
        model: the model spec priced.
        calls: model calls.
        prompt_tokens, completion_tokens: tokens, the answers as long as the offline model's.
        most_completion_tokens: the answers' tokens if each took its whole ``max_tokens``.
        cost_usd, most_cost_usd: dollars for those (None: the model is unpriced).
        price_source: where the price came from (``scenario``, or the shipped table's date).
    """

    runs: int
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    most_completion_tokens: int
    cost_usd: float | None
    most_cost_usd: float | None
    price_source: str | None

    def times(self, n: int) -> Estimate:
        """The estimate of ``n`` times as many runs."""
        scale = {f: getattr(self, f) * n for f in ("runs", "calls", "prompt_tokens", "completion_tokens",
                                                  "most_completion_tokens")}
        money = {f: None if getattr(self, f) is None else getattr(self, f) * n for f in ("cost_usd", "most_cost_usd")}
        return msgspec.structs.replace(self, **scale, **money)

    def __add__(self, other: Estimate) -> Estimate:
        """Two estimates of the same model together (a sweep's cells)."""
        total = {f: getattr(self, f) + getattr(other, f) for f in ("runs", "calls", "prompt_tokens",
                                                                  "completion_tokens", "most_completion_tokens")}
        money = {
            f: None if getattr(self, f) is None or getattr(other, f) is None else getattr(self, f) + getattr(other, f)
            for f in ("cost_usd", "most_cost_usd")
        }
        return msgspec.structs.replace(self, **total, **money)

    def lines(self) -> list[str]:
        """The estimate as a person reads it, a line each."""
        runs = f"{self.runs:,} runs" if self.runs != 1 else "1 run"
        head = f"estimate for {runs} on {self.model}: {self.calls:,} calls, {self.prompt_tokens:,} prompt tokens, "
        head += f"{self.completion_tokens:,} answer tokens (at most {self.most_completion_tokens:,})"
        if self.cost_usd is None or self.most_cost_usd is None:
            cost = "cost: unpriced (no [prices] entry for this model, and not an OpenAI model converse knows)"
        else:
            cost = f"cost: ${self.cost_usd:,.4f} (at most ${self.most_cost_usd:,.4f}; prices: {self.price_source})"
        return [head, cost]


async def estimate_run(
    scenario: Scenario | str | os.PathLike[str],
    *,
    model: str | None = None,
    seed: int = 0,
    overrides: list[str] | tuple[str, ...] = (),
    base_url: str | None = None,
) -> Estimate:
    """What one run of ``scenario`` on ``model`` (by default the scenario's) will take, from a dry
    run on the offline model, which asks the real one nothing.

    The dry run holds its prompts to the real model's window (known by name, or the scenario's
    ``context_window``), judges with the offline model too, and prices each call at the price of
    the model that would make it (the run's, or the judge's own ``judge.model``).

    Raises:
        ScenarioError: the scenario or an override is wrong.
        ModelSpecError: the model spec is.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    spec = model or scenario.model.spec
    parse_spec(spec)  # a bad spec is an error before anything runs
    window = context_window(scenario.model, spec)
    embedder = embedder_spec(scenario)
    dry = msgspec.structs.replace(
        embedded_by(with_choices(scenario, _offline), ""),
        model=msgspec.structs.replace(scenario.model, spec="offline", context_window=window),
        judge=msgspec.structs.replace(scenario.judge, model=None),
    )
    run = msgspec.structs.replace(scenario.model, spec=spec, base_url=base_url or scenario.model.base_url)
    own = settings_by_agent(scenario, run)
    with tempfile.TemporaryDirectory(prefix="converse-estimate-") as out:
        result = await run_scenario(dry, model="offline", seed=seed, out=out, scheduler=default_scheduler())
        events = read_events(result.events)
        calls = [e for e in events if type(e) is LLMCall]
        embeddings = [e for e in events if type(e) is Embedded]
    where = server_url(base_url or scenario.model.base_url)
    run_price = price_of(scenario.prices, spec, where)
    judge = scenario.judge.model
    judge_spec, judge_where = (judge, where) if isinstance(judge, str) else (None, where)
    if isinstance(judge, ModelChoice):
        judge_spec, judge_where = judge.spec, server_url(judge.base_url) if judge.base_url else where
    judge_price = price_of(scenario.prices, judge_spec, judge_where) if judge_spec is not None else run_price

    def model_of(call: LLMCall) -> tuple[str, Priced | None]:
        if call.purpose == "judge":
            return judge_spec or spec, judge_price
        settings = own.get(call.actor)
        if settings is None or settings.spec == spec:
            return spec, run_price
        return settings.spec, price_of(scenario.prices, settings.spec, server_url(settings.base_url))

    made = [model_of(c) for c in calls]
    if embeddings:
        embedded = embedder or spec
        made += [(embedded, price_of(scenario.prices, embedded, where))] * len(embeddings)
    prices = [p for _, p in made]
    known = all(p is not None for p in prices)
    used = list(dict.fromkeys([spec, *(m for m, _ in made)]))
    sources = list(dict.fromkeys(p.source for p in prices if p is not None))
    # (prompt tokens, answer tokens, the most answer tokens) of every call; an embedding has no answer
    counts = [(c.usage.prompt_tokens, c.usage.completion_tokens, _limit(c)) for c in calls]
    counts += [(e.usage.prompt_tokens, 0, 0) for e in embeddings]
    return Estimate(
        runs=1,
        model=", ".join(used),
        calls=len(counts),
        prompt_tokens=sum(p for p, _, _ in counts),
        completion_tokens=sum(a for _, a, _ in counts),
        most_completion_tokens=sum(m for _, _, m in counts),
        cost_usd=_cost(counts, prices, most=False) if known else None,
        most_cost_usd=_cost(counts, prices, most=True) if known else None,
        price_source="; ".join(sources) if known and sources else None,
    )


def _offline(choice: ModelSpecOrChoice) -> ModelChoice:
    """An agent's own model, for the dry run: the offline model, held to the real one's window."""
    table = ModelChoice(spec=choice) if isinstance(choice, str) else choice
    window = table.context_window or context_window(ModelSettings(), table.spec)
    return msgspec.structs.replace(
        table, spec="offline", base_url=None, context_window=window, rpm=None, tpm=None, calls=None, timeout=None
    )


def _limit(call: LLMCall) -> int:
    limit = call.params.get("max_tokens")
    return limit if isinstance(limit, int) else call.usage.completion_tokens


def _cost(counts: Iterable[tuple[int, int, int]], prices: list[Priced | None], *, most: bool) -> float:
    total = 0.0
    for (prompt, answer, longest), priced in zip(counts, prices, strict=True):
        assert priced is not None
        total += (prompt * priced.price.input + (longest if most else answer) * priced.price.output) / 1e6
    return total
