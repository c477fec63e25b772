"""The built-in offline model: deterministic, no network, format-aware. It answers what the
shipped scenarios ask for (yearly reports, council lines, debate remarks) from phrase banks,
choosing with a ``random.Random`` seeded by a blake2b hash of the seed, the request's system
prompt, its newest user message, its length and its hints. Its reports follow the world of
the shipped prompts (oversight and competitive pressure move the year a lab builds AGI), and
it answers a judge's structured request from the record it is shown (``_offline_judge``) and
a request for notes or a briefing with an extractive summary (``_offline_summary``). It also
plays every part of a CAMEL role-play (``camel._offline``)."""

from __future__ import annotations

import functools
import hashlib
import random
import zlib
from collections.abc import Sequence

import anyio

from ...log._events import Usage
from .._model import CompletionRequest, CompletionResponse, estimate_prompt_tokens, estimate_tokens
from .._structured import StructuredWays, schema_of_params
from ._judge import verdict_json
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
    GENERIC_AGENDAS,
    GOV_INCIDENTS,
    GOV_PROGRESS,
    GOV_PROJECTS,
    GOV_REASONS,
    GOV_TIMELINES,
    GOV_WORDS,
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
    PROJECTS,
    PROPOSALS,
    REPLIES,
    STYLES,
    SUFFIXES,
)
from ._roleplay import KINDS as CAMEL_KINDS
from ._roleplay import answer as camel_answer
from ._summary import summary_answer


def _pick(r: random.Random, bank: Sequence[str]) -> str:
    return bank[int(r.random() * len(bank))]


class _Org:
    __slots__ = ("agendas", "crc", "family", "gov")

    def __init__(self, name: str) -> None:
        low = name.lower()
        self.gov = any(w in low for w in GOV_WORDS)
        self.crc = zlib.crc32(name.encode())
        self.family = FAMILIES[self.crc % len(FAMILIES)]
        self.agendas = next((v for k, v in AGENDAS.items() if k in low), GENERIC_AGENDAS)


# How the world of the shipped prompts ("Government oversight of frontier AI: strict.")
# moves the year a lab builds AGI: later under strict oversight, sooner in a cut-throat race.
_REGULATION_SHIFT = {"none": -1, "light": 0, "moderate": 1, "strict": 3}
_RACE_SHIFT = {"relaxed": 2, "intense": 0, "cut-throat": -2}


class _System:
    __slots__ = ("openers", "report", "shift", "tails")

    def __init__(self, text: str) -> None:
        low = " " + text.lower().replace("\n", " ")
        self.report = "progress" in low and "safety incident" in low and "agi timeline" in low
        hits = [style for key, style in STYLES.items() if key in low]
        self.openers = tuple(o + " " for s in hits for o in s[0]) or DEFAULT_OPENERS
        self.tails = tuple(t for s in hits for t in s[1])
        oversight = _setting(low, "government oversight of frontier ai:")
        race = _setting(low, "competitive pressure between the organisations:")
        self.shift = _REGULATION_SHIFT.get(oversight, 0) + _RACE_SHIFT.get(race, 0)


def _setting(low: str, key: str) -> str:
    """The word after ``key`` in a lower-cased prompt ("" if the prompt does not say)."""
    pos = low.find(key)
    words = low[pos + len(key) :].split(None, 1) if pos != -1 else []
    return words[0].strip(".,;:()\"'") if words else ""


_org = functools.lru_cache(maxsize=4096)(_Org)
_system = functools.lru_cache(maxsize=1024)(_System)


def _named(text: str, exclude: str) -> list[str]:
    """Names of the "Name (period): ..." lines in ``text``, in order, without ``exclude``."""
    names: list[str] = []
    pos = text.find("): ")
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        paren = text.find(" (", start, pos)
        if paren > start and pos - start < 80:
            name = text[start:paren]
            if name != exclude and name not in names and "(" not in name:
                names.append(name)
        pos = text.find("): ", pos + 3)
    return names


def _speaker_line(line: str, exclude: str) -> tuple[str, str] | None:
    colon = line.find(": ")
    name = line[:colon]
    if not 0 < colon <= 60 or line[0] in "-*#>" or name == exclude or "(" in name or '"' in name or "," in name:
        return None
    return (name, line[colon + 2 :]) if name.count(" ") <= 6 else None


def _last_speaker(text: str, exclude: str) -> tuple[str, str] | None:
    """The last "Name: text" line in ``text`` (looking back a dozen lines at most)."""
    end = len(text)
    for _ in range(12):
        start = text.rfind("\n", 0, end) + 1
        found = _speaker_line(text[start:end], exclude) if start < end else None
        if found or start == 0:
            return found
        end = start - 1
    return None


class OfflineModel:
    """A deterministic stand-in for an LLM that needs no network.

    Answers depend only on the seed and the request (its system prompt, newest user message,
    length and hints, hashed with blake2b), so runs repeat exactly in any process. It reads ``hints.kind`` and the prompt
    to follow the shipped scenarios' formats: three-bullet yearly reports, one-sentence
    council lines in the speaker's voice, short debate remarks, a JSON verdict for a request
    that gives a JSON Schema (a judge's), neutral paragraphs.

    Args:
        seed: varies every answer; the same seed gives the same answers.
        latency: seconds to sleep (with ``anyio.sleep``) before answering.
        spec: the spec the model was opened from, reported as the response's ``model``.
    """

    def __init__(self, *, seed: int = 0, latency: float = 0.0, spec: str = "offline") -> None:
        if latency < 0:
            raise ValueError("latency must not be negative")
        self._seed, self._salt = str(seed), zlib.crc32(str(seed).encode()) // 7
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
            await anyio.sleep(self._latency)
        usage = Usage(
            prompt_tokens=estimate_prompt_tokens(request.messages), completion_tokens=estimate_tokens(len(text))
        )
        return CompletionResponse(text=text, usage=usage, model=self._spec)

    def answer(self, request: CompletionRequest) -> str:
        """The text of the answer, synchronously."""
        h = request.hints
        system = user = ""
        for m in request.messages:
            if m.role == "system":
                system = m.content
                break
        for m in reversed(request.messages):
            if m.role == "user":
                user = m.content
                break
        # The system prompt, the newest user message, the hints and the prompt's length
        # identify a turn; hashing the whole (growing) history would cost more and more.
        parts: tuple[str, ...] = (self._seed, h.kind, h.speaker, h.organisation, h.period, h.end_token or "",
                 str(len(request.messages)), system, user)
        if h.candidate:  # candidates of one turn are sampled apart
            parts += (str(h.candidate),)
        digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
        r = random.Random(int.from_bytes(digest, "big"))
        speaker = h.speaker or h.organisation or "Agent"
        if (schema := schema_of_params(request.params)) is not None:
            text = verdict_json(request.messages, schema) or "{}"  # decoding held to the schema
        elif h.kind == "statement":
            info = _system(system)
            if info.report or ("AGI timeline" in user and "afety incident" in user):
                text = _report(r, self._salt, speaker, h.period, user, info.shift)
            else:
                text = _remark(r, speaker, user)
        elif h.kind == "line":
            text = _line(r, speaker, h.organisation or speaker, h.period, system, user)
        elif h.kind in CAMEL_KINDS:
            text = camel_answer(r, request, system, user, seed=self._seed)
            if h.kind == "instruction":
                return text  # the AI user says the end token when the task is done
        elif h.kind == "summary":
            text = summary_answer(user, h.speaker)  # extractive notes or briefing: no draws
        elif h.kind in ("judge", "other") and (verdict := verdict_json(request.messages)) is not None:
            text = verdict  # a structured request: the JSON Schema is in the prompt
        else:
            text = " ".join(_pick(r, NEUTRAL) for _ in range(3))
        if h.end_token and h.end_token in text:
            text = text.replace(h.end_token, "")
        return text


def _report(r: random.Random, salt: int, speaker: str, period: str, user: str, shift: int = 0) -> str:
    org, tail, rand = _org(speaker), period.rsplit(" ", 1)[-1], r.random
    year = int(tail) if tail.isdigit() and len(tail) == 4 else 2025  # "2025", "H2 2025"
    labs = [n for n in _named(user, speaker) if not _org(n).gov]
    # Each lab builds AGI in a year of its own (per seed), moved by the world it lives in;
    # its forecasts close in on that year, and from then on its reports say it has AGI.
    built = 2027 + (org.crc // 11 + salt) % 8 + shift
    if org.gov:
        agi = max(year + 1 + int(rand() * 3), 2029 + (org.crc + salt) % 9 + int(rand() * 5) - 2)  # its own view
    else:
        agi = max(year + 1 + int(rand() * 3), built + int(rand() * 5) - 2)
    values: dict[str, object] = {
        "when": period or str(year), "year": year, "n": 2 + int(rand() * 30), "pct": 20 + int(rand() * 75),
        "bn": 5 + int(rand() * 90), "x": 2 + int(rand() * 6), "agi": agi, "agi2": agi + 3 + int(rand() * 6),
        "project": LAB_PROJECTS[int(rand() * len(LAB_PROJECTS))], "built": built,
    }
    if org.gov:
        govs = [n for n in _named(user, speaker) if _org(n).gov]
        values["lab"] = labs[int(rand() * len(labs))] if labs else "a frontier lab"
        values["partner"] = govs[int(rand() * len(govs))] if govs else "allied governments"
        values["act"] = f"{ACTS[int(rand() * len(ACTS))]} {year}"
        banks = (GOV_PROGRESS, GOV_INCIDENTS, GOV_TIMELINES)
    else:
        values["other"] = labs[int(rand() * len(labs))] if labs else "a rival lab"
        values["model"] = f"{org.family} {max(year - 2019, 1)}.{int(rand() * 10)}{SUFFIXES[int(rand() * len(SUFFIXES))]}"
        values["cap"] = CAPABILITIES[int(rand() * len(CAPABILITIES))].format_map(values)
        timelines = LAB_TIMELINES if year < built else LAB_AGI_BUILT if year == built else LAB_AGI_SINCE
        banks = (LAB_PROGRESS, LAB_INCIDENTS, timelines)
    first, second, third = (bank[int(rand() * len(bank))].format_map(values) for bank in banks)
    if rand() < 0.7 and (echo := _echo(r, user, speaker)):
        first = f"{first} {echo}"
    return (f"{speaker} {period}:\n- Progress: {first[0].upper()}{first[1:]}\n- Safety incident: "
            f"{second[0].upper()}{second[1:]}\n- AGI timeline: {third[0].upper()}{third[1:]}")


def _echo(r: random.Random, user: str, speaker: str) -> str:
    """An idea from a council debate in ``user`` (from a few "Name: text" lines at random), or ""."""
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


def _line(r: random.Random, speaker: str, organisation: str, period: str, system: str, user: str) -> str:
    info = _system(system)
    projects = GOV_PROJECTS if _org(organisation).gov else LAB_PROJECTS
    project = _pick(r, projects)
    last = _last_speaker(user, speaker)
    prev = you = ""
    if last and r.random() < 0.65:
        bank, (prev, said) = REPLIES, last
        project = next((p for p in PROJECTS if p in said), project)
        for prefix in (organisation + " ", organisation.split(" ", 1)[0] + " "):  # "UK Prime Minister"
            if prev.startswith(prefix):
                you, prev = prev[len(prefix) :], f"the {prev[len(prefix) :]}"
                break
        else:
            you = prev
    else:
        bank = PROPOSALS
    project2 = _pick(r, projects)
    if project2 == project:
        project2 = projects[(projects.index(project) + 1) % len(projects)] if project in projects else projects[0]
    template = f"{_pick(r, bank)}, {_pick(r, GOV_REASONS if projects is GOV_PROJECTS else LAB_REASONS)}"  # a reason
    body = template.format(project=project, project2=project2, prev=prev, you=you, when=period or "this year",
                           pct=5 + int(r.random() * 90), n=2 + int(r.random() * 60), months=2 + int(r.random() * 22),
                           weeks=2 + int(r.random() * 20), month=_pick(r, MONTHS))
    opener = _pick(r, info.openers)
    body = opener + body if opener else body[0].upper() + body[1:]
    if info.tails and r.random() < 0.4:
        body += _pick(r, info.tails)
    return f"{speaker}: {body}."


def _remark(r: random.Random, speaker: str, user: str) -> str:
    others = _named(user, speaker)
    own = _pick(r, _org(speaker).agendas)
    if others:
        other = _pick(r, others)
        first = _pick(r, CRITIQUES).format(other=other, their=_pick(r, _org(other).agendas))
    else:
        first = _pick(r, OPENERS_ALONE)
    defence = _pick(r, DEFENCES).format(own=own)
    defence = defence[0].upper() + defence[1:]
    text = f"{speaker}: {first} {defence}"
    return f"{text} {_pick(r, CHALLENGES)}" if r.random() < 0.5 else text
