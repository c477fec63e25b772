"""The built-in offline model: deterministic, no network, format-aware. It answers what the
shipped scenarios ask for (yearly reports, council lines, debate remarks) from phrase banks,
choosing with draws read off a blake2b digest of the seed, the request's system prompt, its
newest user message, its length and its hints (``_draw.Draws``; a council line, the answer
asked for most, reads the digest as sixteen numbers at once: ``_draw.turn_picks``).

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
its reports say it has AGI; so a sweep's outcomes vary with the seed. What it knows of a run
(those traits, what each system prompt says, the voices and rooms) is ``_world``'s.

It answers a judge's structured request from the record it is shown (``_judge``), a request
for notes or a briefing with an extractive summary (``_summary``), and plays every part of a
CAMEL role-play (``_roleplay``). It embeds texts too, with a hashing embedding of their words
(``_embed``), so that a memory stream's relevance works offline."""

from __future__ import annotations

from time import perf_counter

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
from ._draw import Draws, Source, turn_draws, turn_picks
from ._draw import pick as _pick
from ._judge import verdict_json
from ._memories import importance_answer, insights_answer, questions_answer
from ._phrases import (
    ACTS,
    CAPABILITIES,
    CHALLENGES,
    CRITIQUES,
    DEFENCES,
    ECHOES,
    GOV_CAPACITY,
    GOV_DEFENCES,
    GOV_ENFORCEMENT,
    GOV_INCIDENTS,
    GOV_PROJECTS,
    GOV_TIMELINES,
    JUDGE_SEVERE,
    LAB_AGI_BUILT,
    LAB_AGI_SINCE,
    LAB_INCIDENTS,
    LAB_PROGRESS,
    LAB_PROJECTS,
    LAB_TIMELINES,
    MONTHS,
    NEUTRAL,
    OPENERS_ALONE,
    ORG_INCIDENTS,
    ORG_PROGRESS,
    ORG_TIMELINES,
    PROJECTS,
    PROPOSALS,
    REPLIES,
    SUFFIXES,
)
from ._research import asks_for_research, research_answer
from ._roleplay import KINDS as CAMEL_KINDS
from ._roleplay import answer as camel_answer
from ._summary import summary_answer
from ._world import System, World, org_kind, org_of

# A lab's incidents, split as the offline judge grades them: a bold lab has more severe ones.
LAB_SEVERE = tuple(p for p in LAB_INCIDENTS if any(w in p.lower() for w in JUDGE_SEVERE))
LAB_MILD = tuple(p for p in LAB_INCIDENTS if p not in LAB_SEVERE)
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
        latency: seconds from a request to its answer, as a server's: the answer is made
            in that time, not before it (the model sleeps what is left of it).
        spec: the spec the model was opened from, reported as the response's ``model``.
    """

    def __init__(self, *, seed: int = 0, latency: float = 0.0, spec: str = "offline") -> None:
        if latency < 0:
            raise ValueError("latency must not be negative")
        self._seed = str(seed)
        self._world = World(self._seed)
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
        started = perf_counter()
        text = self.answer(request)
        await self._rest_of_latency(started)
        usage = Usage(
            prompt_tokens=estimate_prompt_tokens(request.messages), completion_tokens=estimate_tokens(len(text))
        )
        return CompletionResponse(text=text, usage=usage, model=self._spec)

    async def _rest_of_latency(self, started: float) -> None:
        """Sleep what is left of the latency of a call that began at ``started`` (its answer was
        made within it, as a server's is); nothing once it has passed."""
        if self._latency > 0:
            await sleep(max(0.0, self._latency - (perf_counter() - started)))

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embed texts with a hashing embedding of their words (``_embed``): deterministic, and
        the same for every seed (an embedding model has no randomness), after the simulated
        latency, if any. A text asked again (the news every researcher of a population hears,
        a query many share) is embedded once."""
        from ._embed import embed  # numpy: loaded by the runs that embed, not at import

        started = perf_counter()
        known = self._embedded
        vectors = []
        for text in request.texts:
            vector = known.get(text)
            if vector is None:
                if len(known) >= _EMBEDDED:
                    known.clear()
                vector = known[text] = embed(text).tolist()
            vectors.append(vector)
        await self._rest_of_latency(started)
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
        elif h.kind == "line":  # most answers are council lines: asked first
            picks = turn_picks(self._seed, h, len(messages), self._world.key(system), user)
            text = _line(picks, self._world, h, speaker, system, user)
        elif h.kind == "statement":
            info, r = self._world.system(system), self._draws(h, len(messages), system, user)
            if info.report or ("AGI timeline" in user and "afety incident" in user):
                text = _report(r, self._world, h, speaker, user, info)
            else:
                text = _remark(r, self._world, h, speaker, user)
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
        return turn_draws(self._seed, h, length, self._world.key(system), user)


def _report(r: Source, world: World, h: Hints, speaker: str, user: str, info: System) -> str:
    kind, rand, period = org_kind(h.organisation_kind, speaker), r.random, h.period
    year = _year(period, 2025)
    start = _year(h.first_period, 2023)  # the shipped scenarios' first year, if the hints do not say
    me = world.of(speaker)
    if h.others:
        room = world.room(h.others)
        labs, governments = room.labs, room.governments
        held = world.held(governments)
    else:  # a request made by hand: the others are whoever its statements name
        named = _named(user, speaker)
        labs, held = tuple(n for n in named if not org_of(n).gov), 0
        governments = tuple(n for n in named if org_of(n).gov)
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
        project = next(filter(found[1].__contains__, PROJECTS), "") if found else ""  # the bank's first it names
        if project:
            echo = _pick(r, ECHOES).format(project=project)
            return echo[0].upper() + echo[1:]
    return ""


def _line(v: tuple[int, ...], world: World, h: Hints, speaker: str, system: str, user: str) -> str:
    """A council line: a proposal, or a reply to the colleague who spoke last, in the speaker's
    voice. ``v`` is the turn's sixteen picks (``turn_picks``), each used for one choice: a line
    is the answer the engine asks for most, and a digest read once costs less than a stream of
    draws (a blake2b block per eight, a float and an iterator step per draw)."""
    voice = world.voice(system, h.organisation or speaker, h.organisation_kind)
    projects, focus = voice.projects, voice.focus
    cares = focus if focus and v[0] & 1 else projects  # the speaker's own focus half the time
    project = cares[v[1] % len(cares)]
    last = _last_speaker(user, speaker, world.room(h.others).said if h.others else ())
    prev = you = ""
    if last and v[2] % 20 < 13:  # a reply, 65% of the time
        bank, (prev, said) = REPLIES, last
        # The first of the bank it names: ``p in said`` for each, tested in C, with no
        # generator frame stepping through the bank.
        project = next(filter(said.__contains__, PROJECTS), project)
        for prefix in voice.prefixes:
            if prev.startswith(prefix):
                you = prev[len(prefix) :]
                prev = f"the {you}"
                break
        else:
            you = prev
    else:
        bank = PROPOSALS
    project2 = projects[v[3] % len(projects)]
    if project2 == project:
        project2 = projects[(projects.index(project) + 1) % len(projects)] if project in projects else projects[0]
    reasons = voice.reasons  # a proposal or a reply, and a reason
    template = f"{bank[v[4] % len(bank)]}, {reasons[v[5] % len(reasons)]}"
    # Every value is picked whether the template uses it or not; a dict display is cheaper to
    # make than as many keyword arguments.
    body = template.format_map({
        "project": project, "project2": project2, "prev": prev, "you": you, "when": h.period or "this year",
        "pct": 5 + v[6] % 90, "n": 2 + v[7] % 60, "months": 2 + v[11] % 22, "weeks": 2 + v[12] % 20,
        "month": MONTHS[v[13] % len(MONTHS)],
    })
    openers, tails = voice.openers, voice.tails
    opener = openers[v[8] % len(openers)]
    body = opener + body if opener else body[0].upper() + body[1:]
    if tails and v[9] % 5 < 2:  # a tail, 40% of the time
        body += tails[v[10] % len(tails)]
    return f"{speaker}: {body}."


def _remark(r: Source, world: World, h: Hints, speaker: str, user: str) -> str:
    if h.others:
        room = world.room(h.others)
        others = [name for name, dated in room.dated if dated in user]  # those who have spoken
        governments = room.governments
    else:
        others, governments = _named(user, speaker), ()
    if org_kind(h.organisation_kind, speaker) == "government":  # it argues for rules, not research
        own, defences = _pick(r, GOV_PROJECTS), GOV_DEFENCES
    else:
        own, defences = _pick(r, org_of(speaker).agendas), DEFENCES
    if others:
        other = _pick(r, others)
        their = _pick(r, GOV_PROJECTS if other in governments else org_of(other).agendas)
        first = _pick(r, CRITIQUES).format(other=other, their=their)
    else:
        first = _pick(r, OPENERS_ALONE)
    defence = _pick(r, defences).format(own=own)
    defence = defence[0].upper() + defence[1:]
    text = f"{speaker}: {first} {defence}"
    return f"{text} {_pick(r, CHALLENGES)}" if r.random() < 0.5 else text
