"""A memory stream: what one agent has observed, said, met and concluded, as records it
retrieves from for each prompt (the generative-agents recipe, Park et al. 2023, section 4).

Every record has a period, an importance from 1 to 10 and an embedding. A prompt holds the
records that score highest for its query, by the weighted sum of three parts, each scaled
to [0, 1] over the whole stream (min-max, as the paper does):

- **recency**: ``decay`` to the power of the periods since the record was last retrieved
  (or made), so what the agent keeps coming back to stays fresh;
- **importance**: the record's rating;
- **relevance**: the cosine similarity of its embedding to the query's.

The paper sets every weight to 1 and its decay to 0.995 per game hour; a period here is a
year or half a year of the story, so the decay per period is much lower (0.9 by default).
Records are taken best first, ``k`` at most and within a token budget (a record that does
not fit is passed over for smaller ones after it), and shown in the order they were made.

When the importance of what happened since the last reflection passes a threshold (150 in
the paper), the agent should reflect: it asks itself questions about its recent records and
stores the answers as ``reflection`` records citing the records they drew on. The stream
keeps that tally; asking is the agent's.

Embeddings are unit vectors in one float32 matrix that grows by doubling, so a query over a
thousand records is one matrix-vector product and a partial sort: under a tenth of a
millisecond. Records and what a query returns form no cycles, so the garbage collector does
not track them (a population of researchers holds millions).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

__all__ = ["MemoryStream", "Record", "Retrieval", "Retrieved"]

RecordKind = Literal["observation", "statement", "meeting", "reflection"]
Vector = npt.NDArray[np.float32]


class Record(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One thing an agent remembers.

    Attributes:
        id: its place in the agent's stream (0, 1, ...).
        kind: ``observation`` (something heard or seen), ``statement`` (something the agent
            said), ``meeting`` (a conversation it took part in) or ``reflection`` (a
            conclusion it drew).
        text: what is remembered, as a prompt shows it.
        period: the index of the period it happened in (0 for the first).
        importance: how much it matters, from 1 (mundane) to 10 (momentous).
        cites: for a reflection, the ids of the records it drew on.
        tokens: its length in tokens, as prompts count it.
    """

    id: int
    kind: RecordKind
    text: str
    period: int
    importance: int
    cites: tuple[int, ...] = ()
    tokens: int = 0


class Retrieval(msgspec.Struct, frozen=True, kw_only=True):
    """How a prompt's records are chosen.

    Attributes:
        recency: the weight of recency.
        importance: the weight of importance.
        relevance: the weight of relevance.
        decay: recency's factor per period since a record was last retrieved.
        k: the most records one prompt holds.
    """

    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0
    decay: float = 0.9
    k: int = 10

    def __post_init__(self) -> None:
        if min(self.recency, self.importance, self.relevance) < 0:
            raise ValueError("retrieval weights must not be negative")
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], not {self.decay}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, not {self.k}")


class Retrieved(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record chosen for a prompt, with the scores that chose it (each part in [0, 1],
    before its weight; ``score`` is the weighted sum)."""

    record: Record
    recency: float
    importance: float
    relevance: float
    score: float


class MemoryStream:
    """One agent's records, their embeddings and when each was last retrieved.

    Args:
        dims: the length of the embeddings (every record's and query's).
    """

    __slots__ = ("_accessed", "_importance", "_vectors", "dims", "records", "since_reflection")

    def __init__(self, dims: int) -> None:
        if dims < 1:
            raise ValueError(f"embeddings need at least one dimension, not {dims}")
        self.dims = dims
        self.records: list[Record] = []
        self._vectors: Vector = np.zeros((16, dims), dtype=np.float32)  # rows past len(records) unused
        self._importance = np.zeros(16, dtype=np.float32)
        self._accessed = np.zeros(16, dtype=np.float32)  # the period each record was last retrieved (or made)
        self.since_reflection = 0  # importance of the records made since the last reflection

    def __len__(self) -> int:
        return len(self.records)

    def add(
        self,
        kind: RecordKind,
        text: str,
        *,
        period: int,
        importance: int,
        embedding: Sequence[float] | Vector,
        cites: Sequence[int] = (),
        tokens: int = 0,
    ) -> Record:
        """Remember something; its embedding is scaled to unit length.

        Raises:
            ValueError: an importance outside 1-10, an embedding of the wrong length or of
                zero length, or a citation of a record the stream does not hold.
        """
        if not 1 <= importance <= 10:
            raise ValueError(f"importance must be from 1 to 10, not {importance}")
        vector = np.asarray(embedding, dtype=np.float32)
        if vector.shape != (self.dims,):
            raise ValueError(f"an embedding of {self.dims} numbers was expected, not of shape {vector.shape}")
        norm = _length(vector)
        if not norm > 0:  # also NaN
            raise ValueError("an embedding must have a length (not all zeros, no NaN)")
        n = len(self.records)
        unknown = [c for c in cites if not 0 <= c < n]
        if unknown:
            raise ValueError(f"a record can only cite records made before it; {unknown} are not")
        if n == len(self._importance):
            self._grow()
        self._vectors[n] = vector / norm
        self._importance[n] = importance
        self._accessed[n] = period
        record = Record(
            id=n, kind=kind, text=text, period=period, importance=importance, cites=tuple(cites), tokens=tokens
        )
        self.records.append(record)
        if kind != "reflection":
            self.since_reflection += importance
        return record

    def _grow(self) -> None:
        size = len(self._importance) * 3 // 2  # by half: ten thousand streams keep their rows

        vectors = np.zeros((size, self.dims), dtype=np.float32)
        vectors[: len(self._vectors)] = self._vectors
        self._vectors = vectors
        self._importance = np.resize(self._importance, size)
        self._accessed = np.resize(self._accessed, size)

    def should_reflect(self, threshold: int) -> bool:
        """Whether what happened since the last reflection matters enough to reflect on."""
        return self.since_reflection >= threshold

    def reflected(self) -> None:
        """The agent has reflected: the tally starts again."""
        self.since_reflection = 0

    def recent(self, n: int) -> list[Record]:
        """The ``n`` most recently made records, oldest first (what a reflection asks about)."""
        return self.records[-n:] if n > 0 else []

    def retrieve(
        self,
        query: Sequence[float] | Vector,
        *,
        period: int,
        how: Retrieval,
        budget: int | None = None,
        exclude: Collection[int] = (),
        touch: bool = True,
    ) -> list[Retrieved]:
        """The records a prompt made in ``period`` holds for ``query``, in the order they were
        made; each counts as retrieved in ``period`` from now on (unless ``touch`` is False:
        a look that does not refresh what it finds).

        Records are taken by score, best first (on a tie, the newer first), ``how.k`` at most
        and, with a ``budget``, only while their ``tokens`` fit in what is left of it. The
        records ``exclude`` names are left out, and out of the scaling of the scores too.
        """
        n = len(self.records)
        ids: npt.NDArray[np.intp] | None = None
        if exclude:
            keep = np.ones(n, dtype=bool)
            keep[[i for i in exclude if 0 <= i < n]] = False
            ids = np.flatnonzero(keep)
            n = len(ids)
        if n == 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (self.dims,):
            raise ValueError(f"a query of {self.dims} numbers was expected, not of shape {q.shape}")
        held = len(self.records)
        vectors, importance, accessed = self._vectors[:held], self._importance[:held], self._accessed[:held]
        if ids is not None:
            vectors, importance, accessed = vectors[ids], importance[ids], accessed[ids]
        norm = _length(q)
        relevance = vectors @ (q / norm) if norm > 0 else np.zeros(n, dtype=np.float32)
        recency = how.decay ** (period - accessed).astype(np.float64)
        parts = (_scaled(recency), _scaled(importance), _scaled(relevance))
        score = how.recency * parts[0] + how.importance * parts[1] + how.relevance * parts[2]
        chosen: list[int] = []  # positions among the candidates
        left = budget
        records = self.records
        k = how.k
        # Best first; on a tie the newer record. Only the best few are sorted (a stream
        # holds thousands); records passed over for the budget may call for more of them.
        looked = 0
        while looked < n and len(chosen) < k:
            size = min(n, max(4 * k, 2 * looked))
            best = _best(score, size)
            for i in best[looked:].tolist():
                if left is not None:
                    cost = records[i if ids is None else int(ids[i])].tokens
                    if cost > left:
                        continue
                    left -= cost
                chosen.append(i)
                if len(chosen) == k:
                    break
            looked = size
        chosen.sort()
        found = chosen if ids is None else [int(ids[i]) for i in chosen]
        if touch:
            self._accessed[found] = period
        return [
            Retrieved(
                record=records[record],
                recency=float(parts[0][i]),
                importance=float(parts[1][i]),
                relevance=float(parts[2][i]),
                score=float(score[i]),
            )
            for i, record in zip(chosen, found, strict=True)
        ]


def _length(vector: Vector) -> float:
    """A vector's length (``np.linalg.norm``'s, without its checks of shape and order)."""
    return math.sqrt(float(np.dot(vector, vector)))


def _best(score: npt.NDArray[np.float64], size: int) -> npt.NDArray[np.intp]:
    """The indices of the ``size`` best scores, best first (on a tie, the higher index)."""
    n = len(score)
    if size < n:
        top = np.argpartition(-score, size - 1)[:size]
        # What ties with the worst kept score may have been cut at random: keep them all.
        top = np.union1d(top, np.flatnonzero(score >= score[top].min()))
    else:
        top = np.arange(n)
    ordered: npt.NDArray[np.intp] = top[np.lexsort((-top, -score[top]))][:size]
    return ordered


def _scaled(values: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """``values`` scaled to [0, 1] (min-max); all equal: all 0.5, so the part ranks nobody."""
    scaled: npt.NDArray[np.float64] = values.astype(np.float64)
    low, high = scaled.min(), scaled.max()
    if high - low <= 1e-12:
        return np.full(len(scaled), 0.5)
    scaled -= low
    scaled /= high - low
    return scaled
