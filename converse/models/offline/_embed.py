"""The offline model's embeddings: a hashing embedding of a text's words.

Each word (lower-cased, stop words left out) adds +1 or -1 to one of ``dims`` coordinates,
both chosen by a blake2b digest of the word, so the same word lands in the same place in
every process and texts that share words point the same way: cosine similarity then works
as relevance does with a real embedding model, roughly and deterministically, with no
model weights. Two-word phrases count too, at half weight (their place mixed from their
words' digests), so "model weights" is a little closer to "model weights" than to "weights
of the model".
"""

from __future__ import annotations

import hashlib
import math
import string
from itertools import filterfalse

import numpy as np
import numpy.typing as npt

__all__ = ["DIMS", "embed"]

DIMS = 64  # small: a population of 10,000 researchers keeps every record's embedding

_SPACES = str.maketrans(dict.fromkeys(string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026", " "))
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had", "has", "have", "he",
    "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
    "she", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "us", "was",
    "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your",
))


_HASHES: dict[str, int] = {}  # a word's 64-bit hash: the vocabulary of a run is small
_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd constant: a word pair's hash from its words'


def _hash(token: str) -> int:
    """A word's 64-bit hash, the same in every process."""
    h = _HASHES.get(token)
    if h is None:
        h = int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        if len(_HASHES) < 1_000_000:
            _HASHES[token] = h
    return h


def embed(text: str, dims: int = DIMS) -> npt.NDArray[np.float32]:
    """The unit-length embedding of ``text``; a text with no words gets one of its own.

    A word's hash says where it adds (the hash modulo ``dims``) and with which sign (its top
    bit); a pair of words adds half as much where the mix of their hashes says. All of it is
    a few array operations, whatever the text's length.
    """
    words = list(filterfalse(_STOP.__contains__, text.lower().translate(_SPACES).split()))  # all in C
    if not words:  # no words: the text itself decides
        h = _hash("\x00" + text)
        vector = np.zeros(dims, dtype=np.float32)
        vector[h % dims] = 1.0 if h >> 63 else -1.0
        return vector
    known = list(map(_HASHES.get, words))  # each word looked up in C; hashed once per process
    if None in known:
        known = [_hash(w) if h is None else h for w, h in zip(words, known, strict=True)]
    hashes = np.array(known, dtype=np.uint64)
    pairs = hashes[:-1] * _MIX + hashes[1:]  # wraps around modulo 2**64, as meant
    where = np.concatenate((hashes % np.uint64(dims), pairs % np.uint64(dims))).astype(np.intp)
    signs = np.concatenate((hashes >> np.uint64(63), pairs >> np.uint64(63))).astype(np.float64) * 2.0 - 1.0
    signs[len(words) :] *= 0.5
    vector = np.bincount(where, weights=signs, minlength=dims).astype(np.float32)
    norm = math.sqrt(float(np.dot(vector, vector)))
    if norm == 0:  # words that cancel out: the text itself decides
        h = _hash("\x00" + text)
        vector[h % dims] = 1.0 if h >> 63 else -1.0
        return vector
    return vector / np.float32(norm)
