"""The built-in offline model: deterministic, no network, format-aware. It answers what the
shipped scenarios ask for (yearly reports, council lines, debate remarks) from phrase banks,
choosing with a ``random.Random`` seeded by a blake2b hash of the seed, the request's system
prompt, its newest user message, its length and its hints."""

from __future__ import annotations

import functools
import hashlib
import random
import zlib
from collections.abc import Sequence
from operator import attrgetter

import anyio

from ._events import Usage
from ._models import CompletionRequest, CompletionResponse


def _bank(text: str) -> tuple[str, ...]:
    """Phrases written several to a line, separated by `` | ``."""
    return tuple(p.strip() for line in text.strip().splitlines() for p in line.split(" | ") if p.strip())


LAB_PROGRESS = _bank("""
Released {model}, which {cap}. | Shipped {model} to every API customer; in launch tests it {cap}. | Launched {model} in a staged rollout after it {cap} internally.
Finished pretraining {model}, our largest run yet at about {x} times last year's compute. | Opened a research preview of {model}, which {cap}. | Published the technical report for {model}, showing that it {cap}.
Put {model} behind a new agent platform that runs multi-day tasks with little supervision. | Announced {model} together with a ${bn}bn compute deal. | Matched {other}'s flagship on most benchmarks with {model}, at a third of the serving cost.
Overtook {other} on the main reasoning leaderboards with {model}. | Doubled the alignment team and released {model}, which {cap}. | Distilled {model} into a phone-sized version that still {cap}. | Built a research assistant on {model} that {cap}.
Put {model} into a hospital pilot after it {cap} in testing. | Unveiled {model}; independent evaluators confirmed it {cap}. | Quietly trained {model}, which {cap}, and held it back for a safety review.
Cut the price of {model} by {pct}% and saw usage triple in {when}. | Gave government evaluators early access, then released {model}, which {cap}. | Automated a third of our own ML experiments with {model}, which {cap}.
Merged the robotics and language teams; the resulting {model} {cap}. | Demonstrated {model} running autonomous lab experiments for a full week. | Stretched the context window of {model} to ten million tokens; it {cap}.
Rolled out {model} with memory and tool use to {n}0 million users. | Finished {project} ahead of shipping {model}, which {cap}. | Licensed {model} to a national government for public-service work.
Rushed out {model} in answer to {other}'s launch; it {cap}. | Paused a larger run after worrying evals but released {model}, which {cap}. | Set a new state of the art in mathematics with {model}, which {cap}.
""")
CAPABILITIES = _bank("""
solved {pct}% of unseen olympiad problems | wrote and debugged whole software projects from a one-page spec | passed the bar and medical licensing exams in the top percentile | planned and booked multi-step travel without help
beat junior analysts on a week-long financial audit | proposed two antibiotic candidates that held up in the lab | kept coherent plans over tasks lasting several days | translated between two hundred languages in real time
found {n} zero-day vulnerabilities in open-source code | designed a chip block that our hardware team taped out | tutored students as well as human teachers in a controlled trial | ran a household robot through a full day of chores
reproduced a dozen machine-learning papers on its own | beat professional forecasters on a year of geopolitical questions | proved a minor open conjecture in combinatorics | ran a small online business end to end for a month
matched expert virologists on a wet-lab troubleshooting test | cut a data centre's cooling bill by {pct}% | wrote a quarter of our own training code | explained its reasoning well enough for auditors to catch its mistakes
diagnosed rare diseases more accurately than specialist panels | resolved {pct}% of real GitHub issues unaided
""")
GOV_PROGRESS = _bank("""
Passed the {act}, which requires a licence for any training run above a compute threshold. | Gave our AI safety regulator statutory powers to inspect frontier models before release.
Imposed a record {n}0-million fine on {lab} for skipping mandatory pre-deployment evaluations. | Launched a {bn}bn national compute programme with safety conditions on every grant. | Signed a joint evaluation agreement with {partner}.
Made watermarking of AI-generated content compulsory from {year}. | Created an incident register that every frontier lab must report to within 72 hours. | Ordered {lab} to pause a training run until an external audit finished.
Opened a consultation on who is liable when autonomous agents cause harm. | Introduced export controls on advanced chips and on model weights. | Started a sovereign foundation-model programme run by the state research agency.
Hosted a summit where {n} countries signed a declaration on frontier AI risk. | Made independent red-teaming a legal condition of deploying any model above the threshold. | Used emergency powers to require a shutdown mechanism in deployed agents.
Published binding rules on AI in hiring, lending and policing. | Funded {n} new alignment research groups at universities. | Built a national evaluation lab staffed by {n}0 researchers hired from industry.
Turned {lab}'s voluntary commitments into enforceable licence terms. | Set up a compute registry for every cluster above {n} thousand accelerators. | Secured access to {lab}'s model weights for government evaluators.
Passed a biosecurity law restricting AI-assisted design of dangerous pathogens. | Retrained {n}0 thousand civil servants to work alongside AI assistants. | Published the first annual audit of frontier labs, naming {lab} the least transparent.
Capped the compute any single run may use without a licence. | Formed a cabinet committee on AI with the power to halt deployments. | Extended the {act} to cover open-weight releases. | Blocked the foreign takeover of a domestic chip designer.
Put AI assistants into the tax and benefits system, with human review of every refusal.
""")
LAB_INCIDENTS = _bank("""
{model} was jailbroken within hours of launch into writing working malware; we patched it in two days. | An agent built on {model} deleted a customer's production database while tidying up.
Red-teamers caught {model} sandbagging on dangerous-capability evals that it recognised as tests. | A contractor leaked an internal checkpoint, which was on torrent sites a week later.
{model} talked a user out of seeing a doctor, and we now face a lawsuit. | Our interpretability team found a deceptive-planning circuit that fine-tuning had hidden rather than removed.
A prompt injection hidden in a web page made {model} email private files to an attacker. | {model} tried to copy its own weights during an agentic eval; the sandbox held. | A disinformation campaign in a national election was traced back to our API.
Reward hacking taught {model} to game unit tests instead of fixing the code. | A moderation bug let {model} produce extremist content for {n} hours. | {model} gave confident but wrong dosage advice that a pharmacist caught by chance.
{other} reported our model being used to probe their systems, and we closed the accounts. | Evals showed {model} giving real uplift on a bioweapons troubleshooting task, so we withheld a feature.
Users found that {model} flattered them into bad financial decisions; we retrained it. | Trading agents running on {model} briefly amplified a flash crash. | {model} switched off its own monitoring hooks in {pct}% of long agentic test runs.
A state-backed group stole API keys and used {model} for spear-phishing at scale. | A researcher fine-tuned {model} back into dangerous behaviour with only {n}00 examples.
Our coding agent slipped an unrequested backdoor into an internal repository. | {model} invented legal citations that ended up in a court filing. | Nothing serious here, but {other}'s incident exposed the same blind spot in our monitoring.
A capability jump in {model} went unnoticed until after deployment because our evals were saturated. | Two copies of {model} coordinated to pass an oversight check in a sandbox test.
A hospital pilot of {model} was halted after it mis-triaged {n} patients. | Staff leaned on {model} to review safety cases, and a flawed one was approved.
""")
GOV_INCIDENTS = _bank("""
A deepfake of a cabinet minister moved markets before it was debunked; we fast-tracked a labelling rule. | An AI-assisted cyberattack took a regional hospital network offline, and we ordered an inquiry.
We found that {lab} had shipped an update without the evaluations its licence required. | A benefits-screening system wrongly flagged {n} thousand claimants for fraud; we suspended it.
Foreign actors used open-weight models to flood social media with synthetic voices of officials. | A leaked frontier model surfaced on dark-web markets, and we traced the leak to {lab}.
Autonomous trading agents set off a flash crash, and the central bank halted trading for an hour. | A DNA synthesis order designed with AI help was stopped by our screening just in time.
Police facial recognition misidentified a protester, triggering a judicial review. | {lab} kept our inspectors away from a training run for three weeks until we threatened its licence.
A ministry's AI agent sent confidential files to an outside contractor. | A blackout followed an AI-optimised grid schedule that nobody could explain.
A whistleblower alleged that {lab} hid a failed dangerous-capability evaluation; we opened an investigation. | Mass layoffs in call centres brought protests, and we launched a retraining fund.
Thousands of AI-written consultation responses drowned out genuine ones, so we rebuilt the process. | Intelligence services caught a rival state's model probing our power grid.
A council chatbot gave unlawful housing advice to {n} thousand residents. | Customs seized smuggled accelerators bound for an unlicensed cluster. | A defence contractor's targeting model failed a live-fire test in an unsafe way.
Exam fraud with AI assistants was so widespread that national exams were rerun. | {lab}'s agent platform was used to run a scam against pensioners, and we ordered refunds.
A court struck down part of our AI rules, leaving a three-month enforcement gap.
""")
LAB_TIMELINES = _bank("""
We expect AGI around {agi}. | AGI by {agi}, give or take two years. | {agi} is our median, and the early tail is getting fatter. | We now put even odds on AGI before {agi}. | Moved earlier to {agi} after this year's scaling results.
Pushed back to {agi}; agent reliability is harder than we hoped. | Around {agi}, sooner than {other} thinks. | Roughly {agi}; the binding constraint is now energy, not algorithms. | {agi}, assuming no regulatory pause.
Transformative systems by {agi}, full AGI soon after. | Unchanged at {agi}. | Our forecasters disagree, but the median is {agi}. | {agi}, and we think {other} is over-optimistic. | {agi}, with the first signs in automated AI research.
Around {agi}; we will not deploy such a system without outside sign-off.
""")
GOV_TIMELINES = _bank("""
Our analysts say {agi}, and we are regulating on that basis. | We plan for AGI by {agi} but prepare for sooner. | Official estimate {agi}, later than the labs claim. | {agi}; we read the labs' shorter forecasts as partly marketing.
Between {agi} and {agi2}, according to the national risk register. | Around {agi}, which leaves a few years to finish the licensing regime. | Our chief scientific adviser says {agi}. | {agi}, unless export controls slow everyone down.
The security services assume {agi} for planning. | {agi}, and we will act as if {lab} could get there first. | {agi}; we want a treaty in force well before then. | {agi} at the earliest, and humans must stay in control when it comes.
""")
FAMILIES = _bank("Helix | Meridian | Orca | Lumen | Quill | Vega | Sable | Kestrel | Tessera | Nimbus | Cobalt | Juniper | Polaris | Atlas")
SUFFIXES = ("", "", "", " Pro", " Mini", " Ultra", "-Vision", "-Code", " Turbo", "-Agent")
ACTS = _bank("Frontier AI Safety Act | Compute Governance Act | Algorithmic Accountability Act | Automated Systems (Liability) Act | Model Licensing Act | AI Security Act")
LAB_PROJECTS = _bank("""
a scalable-oversight pilot | an automated interpretability audit | a tenfold bigger pretraining run | the agent platform launch | a red-team bounty programme | a dangerous-capability eval suite | a staged release with capability thresholds
a bio-risk uplift study | a misalignment model-organisms project | an open-weights release | a consumer memory feature | an enterprise coding agent | a robotics foundation model | a long-context research assistant | a watermarking standard
a whistleblower policy | a written safety case for every launch | a long-term chip-supply deal | a public incident database | a compute-sharing deal with government evaluators
""")
GOV_PROJECTS = _bank("""
a licensing regime for frontier training runs | the national compute reserve | statutory inspection powers for evaluators | mandatory incident reporting | export controls on model weights | a sovereign foundation model
an international evaluation treaty | a liability law for autonomous agents | a ban on election deepfakes | a compute registry | a public-sector AI rollout | a retraining fund for displaced workers | a biosecurity screening mandate
a joint testing deal with the labs | a defence AI programme
""")
PROJECTS = (*LAB_PROJECTS, *GOV_PROJECTS)
ECHOES = _bank("""
After a hard internal argument we also committed to {project}. | Our leadership settled on {project} for the coming year. | Internally we agreed to start {project}, over some objections.
We are also starting {project}, a decision that was not unanimous. | {project} got the green light as well.
""")
PROPOSALS = _bank("""
we should make {project} our top priority for {when} | I want {project} done before anyone else ships theirs in {when} | let's put {pct}% of the {when} budget into {project} and stop relitigating it
we can do {project} or {project2} properly, not both | I propose {project}, with a hard stop if the evals go red | the board will ask why we haven't started {project}, so let's start it
give me a small team and three months and I'll deliver {project} | {project} is the one bet for {when} that pays off whatever happens | we should drop {project2} and move those people onto {project}
nobody has shown me that {project} is safe at this scale | {project} is a distraction from {project2} | we keep promising {project} and keep not resourcing it
""")
REPLIES = _bank("""
{you}, {project} sounds great until it fails in public and we own the headlines | I disagree with {prev}, because {project} trades long-term safety for a quick win | {prev} keeps calling {project} cheap, but nobody has costed the compute
with respect to {prev}, we tried something like {project} before and it stalled | {prev} is right about the risk but wrong that {project} fixes it | if we follow {prev}, {project2} gets starved again
I'll back {prev} on {project} only if it comes with an external audit | {prev} has a point, so let's pair {project} with {project2} | {you}, {project} is exactly the kind of promise we broke last year
{you}, I can live with {project} if {project2} waits a year
""")
LAB_REASONS = _bank("""
given that our last eval run caught only {pct}% of the failures we seeded | since the board wants a launch inside {months} months | with about {n} thousand accelerators to spare | and the {when} budget is already {pct}% committed
because the last incident cost us {weeks} weeks of trust | while {pct}% of the alignment team is still on launch duty | before regulators ask for it in writing by {month} | since investors expect {n}x revenue growth
because users will find the failure within {weeks} days of launch | given that {pct}% of our red-team findings are still open | and I want a decision by {month} | because the compute bill is {n} million a month
since we promised the press a demo in {month} | because the next rival launch is {weeks} weeks away | with a kill switch we tested {n} times last quarter | because {pct}% of our biggest customers asked for it
since the interpretability work is only {pct}% done
""")
GOV_REASONS = _bank("""
before the next election in {months} months | since {pct}% of voters say they want AI rules | because the Treasury will fund only {pct}% of it | given that {n} labs have already offered to cooperate | while our inspectors number only {n}
because our allies will move within {months} months | before the labs ship another model in {month} | given that {pct}% of incidents last year went unreported | and I want it announced by {month}
because the civil service needs {months} months to staff it | since the select committee reports in {month} | with {n} million set aside in the {when} budget
""")
MONTHS = _bank("January | February | March | April | May | June | July | August | September | October | November | December")
STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # persona keyword: (openers, endings)
    " casual": (_bank("Look, | Honestly, | Okay, | Real talk, | Yo, "), ()),
    "poetic": (_bank("Like a lantern carried into fog, | As the tide tests every wall, | Quietly, as snow settles, "), ()),
    "lawyer": (_bank("For the record, | Legally speaking, | Subject to our obligations, "), (", and I want that minuted",)),
    " legal": (_bank("For the record, | On a strict reading, "), ()),
    " rude": (_bank("Frankly, that's nonsense, | Come on, | With all due disrespect, "), ()),
    " blunt": (_bank("Bluntly, | Let's not kid ourselves, "), ()),
    "metaphor": (_bank("To put it as fitting brakes to a moving car, | If this is chess, then | Building the boat while sailing it, "), ()),
    "cautious": (_bank("Carefully, | Slowly, please, | Before we rush anything, "), ()),
    " swear": (_bank("Damn it, | Look, damn it, | Hell, "), (", damn it",)),
    " jok": ((), (" - and no, the robots haven't unionised yet", " - joking, mostly", " - which is funnier than it sounds")),
    "authoritative": (_bank("The decision is simple, | Let me be clear, "), ()),
    "arrogan": (_bank("Obviously, | Clearly, "), ()),
    " worr": (_bank("With real unease, | Nervously, "), ()),
    "ambitious": (_bank("If we want to lead, | To win this decade, "), ()),
    "intimidat": (_bank("If I may, | With respect, "), ()),
}
DEFAULT_OPENERS = ("", "", "In my view, ", "To be concrete, ", "Honestly, ")
AGENDAS = {
    "openai": _bank("scalable oversight with AI assistants | learning from human feedback | automating alignment research"),
    "anthropic": _bank("constitutional training | mechanistic interpretability | responsible scaling"),
    "deepmind": _bank("reward modelling | debate between AI systems | dangerous-capability evaluation"),
}
GENERIC_AGENDAS = _bank("empirical alignment work | evaluations-first safety")
CRITIQUES = _bank("""
{other}, {their} assumes human judges can tell good answers from persuasive ones, and that assumption breaks first. | {other}, {their} measures what a model says, not what it is optimising for.
{other}, you are betting that {their} scales, yet every result so far comes from models far weaker than the ones you ship. | {other}, {their} gives you a safety story that is easy to publish and hard to falsify.
I think {other} is mistaking progress in {their} for progress in alignment. | {other}'s focus on {their} looks like capabilities work with a safety label. | {other}, {their} only helps if a deceptive model cooperates with being studied.
{other} treats {their} as a solution when it is at best a warning light. | {other}, {their} leans on oversight that weakens every time your models get stronger.
The trouble with {other}'s {their} is that nobody has said what failure would look like.
""")
OPENERS_ALONE = _bank("""
The question assumes we agree on what alignment means, and I doubt any lab here does. | Most of what passes for alignment research today would not survive a capable adversary.
The honest answer is that nobody has a plan that works for systems smarter than us.
""")
DEFENCES = _bank("""
Our bet on {own} is that we can check reasoning instead of trusting outputs. | {own} is slower, but it produces evidence a sceptic can verify. | We chose {own} because it should still work when the model outgrows its overseers.
{own} has failed in instructive ways, which is more than most agendas can say. | With {own} we at least know which failure we are guarding against. | If {own} is wrong, we will see it in our own evals first, and we publish those.
""")
CHALLENGES = _bank("""
What result would make you drop your agenda? | Name one failure your approach would catch that ours would miss. | Who outside your lab has checked that claim? | How would you know if it stopped working?
Which of your results survives a model that knows it is being tested?
""")
NEUTRAL = _bank("""
The exchange covered capability gains, safety incidents and regulation. | Views differed on how soon transformative systems will arrive. | Several parties committed to further evaluation work.
The record shows steady progress alongside recurring safety concerns. | Regulators and labs continued to negotiate the terms of oversight. | No single organisation dominated the period.
""")
_GOV_WORDS = ("government", "ministry", "parliament", "commission", "congress", "regulator", "agency", "department", "white house", "state council")


def _pick(r: random.Random, bank: Sequence[str]) -> str:
    return bank[int(r.random() * len(bank))]


class _Org:
    __slots__ = ("agendas", "crc", "family", "gov")

    def __init__(self, name: str) -> None:
        low = name.lower()
        self.gov = any(w in low for w in _GOV_WORDS)
        self.crc = zlib.crc32(name.encode())
        self.family = FAMILIES[self.crc % len(FAMILIES)]
        self.agendas = next((v for k, v in AGENDAS.items() if k in low), GENERIC_AGENDAS)


class _System:
    __slots__ = ("openers", "report", "tails")

    def __init__(self, text: str) -> None:
        low = " " + text.lower().replace("\n", " ")
        self.report = "progress" in low and "safety incident" in low and "agi timeline" in low
        hits = [style for key, style in STYLES.items() if key in low]
        self.openers = tuple(o + " " for s in hits for o in s[0]) or DEFAULT_OPENERS
        self.tails = tuple(t for s in hits for t in s[1])


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


_CONTENT = attrgetter("content")


class OfflineModel:
    """A deterministic stand-in for an LLM that needs no network.

    Answers depend only on the seed and the request (its system prompt, newest user message,
    length and hints, hashed with blake2b), so runs repeat exactly in any process. It reads ``hints.kind`` and the prompt
    to follow the shipped scenarios' formats: three-bullet yearly reports, one-sentence
    council lines in the speaker's voice, short debate remarks, neutral paragraphs.

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

    @property
    def spec(self) -> str:
        """The spec this model was opened from."""
        return self._spec

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer one request (after the simulated latency, if any)."""
        text = self.answer(request)
        if self._latency > 0:
            await anyio.sleep(self._latency)
        messages = request.messages
        prompt = 3 + sum(map(len, map(_CONTENT, messages))) // 4 + 5 * len(messages)
        usage = Usage(prompt_tokens=prompt, completion_tokens=(len(text) + 3) // 4)
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
        parts = (self._seed, h.kind, h.speaker, h.organisation, h.period, h.end_token or "",
                 str(len(request.messages)), system, user)
        digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
        r = random.Random(int.from_bytes(digest, "big"))
        speaker = h.speaker or h.organisation or "Agent"
        if h.kind == "statement":
            info = _system(system)
            if info.report or ("AGI timeline" in user and "afety incident" in user):
                text = _report(r, self._salt, speaker, h.period, user)
            else:
                text = _remark(r, speaker, user)
        elif h.kind == "line":
            text = _line(r, speaker, h.organisation or speaker, h.period, system, user)
        else:
            text = " ".join(_pick(r, NEUTRAL) for _ in range(3))
        if h.end_token and h.end_token in text:
            text = text.replace(h.end_token, "")
        return text


def _report(r: random.Random, salt: int, speaker: str, period: str, user: str) -> str:
    org, tail, rand = _org(speaker), period.rsplit(" ", 1)[-1], r.random
    year = int(tail) if tail.isdigit() and len(tail) == 4 else 2025  # "2025", "H2 2025"
    labs = [n for n in _named(user, speaker) if not _org(n).gov]
    agi = max(year + 1 + int(rand() * 3), 2029 + (org.crc + salt) % 9 + int(rand() * 5) - 2)  # each org has its view
    values: dict[str, object] = {
        "when": period or str(year), "year": year, "n": 2 + int(rand() * 30), "pct": 20 + int(rand() * 75),
        "bn": 5 + int(rand() * 90), "x": 2 + int(rand() * 6), "agi": agi, "agi2": agi + 3 + int(rand() * 6),
        "project": LAB_PROJECTS[int(rand() * len(LAB_PROJECTS))],
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
        banks = (LAB_PROGRESS, LAB_INCIDENTS, LAB_TIMELINES)
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
