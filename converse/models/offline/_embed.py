"""The offline model's embeddings: a hashing embedding of a text's words.

Each word (lower-cased, stop words left out) adds +1 or -1 to one of ``dims`` coordinates,
both chosen by a blake2b digest of the word, so the same word lands in the same place in
every process and texts that share words point the same way: cosine similarity then works
as relevance does with a real embedding model, roughly and deterministically, with no
model weights. Two-word phrases are hashed too, at half weight, so "model weights" is a
little closer to "model weights" than to "weights of the model".
"""

from __future__ import annotations

import functools
import hashlib
import re
from itertools import pairwise

import numpy as np
import numpy.typing as npt

__all__ = ["DIMS", "embed"]

DIMS = 64  # small: a population of 10,000 researchers keeps every record's embedding

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had", "has", "have", "he",
    "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
    "she", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "us", "was",
    "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your",
))


@functools.lru_cache(maxsize=65536)
def _slot(token: str, dims: int) -> tuple[int, float]:
    """Where ``token`` adds to an embedding of ``dims`` numbers, and with which sign."""
    h = int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return h % dims, 1.0 if (h >> 63) & 1 else -1.0


def embed(text: str, dims: int = DIMS) -> npt.NDArray[np.float32]:
    """The unit-length embedding of ``text``; a text with no words gets one of its own."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    sums = [0.0] * dims  # a list, not the array: indexing an array one item at a time is slow
    for word in words:
        i, sign = _slot(word, dims)
        sums[i] += sign
    for first, second in pairwise(words):
        i, sign = _slot(f"{first} {second}", dims)
        sums[i] += 0.5 * sign
    vector = np.array(sums, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    if norm == 0:  # no words, or words that cancel out: the text itself decides
        i, sign = _slot("\x00" + text, dims)
        vector[i] = sign
        return vector
    return vector / np.float32(norm)
