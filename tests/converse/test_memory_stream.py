"""Memory streams: retrieval by recency, importance and relevance, the reflection tally,
citations, the token budget, and the offline model's hashing embedding."""

from __future__ import annotations

import random

import numpy as np
import pytest

from converse.engine._stream import MemoryStream, Retrieval, Retrieved
from converse.models.offline._embed import DIMS, embed

# Unit axes of a 4-dimensional embedding: scripted relevance.
X, Y, Z, W = np.eye(4, dtype=np.float32)


def stream_of(*rows: tuple[str, int, int, np.ndarray]) -> MemoryStream:
    """A stream holding (text, period, importance, embedding) rows, in that order."""
    stream = MemoryStream(4)
    for text, period, importance, vector in rows:
        stream.add("observation", text, period=period, importance=importance, embedding=vector)
    return stream


def texts(retrieved: list[Retrieved]) -> list[str]:
    return [r.record.text for r in retrieved]


def test_scores_are_the_weighted_sum_of_parts_scaled_to_the_stream() -> None:
    stream = stream_of(("old", 0, 2, X), ("loud", 5, 10, Y), ("near", 5, 4, X + 0.2 * Y))
    got = stream.retrieve(X, period=5, how=Retrieval(k=3, decay=0.5))
    by_text = {r.record.text: r for r in got}
    # Recency: 0.5**5 for "old", 1 for the others, scaled to 0..1.
    assert by_text["old"].recency == pytest.approx(0.0)
    assert by_text["loud"].recency == pytest.approx(1.0)
    # Importance 2, 10, 4 scaled to 0, 1, 0.25.
    assert by_text["near"].importance == pytest.approx(0.25)
    # Relevance: cosine 1 for "old", 0 for "loud", 1/sqrt(1.04) for "near", scaled.
    assert by_text["old"].relevance == pytest.approx(1.0)
    assert by_text["loud"].relevance == pytest.approx(0.0)
    for r in got:
        assert r.score == pytest.approx(r.recency + r.importance + r.relevance)
    # Shown in the order they were made, whatever their scores.
    assert texts(got) == ["old", "loud", "near"]


def test_the_weights_decide_which_records_a_prompt_holds() -> None:
    stream = stream_of(("relevant", 3, 1, X), ("important", 3, 10, Y), ("recent", 9, 1, Z))
    assert texts(stream.retrieve(X, period=9, how=Retrieval(k=1, recency=0, importance=0))) == ["relevant"]
    stream = stream_of(("relevant", 3, 1, X), ("important", 3, 10, Y), ("recent", 9, 1, Z))
    assert texts(stream.retrieve(X, period=9, how=Retrieval(k=1, recency=0, relevance=0))) == ["important"]
    stream = stream_of(("relevant", 3, 1, X), ("important", 3, 10, Y), ("recent", 9, 1, Z))
    assert texts(stream.retrieve(X, period=9, how=Retrieval(k=1, importance=0, relevance=0))) == ["recent"]


def test_recency_decays_per_period_since_a_record_was_last_retrieved() -> None:
    # Two records alike but for when they were made; importance and relevance rank nobody.
    stream = stream_of(("first", 0, 5, X), ("second", 2, 5, X), ("third", 2, 5, X))
    how = Retrieval(k=1, decay=0.8, importance=0, relevance=0)
    got = stream.retrieve(X, period=4, how=how)
    assert texts(got) == ["third"]  # a tie on recency: the newer first
    # Scaled recency is (0.8**d - min) / (max - min) over the stream.
    raw = {"first": 0.8**4, "second": 0.8**2}
    low, high = raw["first"], raw["second"]
    assert got[0].recency == pytest.approx((0.8**2 - low) / (high - low))
    # Retrieving "third" in period 4 made it fresh; next period it beats "second" by a period's decay.
    got = stream.retrieve(X, period=5, how=Retrieval(k=3, decay=0.8, importance=0, relevance=0))
    scores = {r.record.text: r.recency for r in got}
    assert scores["third"] == pytest.approx(1.0)
    assert scores["first"] == pytest.approx(0.0)
    assert scores["second"] == pytest.approx((0.8**3 - 0.8**5) / (0.8**1 - 0.8**5))


def test_a_record_that_does_not_fit_the_budget_is_passed_over_for_smaller_ones() -> None:
    stream = MemoryStream(4)
    stream.add("observation", "long and important", period=0, importance=10, embedding=X, tokens=500)
    stream.add("observation", "short", period=0, importance=6, embedding=X, tokens=40)
    stream.add("observation", "shorter", period=0, importance=3, embedding=X, tokens=30)
    stream.add("observation", "dull", period=0, importance=1, embedding=X, tokens=30)
    got = stream.retrieve(X, period=0, how=Retrieval(k=2), budget=100)
    assert texts(got) == ["short", "shorter"]
    assert sum(r.record.tokens for r in got) <= 100
    assert texts(stream.retrieve(X, period=0, how=Retrieval(k=2), budget=None)) == ["long and important", "short"]


def test_k_caps_what_a_prompt_holds_and_an_empty_stream_gives_nothing() -> None:
    assert MemoryStream(4).retrieve(X, period=0, how=Retrieval()) == []
    stream = MemoryStream(4)
    for i in range(40):  # past the first growth of its arrays
        stream.add("observation", f"r{i}", period=i // 10, importance=1 + i % 10, embedding=X + Y * (i % 3))
    got = stream.retrieve(Y, period=4, how=Retrieval(k=7))
    assert len(got) == 7
    assert [r.record.id for r in got] == sorted(r.record.id for r in got)
    chosen = {r.record.id for r in got}
    # Ranked on an untouched copy, the seven chosen are the seven best.
    fresh = MemoryStream(4)
    for i in range(40):
        fresh.add("observation", f"r{i}", period=i // 10, importance=1 + i % 10, embedding=X + Y * (i % 3))
    everything = fresh.retrieve(Y, period=4, how=Retrieval(k=40))
    ranked = sorted(everything, key=lambda r: (-r.score, -r.record.id))
    assert {r.record.id for r in ranked[:7]} == chosen


def test_reflection_is_due_when_the_importance_since_the_last_passes_the_threshold() -> None:
    stream = MemoryStream(4)
    for _ in range(14):
        stream.add("observation", "x", period=0, importance=10, embedding=X)
    assert not stream.should_reflect(150)
    stream.add("statement", "y", period=0, importance=10, embedding=Y)
    assert stream.should_reflect(150)
    # A reflection's own importance does not count toward the next one.
    stream.add("reflection", "so: z", period=0, importance=10, embedding=Z, cites=[0, 14])
    stream.reflected()
    assert stream.since_reflection == 0
    assert not stream.should_reflect(150)
    assert [r.id for r in stream.recent(3)] == [13, 14, 15]


def test_a_reflection_cites_the_records_it_drew_on_and_only_those_made_before_it() -> None:
    stream = stream_of(("a", 0, 3, X), ("b", 0, 3, Y))
    made = stream.add("reflection", "a and b", period=0, importance=7, embedding=X + Y, cites=[0, 1])
    assert made.cites == (0, 1)
    assert stream.records[made.id] is made
    with pytest.raises(ValueError, match=r"\[3\]"):
        stream.add("reflection", "of the future", period=0, importance=7, embedding=X, cites=[0, 3])
    assert len(stream) == 3  # nothing half-added


@pytest.mark.parametrize(
    ("importance", "embedding", "message"),
    [(0, X, "importance"), (11, X, "importance"), (5, np.zeros(4), "length"), (5, np.ones(3), "4 numbers"),
     (5, [np.nan, 0, 0, 0], "length")],
)
def test_a_bad_record_is_refused_with_what_is_wrong(importance: int, embedding: object, message: str) -> None:
    stream = MemoryStream(4)
    with pytest.raises(ValueError, match=message):
        stream.add("observation", "x", period=0, importance=importance, embedding=embedding)  # type: ignore[arg-type]
    assert len(stream) == 0


@pytest.mark.parametrize(("field", "value"), [("decay", 0.0), ("decay", 1.5), ("k", 0), ("relevance", -1.0)])
def test_bad_retrieval_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field if field != "relevance" else "weights"):
        Retrieval(**{field: value})  # type: ignore[arg-type]


def test_the_offline_embedding_is_deterministic_unit_length_and_relevant() -> None:
    report = "OpenAI found deceptive behaviour when evaluating its largest model"
    assert np.array_equal(embed(report), embed(report))
    assert embed(report).shape == (DIMS,)
    assert float(np.linalg.norm(embed(report))) == pytest.approx(1.0, abs=1e-6)
    related = embed("evaluating deceptive behaviour in large models")
    unrelated = embed("the government passed a law on compute reporting thresholds")
    assert float(embed(report) @ related) > float(embed(report) @ unrelated) + 0.3
    # Stop words and case do not count; a text without words still gets a unit vector.
    assert np.array_equal(embed("The Model"), embed("model"))
    assert float(np.linalg.norm(embed("..."))) == pytest.approx(1.0)
    assert not np.array_equal(embed("..."), embed("!!!"))


def test_offline_embeddings_make_retrieval_find_what_a_query_is_about() -> None:
    stream = MemoryStream(DIMS)
    notes = [
        "Anthropic published an interpretability paper on sparse autoencoders",
        "The EU AI Office fined a lab for late incident reporting",
        "DeepMind's agent escaped its sandbox during a red-team exercise",
        "OpenAI hired forty alignment researchers",
    ]
    for note in notes:
        stream.add("observation", note, period=0, importance=5, embedding=embed(note))
    got = stream.retrieve(embed("sandbox escape by an agent in red-team testing"), period=0, how=Retrieval(k=1))
    assert texts(got) == [notes[2]]


def plainly_retrieved(
    stream: MemoryStream, query: np.ndarray, period: int, how: Retrieval, budget: int | None, exclude: set[int]
) -> list[int]:
    """The ids the definition picks: every part scaled over the stream, the weighted sum,
    best first (newer on a tie), skipping what does not fit; written out, not fast."""

    def scaled(values: list[float]) -> list[float]:
        low, high = min(values), max(values)
        return [0.5] * len(values) if high - low <= 1e-12 else [(v - low) / (high - low) for v in values]

    records = [r for r in stream.records if r.id not in exclude]
    last = {r.id: float(r.period) for r in records}  # nothing retrieved before: made is last seen
    q = query / np.linalg.norm(query)
    vectors = [stream._vectors[r.id] for r in records]
    recency = scaled([how.decay ** (period - last[r.id]) for r in records])
    importance = scaled([float(r.importance) for r in records])
    relevance = scaled([float(v @ q) for v in vectors])
    score = [how.recency * a + how.importance * b + how.relevance * c for a, b, c in zip(recency, importance, relevance, strict=True)]
    chosen: list[int] = []
    left = budget
    for i in sorted(range(len(records)), key=lambda i: (-score[i], -i)):
        if left is not None:
            if records[i].tokens > left:
                continue
            left -= records[i].tokens
        chosen.append(records[i].id)
        if len(chosen) == how.k:
            break
    return sorted(chosen)


def test_retrieval_picks_what_the_definition_picks_on_random_streams() -> None:
    r = random.Random(3)
    for _ in range(200):
        stream = MemoryStream(8)
        for _ in range(r.randint(1, 300)):
            stream.add(
                "observation", "x", period=r.randint(0, 5), importance=r.randint(1, 10),
                embedding=[r.gauss(0, 1) for _ in range(8)], tokens=r.choice([5, 50, 500]),
            )
        query = np.array([r.gauss(0, 1) for _ in range(8)], dtype=np.float32)
        how = Retrieval(k=r.randint(1, 20), decay=r.choice([0.5, 0.9, 1.0]))
        budget = r.choice([None, 100, 1000])
        exclude = set(r.sample(range(len(stream)), r.randint(0, len(stream) // 2)))
        want = plainly_retrieved(stream, query, 6, how, budget, exclude)
        got = stream.retrieve(query, period=6, how=how, budget=budget, exclude=exclude, touch=False)
        assert [x.record.id for x in got] == want


def test_records_left_out_are_left_out_of_the_scaling_too_and_a_look_refreshes_nothing() -> None:
    stream = stream_of(("old", 0, 1, X), ("mid", 2, 5, X), ("new", 4, 9, X), ("newest", 4, 10, Y))
    got = stream.retrieve(X, period=4, how=Retrieval(k=4, relevance=0), exclude=[3], touch=False)
    assert texts(got) == ["old", "mid", "new"]
    by_text = {r.record.text: r for r in got}
    assert by_text["new"].importance == pytest.approx(1.0)  # 9 is the top once 10 is left out
    assert by_text["old"].importance == pytest.approx(0.0)
    # Nothing was refreshed: the same look gives the same recency.
    again = stream.retrieve(X, period=4, how=Retrieval(k=4, relevance=0), exclude=[3], touch=False)
    assert [r.recency for r in again] == [r.recency for r in got]
    # A retrieval that touches refreshes what it took, and only that.
    stream.retrieve(X, period=4, how=Retrieval(k=1, relevance=0, importance=0, recency=1), exclude=[2, 3])
    after = {r.record.text: r.recency for r in stream.retrieve(X, period=4, how=Retrieval(k=4), touch=False)}
    assert after["mid"] == pytest.approx(1.0)  # taken (newer of the two left) at period 4
    assert after["old"] == pytest.approx(0.0)
