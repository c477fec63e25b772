"""Drawing the offline model's words: picks from phrase banks, numbers, names, and the
template values of one answer, all from the answer's own draws (``Draws``)."""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, count
from typing import TYPE_CHECKING, Protocol

from . import _roleplay_phrases as P

if TYPE_CHECKING:
    from .._model import Hints


class Source(Protocol):
    """Where draws come from: a turn's ``Draws``, or a ``random.Random``."""

    def random(self) -> float: ...


class Draws:
    """The draws of one answer: floats in [0, 1), read off the turn's 64-byte digest, then off
    a blake2b stream seeded by it.

    ``random()`` is the ``__next__`` of an iterator in C, so a draw costs about what a Mersenne
    Twister's does, and no generator is seeded per turn: seeding one (a 2.5 kB state, mixed
    three times over) cost more than all the draws of a council line.
    """

    __slots__ = ("random",)

    def __init__(self, digest: bytes) -> None:
        self.random: Callable[[], float] = chain(_floats(digest), chain.from_iterable(_blocks(digest))).__next__


_UNIT = 2.0**-53
_EIGHT = struct.Struct("<8Q")


_TOP_53 = (11).__rrshift__  # x >> 11: a 64-bit word's top 53 bits
_SCALED = _UNIT.__mul__  # n * 2**-53, exactly as ``n * _UNIT``


def _floats(block: bytes) -> Iterator[float]:
    """Eight floats in [0, 1) with 53 random bits each, from 64 random bytes, made as they are
    drawn (``(x >> 11) * 2**-53`` for each 64-bit word, in C: an answer draws a dozen or so)."""
    return map(_SCALED, map(_TOP_53, _EIGHT.unpack(block)))


def _blocks(digest: bytes) -> Iterator[Iterator[float]]:
    """The draws after a turn's first eight: blake2b of the turn's digest with 1, 2, ..."""
    key = digest[:32]
    for n in count(1):
        yield _floats(hashlib.blake2b(key + n.to_bytes(8, "little"), digest_size=64).digest())


def text_key(text: str) -> bytes:
    """A system prompt's digest (``turn_digest``): its speaker's model makes it once, not every turn."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=32).digest()


def turn_digest(seed: str, h: Hints, length: int, system_key: bytes, user: str) -> bytes:
    """The 64-byte digest of the turn that the seed, the hints ``h``, the prompt's length
    (``length`` messages), its system prompt (its digest, ``text_key``) and its newest user
    message identify. The user message, new every turn, is read by a CRC-32 and its length (a
    fraction of blake2b's cost over kilobytes); what identifies the turn is then hashed with
    blake2b after the system prompt's digest (one f-string of it all: this runs on every answer)."""
    said = user.encode("utf-8", "surrogatepass")
    head = (f"{seed}\x1f{h.kind}\x1f{h.speaker}\x1f{h.organisation}\x1f{h.period}\x1f{h.end_token or ''}"
            f"\x1f{length}\x1f{h.candidate or ''}\x1f{len(said)}\x1f{zlib.crc32(said)}")
    return hashlib.blake2b(system_key + head.encode("utf-8", "surrogatepass"), digest_size=64).digest()


def turn_draws(seed: str, h: Hints, length: int, system_key: bytes, user: str) -> Draws:
    """The draws of a turn (``turn_digest``), as many as its answer asks for."""
    return Draws(turn_digest(seed, h, length, system_key, user))


_SIXTEEN = struct.Struct("<16I")


def turn_picks(seed: str, h: Hints, length: int, system_key: bytes, user: str) -> tuple[int, ...]:
    """The turn's digest (``turn_digest``) read as sixteen 32-bit numbers, for an answer that
    needs no more: each picks from a bank by its remainder (``v % len(bank)``), with no
    iterator stepped and no float made per pick."""
    return _SIXTEEN.unpack(turn_digest(seed, h, length, system_key, user))


def pick(r: Source, bank: Sequence[str]) -> str:
    return bank[int(r.random() * len(bank))]


def between(r: Source, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi``, both included."""
    return lo + int(r.random() * (hi - lo + 1))


def sample(r: Source, pool: Sequence[str], count: int) -> list[str]:
    """``count`` distinct items of ``pool`` in random order (a partial Fisher-Yates shuffle)."""
    items = list(pool)
    for i in range(min(count, len(items))):
        j = i + int(r.random() * (len(items) - i))
        items[i], items[j] = items[j], items[i]
    return items[:count]


def with_article(word: str) -> str:
    """``word`` with its indefinite article: "an Accountant", "a UX Designer"."""
    if len(word) > 1 and word[:2].isupper():
        vowel = word[0] in "AEFHILMNORSX"  # letters whose names start with a vowel sound
    else:
        vowel = word[:1].lower() in "aeiou" and not word.lower().startswith(("uni", "use", "eu", "one"))
    return f"{'an' if vowel else 'a'} {word}"


def word_count(text: str) -> int:
    return len(text.split())


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def full_stop(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def main_phrase(task: str) -> str:
    """The task's main noun phrase: "Develop a trading bot for stocks" -> "trading bot"."""
    words = task.split(". ", 1)[0].split()
    if len(words) > 1 and (words[1].lower() in P.ARTICLES or words[0].lower() in P.VERBS):
        words = words[1:]  # an imperative verb: develop, help, write, plan, design, create, ...
    while words and words[0].lower() in P.ARTICLES:
        words = words[1:]
    kept: list[str] = []
    for word in words:
        bare = word.strip(",;:.!?()\"'")
        if not bare or bare.lower() in P.STOP_WORDS or len(kept) == 5:
            break
        kept.append(bare)
        if bare != word.rstrip("'\""):  # punctuation after it ends the phrase
            break
    return " ".join(kept) if kept else "project"


# How each template value is drawn, when a template asks for it.
_DRAW: dict[str, Callable[[Source, bool], object]] = {
    "component": lambda r, tech: pick(r, P.COMPONENTS_TECH if tech and r.random() < 0.6 else P.COMPONENTS),
    "extra": lambda r, tech: pick(r, P.EXTRAS),
    "n": lambda r, tech: 3 + int(r.random() * 7),
    "m": lambda r, tech: 5 + int(r.random() * 26),
    "pct": lambda r, tech: 10 + 5 * int(r.random() * 17),
    "money": lambda r, tech: f"{(5 + int(r.random() * 96)) * 100:,}",
    "weeks": lambda r, tech: 2 + int(r.random() * 9),
    "day": lambda r, tech: 1 + int(r.random() * 28),
    "hours": lambda r, tech: 2 + int(r.random() * 9),
    "month": lambda r, tech: pick(r, P.MONTHS),
    "weekday": lambda r, tech: pick(r, P.WEEKDAYS),
    "city": lambda r, tech: pick(r, P.CITIES),
    "name": lambda r, tech: pick(r, P.NAMES),
    "tool": lambda r, tech: pick(r, P.TOOLS),
    "field": lambda r, tech: pick(r, P.FIELDS),
}


class Values(dict[str, object]):
    """Everything a template may ask for: names fixed by the chat, and numbers and names
    drawn from ``r`` the first time a template asks for them (most ask for a few)."""

    __slots__ = ("r", "tech")

    def __init__(self, r: Source, tech: bool, fixed: dict[str, object]) -> None:
        super().__init__(fixed)
        self.r, self.tech = r, tech

    def __missing__(self, key: str) -> object:
        value = self[key] = _DRAW[key](self.r, self.tech)
        return value


@functools.lru_cache(maxsize=4096)
def _fixed_names(thing: str, user: str, assistant: str) -> dict[str, object]:
    slug = "_".join(re.sub(r"[^a-z0-9]+", " ", thing.lower()).split()[:3]) or "task"
    return {"thing": thing, "user": user, "assistant": assistant, "a_user": with_article(user),
            "a_assistant": with_article(assistant), "slug": slug}


def template_values(r: Source, thing: str, user: str, assistant: str, component: str = "",
                    tech: bool = False) -> Values:
    """The values of one answer's templates."""
    values = Values(r, tech, _fixed_names(thing, user, assistant))
    if component:
        values["component"] = component
    return values
