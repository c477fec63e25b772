"""A population of researchers: what their memory streams cost.

- ``population.retrieval_us``: one retrieval (the top 10 within a 600-token budget, by
  recency, importance and relevance) from a stream of 1,000 records with the offline
  model's embeddings: microseconds per query, the best of five batches of 500 queries,
  each query a different text's embedding.

Context figures: the same over 100 and 10,000 records (how retrieval grows with a stream),
and what embedding one record's text costs the offline model.
"""

from __future__ import annotations

import random
import time

from converse.engine._stream import MemoryStream, Retrieval
from converse.models.offline._embed import DIMS, embed

HOW = Retrieval(k=10)
BUDGET = 600
QUERIES = 500

_SUBJECTS = ("the lab", "our team", "a rival lab", "the regulator", "the safety team", "the board")
_VERBS = ("published", "found", "shipped", "delayed", "audited", "reproduced", "questioned", "funded")
_THINGS = (
    "an interpretability result", "a jailbreak of the new model", "a scaling law for agents",
    "a compute reporting rule", "an evaluation of deceptive behaviour", "a red-team exercise",
    "a paper on reward hacking", "a hiring freeze", "a model with twice the context",
    "a plan to open the weights", "an incident report", "a benchmark of autonomous replication",
)


def _text(r: random.Random) -> str:
    return f"{r.choice(_SUBJECTS)} {r.choice(_VERBS)} {r.choice(_THINGS)} in {r.choice(_THINGS)}"


def _stream(size: int, r: random.Random) -> MemoryStream:
    stream = MemoryStream(DIMS)
    for i in range(size):
        text = _text(r)
        stream.add(
            "observation", text, period=i * 20 // size, importance=r.randint(1, 10), embedding=embed(text),
            tokens=len(text) // 4 + 4,
        )
    return stream


def retrieval_us(size: int, queries: int = QUERIES, batches: int = 5) -> float:
    """Microseconds per retrieval from a stream of ``size`` records (the best batch)."""
    r = random.Random(size)
    stream = _stream(size, r)
    asked = [embed(_text(r)) for _ in range(queries)]
    best = float("inf")
    for _ in range(batches):
        start = time.perf_counter()
        for q in asked:
            stream.retrieve(q, period=20, how=HOW, budget=BUDGET)
        best = min(best, (time.perf_counter() - start) / queries)
    return best * 1e6


def embed_us(texts: int = 2000) -> float:
    r = random.Random(0)
    made = [_text(r) + f" ({i})" for i in range(texts)]  # new words: no cache hit for every one
    start = time.perf_counter()
    for text in made:
        embed(text)
    return (time.perf_counter() - start) / texts * 1e6


def run(quick: bool) -> dict[str, float]:
    figures = {"population.retrieval_us": retrieval_us(1000)}
    figures["context.population.retrieval_us_100"] = retrieval_us(100)
    figures["context.population.retrieval_us_10k"] = retrieval_us(10_000, queries=50 if quick else 200)
    figures["context.population.embed_us"] = embed_us()
    return figures


if __name__ == "__main__":
    for figure, value in run(quick=True).items():
        print(f"{figure:45} {value:10.1f}")
