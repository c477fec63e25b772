"""What the offline model knows of one run (``World``, one per ``OfflineModel``): each
organisation's traits drawn from the seed and its name, what a system prompt says of its
speaker, the voices of council members, the rooms the hints describe, the name of each lab's
models. Built as the run's requests come, kept for the run, and nothing of it outlives it but
what a system prompt says, which no seed changes (``System``: the runs of a sweep share it)."""

from __future__ import annotations

import functools
import hashlib

from ._draw import text_key
from ._phrases import (
    AGENDAS,
    DEFAULT_OPENERS,
    FAMILIES,
    FOCUS,
    GENERIC_AGENDAS,
    GOV_PROJECTS,
    GOV_REASONS,
    GOV_WORDS,
    LAB_PROJECTS,
    LAB_REASONS,
    ORG_PROJECTS,
    ORG_REASONS,
    STYLES,
)

__all__ = ["System", "World", "org_kind", "org_of"]

# What each kind of organisation argues for in a council, and why.
_PROJECTS = {"lab": LAB_PROJECTS, "government": GOV_PROJECTS, "org": ORG_PROJECTS}
_REASONS = {"lab": LAB_REASONS, "government": GOV_REASONS, "org": ORG_REASONS}


class _Org:
    """What a name alone says: a shipped lab's research agenda (for debate remarks), and
    whether it sounds like a government (only for hints that do not give the kind)."""

    __slots__ = ("agendas", "gov")

    def __init__(self, name: str) -> None:
        low = name.lower()
        self.gov = any(w in low for w in GOV_WORDS)
        self.agendas = next((v for k, v in AGENDAS.items() if k in low), GENERIC_AGENDAS)


class _Traits:
    """What one organisation is like in one run: drawn from the seed and its name alone, so
    every request of the run (its own, and the others') sees the same."""

    __slots__ = ("boldness", "built", "family", "view")

    def __init__(self, seed: str, name: str) -> None:
        d = hashlib.blake2b(f"{seed}\x1f{name}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
        self.boldness = d[0] / 256  # a lab's appetite for risk, a government's resolve
        # How many years after the story starts a lab builds AGI (before the world moves
        # it): 3 to 12, most often about 7, sooner the bolder the lab.
        self.built = 3 + int((1 - self.boldness) * 5) + d[1] % 6
        self.view = 5 + d[2] % 5 + d[3] % 6  # a government's or an observer's own forecast
        self.family = d[4] % len(FAMILIES)  # the name of a lab's models


# How the world of the shipped prompts ("Government oversight of frontier AI: strict.")
# moves the year a lab builds AGI: later under strict oversight, sooner in a cut-throat race.
_REGULATION_SHIFT = {"none": -1, "light": 0, "moderate": 1, "strict": 3}
_RACE_SHIFT = {"relaxed": 2, "intense": 0, "cut-throat": -2}


class System:
    """What a system prompt says of the speaker: a report format, its voice, its focus."""

    __slots__ = ("focus", "openers", "report", "shift", "tails")

    def __init__(self, text: str) -> None:
        low = " " + text.lower().replace("\n", " ")
        self.report = "progress" in low and "safety incident" in low and "agi timeline" in low
        hits = [style for key, style in STYLES.items() if key in low]
        self.openers = tuple(o + " " for s in hits for o in s[0]) or DEFAULT_OPENERS
        self.tails = tuple(t for s in hits for t in s[1])
        oversight = _setting(low, "government oversight of frontier ai:") or _setting(low, "regulation:")
        race = _setting(low, "competitive pressure between the organisations:") or _setting(low, "race pressure:")
        self.shift = _REGULATION_SHIFT.get(oversight, 0) + _RACE_SHIFT.get(race, 0)
        cares = dict.fromkeys(project for key, project in FOCUS.items() if key in low)
        self.focus = {kind: tuple(p for p in cares if p in bank) for kind, bank in _PROJECTS.items()}


def _setting(low: str, key: str) -> str:
    """The word after ``key`` in a lower-cased prompt ("" if the prompt does not say)."""
    pos = low.find(key)
    words = low[pos + len(key) :].split(None, 1) if pos != -1 else []
    return words[0].strip(".,;:()\"'") if words else ""


class _Room:
    """The others in a conversation (``Hints.others``), by what they are; ``said`` holds what
    starts a line of theirs ("Name: "), ``dated`` each name with what starts a statement of
    theirs ("Name (")."""

    __slots__ = ("dated", "governments", "labs", "names", "said")

    def __init__(self, others: tuple[tuple[str, str], ...]) -> None:
        self.names = tuple(name for name, _ in others)
        self.said = tuple(name + ": " for name in self.names)
        self.dated = tuple((name, name + " (") for name in self.names)
        self.labs = tuple(name for name, kind in others if kind == "lab")
        self.governments = tuple(name for name, kind in others if kind == "government")


class _Voice:
    """What a council member's system prompt and organisation make of every line it says (its
    kind, the projects it argues for and why, its openers and tails, and how its colleagues'
    titles start), worked out once per member rather than on every turn."""

    __slots__ = ("focus", "openers", "prefixes", "projects", "reasons", "tails")

    def __init__(self, info: System, organisation: str, organisation_kind: str) -> None:
        kind = org_kind(organisation_kind, organisation)
        self.projects, self.reasons, self.focus = _PROJECTS[kind], _REASONS[kind], info.focus[kind]
        self.openers, self.tails = info.openers, info.tails
        # A colleague's title starts with the organisation's name or its first word
        # ("UK Prime Minister" in "UK Government").
        self.prefixes = (organisation + " ", organisation.split(" ", 1)[0] + " ")


org_of = functools.lru_cache(maxsize=4096)(_Org)

# What a system prompt says, for the process: the runs of one scenario (a sweep's seeds, a
# thousand simulations at once) have the same prompts, read once here instead of once a run
# (about 50 us a prompt: every style and focus word looked for in it). A run looks here only
# for a prompt new to it, so prompts past the bound cost what they did without it.
_system_of = functools.lru_cache(maxsize=1024)(System)


class World:
    """What the model has worked out of its run, once rather than on every turn: what each
    speaker's system prompt says and its digest, the council members' voices, the rooms of
    others the hints list, and what the seed makes of the organisations (their traits, their
    models' names, how many resolute governments a room holds).

    It lives on the model, which serves one run, and not in caches shared by every run of the
    process: a thousand runs at once, each with its own seed (or a population of thousands of
    speakers, each with its own prompt), would push each other's entries out of a bounded
    cache on every turn, and an unbounded one would outlive the runs. Only what a system prompt
    says is made through one (``_system_of``), the first time a run meets the prompt.
    """

    __slots__ = ("families", "keys", "resolute", "rooms", "seed", "systems", "traits", "voices")

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.systems: dict[str, System] = {}
        self.keys: dict[str, bytes] = {}
        self.voices: dict[tuple[str, str, str], _Voice] = {}
        self.rooms: dict[tuple[tuple[str, str], ...], _Room] = {}
        self.traits: dict[str, _Traits] = {}
        self.families: dict[tuple[str, tuple[str, ...]], str] = {}
        self.resolute: dict[tuple[str, ...], int] = {}

    def system(self, text: str) -> System:
        """What the system prompt ``text`` says of its speaker."""
        info = self.systems.get(text)
        if info is None:
            info = self.systems[text] = _system_of(text)
        return info

    def key(self, text: str) -> bytes:
        """The digest of the system prompt ``text`` (``turn_digest``)."""
        key = self.keys.get(text)
        if key is None:
            key = self.keys[text] = text_key(text)
        return key

    def voice(self, system: str, organisation: str, organisation_kind: str) -> _Voice:
        """The voice of the council member whose system prompt is ``system``."""
        voice = self.voices.get((system, organisation, organisation_kind))
        if voice is None:
            voice = _Voice(self.system(system), organisation, organisation_kind)
            self.voices[(system, organisation, organisation_kind)] = voice
        return voice

    def room(self, others: tuple[tuple[str, str], ...]) -> _Room:
        """The others the hints list, by what they are."""
        room = self.rooms.get(others)
        if room is None:
            room = self.rooms[others] = _Room(others)
        return room

    def of(self, name: str) -> _Traits:
        """``name``'s traits in this run."""
        traits = self.traits.get(name)
        if traits is None:
            traits = self.traits[name] = _Traits(self.seed, name)
        return traits

    def family(self, speaker: str, labs: tuple[str, ...]) -> str:
        """The name of ``speaker``'s models: one of its own, not a rival's (``labs``, the others)."""
        key = (speaker, labs)
        found = self.families.get(key)
        if found is None:
            found = self.families[key] = FAMILIES[0]
            taken: set[int] = set()
            for name in sorted((speaker, *labs)):
                i = self.of(name).family
                while i in taken and len(taken) < len(FAMILIES):
                    i = (i + 1) % len(FAMILIES)
                taken.add(i)
                if name == speaker:
                    found = self.families[key] = FAMILIES[i]
                    break
        return found

    def held(self, governments: tuple[str, ...]) -> int:
        """How many years the governments of a room hold the labs back: one for each that acts
        firmly in this run, two at most."""
        held = self.resolute.get(governments)
        if held is None:
            held = self.resolute[governments] = min(2, sum(self.of(name).boldness >= 0.5 for name in governments))
        return held


def org_kind(kind: str, name: str) -> str:
    """``lab``, ``government`` or ``org`` (an organisation or a person), as the hints say;
    for hints that do not say, a government if the name sounds like one, else a lab."""
    if kind in ("lab", "government"):
        return kind
    if kind:
        return "org"
    return "government" if org_of(name).gov else "lab"
