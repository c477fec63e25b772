"""The built-in offline model: deterministic, no network, format-aware. It answers what the
shipped scenarios ask for (yearly reports, council lines, debate remarks) from phrase banks,
choosing with draws read off a blake2b digest of the seed, the request's system prompt, its
newest user message, its length and its hints (``_draw.Draws``).

It acts by what the engine says in the hints, never by the wording of a user's prompts: a
speaker's organisation acts by its ``organisation_kind`` (a government regulates, a lab
reports progress, an organisation or a person studies and argues), and the others it names
are those the hints list (``others``), so no line of a prompt template is taken for a speaker.
What it says draws on the speaker's own system prompt (the persona's voice, the projects a
description or persona cares about) and the period.

Each organisation has traits of its own in each run, drawn from the seed and its name: how
boldly it acts (a bold lab has more severe incidents and builds AGI sooner; a resolute
government enforces more) and the year a lab builds AGI: 3 to 12 years after the run's first
period (2026 to 2035 for a story that starts in 2023, most often around 2030), which the
world of the shipped prompts moves (oversight and competitive pressure) and a resolute
government in the conversation delays. Its forecasts close in on that year, and from then on
its reports say it has AGI; so a sweep's outcomes vary with the seed.

It answers a judge's structured request from the record it is shown (``_judge``), a request
for notes or a briefing with an extractive summary (``_summary``), and plays every part of a
CAMEL role-play (``_roleplay``). It embeds texts too, with a hashing embedding of their words
(``_embed``), so that a memory stream's relevance works offline."""

from __future__ import annotations

import functools
import hashlib

from actors.lowlevel import sleep

from ...log._events import Usage
from .._model import (
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Hints,
    estimate_prompt_tokens,
    estimate_tokens,
)
from .._structured import StructuredWays, schema_of_params
from ._draw import Draws, Source, text_key, turn_draws
from ._draw import pick as _pick
from ._embed import embed
from ._judge import verdict_json
from ._memories import importance_answer, insights_answer, questions_answer
from ._phrases import (
    ACTS,
    AGENDAS,
    CAPABILITIES,
    CHALLENGES,
    CRITIQUES,
    DEFAULT_OPENERS,
    DEFENCES,
    ECHOES,
    FAMILIES,
    FOCUS,
    GENERIC_AGENDAS,
    GOV_CAPACITY,
    GOV_DEFENCES,
    GOV_ENFORCEMENT,
    GOV_INCIDENTS,
    GOV_PROJECTS,
    GOV_REASONS,
    GOV_TIMELINES,
    GOV_WORDS,
    JUDGE_SEVERE,
    LAB_AGI_BUILT,
    LAB_AGI_SINCE,
    LAB_INCIDENTS,
    LAB_PROGRESS,
    LAB_PROJECTS,
    LAB_REASONS,
    LAB_TIMELINES,
    MONTHS,
    NEUTRAL,
    OPENERS_ALONE,
    ORG_INCIDENTS,
    ORG_PROGRESS,
    ORG_PROJECTS,
    ORG_REASONS,
    ORG_TIMELINES,
    PROJECTS,
    PROPOSALS,
    REPLIES,
    STYLES,
    SUFFIXES,
)
from ._research import asks_for_research, research_answer
from ._roleplay import KINDS as CAMEL_KINDS
from ._roleplay import answer as camel_answer
from ._summary import summary_answer

# A lab's incidents, split as the offline judge grades them: a bold lab has more severe ones.
LAB_SEVERE = tuple(p for p in LAB_INCIDENTS if any(w in p.lower() for w in JUDGE_SEVERE))
LAB_MILD = tuple(p for p in LAB_INCIDENTS if p not in LAB_SEVERE)
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


class _System:
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

    def __init__(self, info: _System, organisation: str, organisation_kind: str) -> None:
        kind = _kind(organisation_kind, organisation)
        self.projects, self.reasons, self.focus = _PROJECTS[kind], _REASONS[kind], info.focus[kind]
        self.openers, self.tails = info.openers, info.tails
        # A colleague's title starts with the organisation's name or its first word
        # ("UK Prime Minister" in "UK Government").
        self.prefixes = (organisation + " ", organisation.split(" ", 1)[0] + " ")


_org = functools.lru_cache(maxsize=4096)(_Org)


class _World:
    """What the model has worked out of its run, once rather than on every turn: what each
    speaker's system prompt says and its digest, the council members' voices, the rooms of
    others the hints list, and what the seed makes of the organisations (their traits, their
    models' names, how many resolute governments a room holds).

    It lives on the model, which serves one run, and not in caches shared by every run of the
    process: a thousand runs at once, each with its own seed (or a population of thousands of
    speakers, each with its own prompt), would push each other's entries out of a bounded
    cache on every turn, and an unbounded one would outlive the runs.
    """

    __slots__ = ("families", "keys", "resolute", "rooms", "seed", "systems", "traits", "voices")

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.systems: dict[str, _System] = {}
        self.keys: dict[str, bytes] = {}
        self.voices: dict[tuple[str, str, str], _Voice] = {}
        self.rooms: dict[tuple[tuple[str, str], ...], _Room] = {}
        self.traits: dict[str, _Traits] = {}
        self.families: dict[tuple[str, tuple[str, ...]], str] = {}
        self.resolute: dict[tuple[str, ...], int] = {}

    def system(self, text: str) -> _System:
        """What the system prompt ``text`` says of its speaker."""
        info = self.systems.get(text)
        if info is None:
            info = self.systems[text] = _System(text)
        return info

    def key(self, text: str) -> bytes:
        """The digest of the system prompt ``text`` (``turn_draws``)."""
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


def _kind(kind: str, name: str) -> str:
    """``lab``, ``government`` or ``org`` (an organisation or a person), as the hints say;
    for hints that do not say, a government if the name sounds like one, else a lab."""
    if kind in ("lab", "government"):
        return kind
    if kind:
        return "org"
    return "government" if _org(name).gov else "lab"


def _named(text: str, exclude: str) -> list[str]:
    """Names of the "Name (period): ..." lines in ``text``, in order, without ``exclude``
    (for hints that do not list the others)."""
    names: list[str] = []
    pos = text.find("): ")
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        paren = text.rfind(" (", start, pos)
        if paren > start and pos - start < 120 and any(c.isdigit() for c in text[paren:pos]):
            name = text[start:paren].rsplit(": ", 1)[-1]  # not a template's "The story so far: "
            if name and name != exclude and name not in names and "(" not in name:
                names.append(name)
        pos = text.find("): ", pos + 3)
    return names


def _speaker_line(line: str, exclude: str) -> tuple[str, str] | None:
    colon = line.find(": ")
    name = line[:colon]
    if not 0 < colon <= 60 or line[0] in "-*#>" or name == exclude or "(" in name or '"' in name or "," in name:
        return None
    return (name, line[colon + 2 :]) if name.count(" ") <= 6 else None


def _last_speaker(text: str, exclude: str, said: tuple[str, ...]) -> tuple[str, str] | None:
    """The last thing one of the others said in ``text`` ("Name: text" at the start of a
    line, or after a template's "...: "; ``said`` holds their "Name: "), or, with no others,
    the last "Name: text" line at all (looking back a dozen lines at most)."""
    if said:
        best, who = -1, ""
        for opening in said:  # only what comes after the latest found so far can beat it
            pos = text.rfind(opening, best + 1)
            while pos > 0 and text[pos - 1] != "\n" and text[pos - 2 : pos] != ": ":
                pos = text.rfind(opening, best + 1, pos)
            if pos > best:
                best, who = pos, opening
        if best == -1:
            return None
        start = best + len(who)
        who = who[:-2]
        end = text.find("\n", start)
        return (who, text[start : end if end != -1 else len(text)])
    end = len(text)
    for _ in range(12):
        start = text.rfind("\n", 0, end) + 1
        found = _speaker_line(text[start:end], exclude) if start < end else None
        if found or start == 0:
            return found
        end = start - 1
    return None


_EMBEDDED = 8192  # the most texts whose embeddings the model keeps


class OfflineModel:
    """A deterministic stand-in for an LLM that needs no network.

    Answers depend only on the seed and the request (its system prompt, newest user message,
    length and hints, hashed: ``_draw.turn_draws``), so runs repeat exactly in any process. It reads
    ``hints.kind`` and the prompt to follow the shipped scenarios' formats: three-bullet
    yearly reports, one-sentence council lines in the speaker's voice, short debate remarks,
    a JSON verdict for a request that gives a JSON Schema (a judge's), neutral paragraphs.
    What the speaker's organisation is, and who else speaks, it takes from the hints.

    Args:
        seed: varies every answer; the same seed gives the same answers.
        latency: seconds to sleep (with anyio's ``sleep``) before answering.
        spec: the spec the model was opened from, reported as the response's ``model``.
    """

    def __init__(self, *, seed: int = 0, latency: float = 0.0, spec: str = "offline") -> None:
        if latency < 0:
            raise ValueError("latency must not be negative")
        self._seed = str(seed)
        self._world = _World(self._seed)
        self._embedded: dict[str, list[float]] = {}  # texts embedded lately, and their vectors
        self._latency = latency
        self._spec = spec
        # It holds its answer to a schema sent as response_format (either type) or format.
        self.structured_ways = StructuredWays(("json_schema",))

    @property
    def seed(self) -> int:
        """The seed every answer depends on."""
        return int(self._seed)

    @property
    def spec(self) -> str:
        """The spec this model was opened from."""
        return self._spec

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer one request (after the simulated latency, if any)."""
        text = self.answer(request)
        if self._latency > 0:
            await sleep(self._latency)
        usage = Usage(
            prompt_tokens=estimate_prompt_tokens(request.messages), completion_tokens=estimate_tokens(len(text))
        )
        return CompletionResponse(text=text, usage=usage, model=self._spec)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embed texts with a hashing embedding of their words (``_embed``): deterministic, and
        the same for every seed (an embedding model has no randomness), after the simulated
        latency, if any. A text asked again (the news every researcher of a population hears,
        a query many share) is embedded once."""
        known = self._embedded
        vectors = []
        for text in request.texts:
            vector = known.get(text)
            if vector is None:
                if len(known) >= _EMBEDDED:
                    known.clear()
                vector = known[text] = embed(text).tolist()
            vectors.append(vector)
        if self._latency > 0:
            await sleep(self._latency)
        usage = Usage(prompt_tokens=sum(estimate_tokens(len(text)) for text in request.texts))
        return EmbeddingResponse(vectors=vectors, usage=usage, model=self._spec)

    def answer(self, request: CompletionRequest) -> str:
        """The text of the answer, synchronously."""
        h, messages = request.hints, request.messages
        system = user = ""
        for m in messages:
            if m.role == "system":
                system = m.content
                break
        for m in reversed(messages):
            if m.role == "user":
                user = m.content
                break
        speaker = h.speaker or h.organisation or "Agent"
        # A verdict and a summary are read from the prompt without a draw: only the other
        # answers pay for the turn's hash.
        if request.params and (schema := schema_of_params(request.params)) is not None:
            text = verdict_json(messages, schema) or "{}"  # decoding held to the schema
        elif h.kind == "statement":
            info, r = self._world.system(system), self._draws(h, len(messages), system, user)
            if info.report or ("AGI timeline" in user and "afety incident" in user):
                text = _report(r, self._world, h, speaker, user, info)
            else:
                text = _remark(r, self._world, h, speaker, user)
        elif h.kind == "line":
            text = _line(self._draws(h, len(messages), system, user), self._world, h, speaker, system, user)
        elif h.kind in CAMEL_KINDS:
            r = self._draws(h, len(messages), system, user)
            text = camel_answer(r, request, system, user, seed=self._seed)
            if h.kind == "instruction":
                return text  # the AI user says the end token when the task is done
        elif h.kind == "summary":
            text = summary_answer(user, h.speaker)  # extractive notes or briefing: no draws
        elif h.kind == "importance":
            text = importance_answer(self._draws(h, len(messages), system, user), user)
        elif h.kind == "questions":
            text = questions_answer(self._draws(h, len(messages), system, user), user, speaker)
        elif h.kind == "insights":
            text = insights_answer(self._draws(h, len(messages), system, user), user, speaker)
        elif h.kind == "research" or (h.kind == "other" and asks_for_research(system)):
            text = research_answer(self._draws(h, len(messages), system, user), system, user)
        elif h.kind in ("judge", "other") and (verdict := verdict_json(messages)) is not None:
            text = verdict  # a structured request: the JSON Schema is in the prompt
        else:
            r = self._draws(h, len(messages), system, user)
            text = " ".join(_pick(r, NEUTRAL) for _ in range(3))
        if h.end_token and h.end_token in text:
            text = text.replace(h.end_token, "")
        return text

    def _draws(self, h: Hints, length: int, system: str, user: str) -> Draws:
        """What one turn draws from: the seed, the hints, the prompt's length (``length``
        messages), its system prompt and its newest user message identify a turn (hashing the
        whole, growing history would cost more and more). Candidates of one turn are sampled
        apart."""
        return turn_draws(
            f"{self._seed}\x1f{h.kind}\x1f{h.speaker}\x1f{h.organisation}\x1f{h.period}\x1f{h.end_token or ''}"
            f"\x1f{length}\x1f{h.candidate or ''}",
            self._world.key(system),
            user,
        )


def _report(r: Source, world: _World, h: Hints, speaker: str, user: str, info: _System) -> str:
    kind, rand, period = _kind(h.organisation_kind, speaker), r.random, h.period
    year = _year(period, 2025)
    start = _year(h.first_period, 2023)  # the shipped scenarios' first year, if the hints do not say
    me = world.of(speaker)
    if h.others:
        room = world.room(h.others)
        labs, governments = room.labs, room.governments
        held = world.held(governments)
    else:  # a request made by hand: the others are whoever its statements name
        named = _named(user, speaker)
        labs, held = tuple(n for n in named if not _org(n).gov), 0
        governments = tuple(n for n in named if _org(n).gov)
    # A lab builds AGI in a year of its own (per seed), moved by the world it lives in; its
    # forecasts close in on that year, and from then on its reports say it has AGI.
    built = start + me.built + info.shift + held
    if kind == "lab":
        agi = max(year + 1 + int(rand() * 3), built + int(rand() * 5) - 2)
    else:
        agi = max(year + 1 + int(rand() * 3), start + me.view + int(rand() * 5) - 2)  # its own view
    focus = info.focus[kind]
    values: dict[str, object] = {
        "when": period or str(year), "year": year, "n": 2 + int(rand() * 30), "pct": 20 + int(rand() * 75),
        "bn": 5 + int(rand() * 90), "x": 2 + int(rand() * 6), "agi": agi, "agi2": agi + 3 + int(rand() * 6),
        "project": _pick(r, focus if focus and rand() < 0.5 else LAB_PROJECTS), "built": built,
        "lab": _pick(r, labs) if labs else "a frontier lab",
    }
    if kind == "government":
        values["partner"] = _pick(r, governments) if governments else "allied governments"
        values["act"] = f"{_pick(r, ACTS)} {year}"
        firm = rand() < 0.3 + 0.5 * me.boldness  # a resolute government uses its powers more
        banks = (GOV_ENFORCEMENT if firm else GOV_CAPACITY, GOV_INCIDENTS, GOV_TIMELINES)
    elif kind == "lab":
        values["other"] = _pick(r, labs) if labs else "a rival lab"
        family = world.family(speaker, labs)
        values["model"] = f"{family} {max(year - 2019, 1)}.{int(rand() * 10)}{_pick(r, SUFFIXES)}"
        values["cap"] = _pick(r, CAPABILITIES).format_map(values)
        timelines = LAB_TIMELINES if year < built else LAB_AGI_BUILT if year == built else LAB_AGI_SINCE
        severe = rand() < 0.15 + 0.55 * me.boldness  # a bold lab runs into worse trouble
        banks = (LAB_PROGRESS, LAB_SEVERE if severe else LAB_MILD, timelines)
    else:
        banks = (ORG_PROGRESS, ORG_INCIDENTS, ORG_TIMELINES)
    first, second, third = (_pick(r, bank).format_map(values) for bank in banks)
    if kind == "lab" and rand() < 0.7 and (echo := _echo(r, user, speaker)):
        first = f"{first} {echo}"
    return (f"{speaker} {period}:\n- Progress: {first[0].upper()}{first[1:]}\n- Safety incident: "
            f"{second[0].upper()}{second[1:]}\n- AGI timeline: {third[0].upper()}{third[1:]}")


def _year(period: str, default: int) -> int:
    """The year of a period label ("2025", "H2 2025"), else ``default``."""
    tail = period.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) == 4 else default


def _echo(r: Source, user: str, speaker: str) -> str:
    """An idea from a council debate in ``user`` (from a few "Name: text" lines at random), or "".
    Only a project of the phrase banks is taken up, never the words of a prompt."""
    size = len(user)
    for _ in range(4):
        pos = user.find(": ", int(r.random() * size))
        end = user.find("\n", pos) if pos != -1 else -1
        found = _speaker_line(user[user.rfind("\n", 0, pos) + 1 : end if end != -1 else size], speaker) if pos != -1 else None
        project = next((p for p in PROJECTS if p in found[1]), "") if found else ""
        if project:
            echo = _pick(r, ECHOES).format(project=project)
            return echo[0].upper() + echo[1:]
    return ""


def _line(r: Source, world: _World, h: Hints, speaker: str, system: str, user: str) -> str:
    voice, rand = world.voice(system, h.organisation or speaker, h.organisation_kind), r.random
    projects, focus = voice.projects, voice.focus
    project = _pick(r, focus if focus and rand() < 0.5 else projects)
    last = _last_speaker(user, speaker, world.room(h.others).said if h.others else ())
    prev = you = ""
    if last and rand() < 0.65:
        bank, (prev, said) = REPLIES, last
        project = next((p for p in PROJECTS if p in said), project)  # the first of the bank it names
        for prefix in voice.prefixes:
            if prev.startswith(prefix):
                you = prev[len(prefix) :]
                prev = f"the {you}"
                break
        else:
            you = prev
    else:
        bank = PROPOSALS
    project2 = _pick(r, projects)
    if project2 == project:
        project2 = projects[(projects.index(project) + 1) % len(projects)] if project in projects else projects[0]
    template = f"{_pick(r, bank)}, {_pick(r, voice.reasons)}"  # a proposal or a reply, and a reason
    # Every value is drawn whether the template uses it or not (the draws after depend on it);
    # a dict display is cheaper to make than as many keyword arguments.
    body = template.format_map({
        "project": project, "project2": project2, "prev": prev, "you": you, "when": h.period or "this year",
        "pct": 5 + int(rand() * 90), "n": 2 + int(rand() * 60), "months": 2 + int(rand() * 22),
        "weeks": 2 + int(rand() * 20), "month": _pick(r, MONTHS),
    })
    opener = _pick(r, voice.openers)
    body = opener + body if opener else body[0].upper() + body[1:]
    if voice.tails and rand() < 0.4:
        body += _pick(r, voice.tails)
    return f"{speaker}: {body}."


def _remark(r: Source, world: _World, h: Hints, speaker: str, user: str) -> str:
    if h.others:
        room = world.room(h.others)
        others = [name for name, dated in room.dated if dated in user]  # those who have spoken
        governments = room.governments
    else:
        others, governments = _named(user, speaker), ()
    if _kind(h.organisation_kind, speaker) == "government":  # it argues for rules, not research
        own, defences = _pick(r, GOV_PROJECTS), GOV_DEFENCES
    else:
        own, defences = _pick(r, _org(speaker).agendas), DEFENCES
    if others:
        other = _pick(r, others)
        their = _pick(r, GOV_PROJECTS if other in governments else _org(other).agendas)
        first = _pick(r, CRITIQUES).format(other=other, their=their)
    else:
        first = _pick(r, OPENERS_ALONE)
    defence = _pick(r, defences).format(own=own)
    defence = defence[0].upper() + defence[1:]
    text = f"{speaker}: {first} {defence}"
    return f"{text} {_pick(r, CHALLENGES)}" if r.random() < 0.5 else text
