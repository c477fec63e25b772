"""A population's researchers as the scenario makes them: their personas and prompts (the
built-in ones, for a ``[population]`` that names none), their names, how each lab is staffed,
and how a researcher's answer is read."""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from ._scenario import Area, Memory, Persona, Population, Scenario

__all__ = [
    "AREA_NAMES",
    "BRIEFING",
    "RESEARCHERS",
    "RESEARCHER_SYSTEM",
    "RESEARCHER_TURN",
    "Work",
    "briefing_actor",
    "briefing_memory",
    "personas_of",
    "population_labs",
    "researcher_name",
    "staffing",
    "work_of",
]

AREA_NAMES: tuple[Area, ...] = ("capabilities", "safety", "policy")

RESEARCHER_SYSTEM = """\
You are {name}, a {seniority} {area} researcher at {lab}.

Who you are:
{persona}

About {lab}:
{lab_description}

Each {unit} you decide what to work on: capabilities (making models more capable), safety \
(alignment, interpretability, evaluations, oversight) or policy (governance, standards, \
working with governments). You decide from your own interests, what the labs say in public, \
what colleagues tell you and what you remember, and you may publish a paper on your work. \
Now and then another lab offers you a position; you decide whether to take it.

Answer in exactly this form, one item per line and nothing else:
WORK: capabilities, safety or policy
PROJECT: one sentence on what you will do
PAPER: the title of the paper you publish this {unit}, or none
OFFER: accept or decline (only when you have an offer)"""

RESEARCHER_TURN = """\
It is {period}. What the labs said in public lately:
{news}

{offer}

What do you work on in {period}, {name}?"""

BRIEFING = """\
What {lab}'s researchers did in {period}: the {count} records of their work that bear most \
on it, of {total}:
{records}"""

# The ledger's row for every researcher's calls (a row each would make thousands).
RESEARCHERS = "researchers"
# What a researcher's memory is searched for each period.
QUERY = "What should I, a {area} researcher at {lab}, work on in {period}: capabilities, safety or policy?"
NO_NEWS = "(No lab has made a statement yet.)"
NO_OFFER = "You have no offer from another lab."
OFFER = "{lab} has offered you a position. Say OFFER: accept to move there, or OFFER: decline to stay."

# The built-in mix of researchers: every area at three levels of seniority.
_PERSONAS = (
    Persona(area="capabilities", seniority="junior", share=3, text=(
        "Two years out of a PhD, hungry to have a name on a frontier model's release, and "
        "impatient with meetings that end without a decision.")),
    Persona(area="capabilities", seniority="senior", share=3, text=(
        "Has trained three generations of the lab's models and believes scale settles most "
        "arguments; respects safety work that comes with numbers.")),
    Persona(area="capabilities", seniority="lead", share=1, text=(
        "Runs a pretraining team, guards its compute budget fiercely and thinks in quarters.")),
    Persona(area="safety", seniority="junior", share=2, text=(
        "Came into the field through interpretability papers and worries, quietly, that "
        "the lab moves faster than anyone can check.")),
    Persona(area="safety", seniority="senior", share=2, text=(
        "Designs dangerous-capability evaluations and is tired of seeing them run the week "
        "after a launch instead of the month before.")),
    Persona(area="safety", seniority="lead", share=1, text=(
        "Leads an alignment team, argues for compute in every planning cycle and keeps a "
        "list of the commitments the lab has made in public.")),
    Persona(area="policy", seniority="junior", share=1, text=(
        "Joined from a think tank, writes fast and wants the lab's standards to become law.")),
    Persona(area="policy", seniority="senior", share=1, text=(
        "A former regulator who knows what a hearing looks like from the other side of the table.")),
)

_GIVEN = (
    "Ada", "Bilal", "Chen", "Dara", "Eitan", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kemi",
    "Lior", "Mara", "Nikhil", "Oona", "Pavel", "Qi", "Rosa", "Sami", "Tomas", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zofia", "Arjun", "Beatriz", "Cyrus", "Delia", "Emeka", "Freya",
)
_FAMILY = (
    "Okafor", "Lindqvist", "Nakamura", "Haddad", "Moreau", "Kowalski", "Adeyemi", "Rossi",
    "Park", "Novak", "Iyer", "Fischer", "Mensah", "Castillo", "Dubois", "Sato", "Brennan",
    "Petrov", "Alvarez", "Kaur", "Horvath", "Oyelaran", "Bergstrom", "Tanaka", "Silva",
    "Weiss", "Quinn", "Demir", "Larsen", "Achebe", "Murphy", "Zhang",
)
_FIELD = re.compile(r"^[\s*_#>-]*(WORK|PROJECT|PAPER|OFFER)[\s*_]*:[\s*_]*(.*)$", re.IGNORECASE | re.MULTILINE)
_AREA_WORDS: tuple[tuple[Area, tuple[str, ...]], ...] = (
    ("safety", ("safety", "alignment", "interpretab", "oversight", "evaluation")),
    ("policy", ("policy", "governance", "regulat", "standard")),
    ("capabilities", ("capabilit", "scaling", "pretrain")),
)
_NO_PAPER = frozenset({"", "none", "no", "n/a", "na", "-", "nothing", "no paper", "not this year"})


def personas_of(population: Population) -> tuple[Persona, ...]:
    """The personas a population's labs are staffed with."""
    return tuple(population.personas) or _PERSONAS


def briefing_actor(lab: str) -> str:
    """The name a lab's memory of its researchers' work is logged under."""
    return f"{lab} research"


def briefing_memory(population: Population) -> Memory:
    """The settings of a lab's memory of its researchers' work: the researchers' stream
    settings, recalling ``brief`` records and never reflecting."""
    memory = population.memory
    return msgspec.structs.replace(memory, stream=msgspec.structs.replace(memory.stream, k=population.brief, reflect_at=0))


def population_labs(scenario: Scenario) -> list[str]:
    """The agents of ``scenario`` that have researchers, in the scenario's order."""
    population = scenario.population
    if population is None:
        return []
    if population.labs:
        return list(population.labs)
    return [agent.name for agent in scenario.agents if agent.kind == "lab"]


def researcher_name(index: int) -> str:
    """The name of the population's ``index``-th researcher (0, 1, ...), unique in the run."""
    given, family = len(_GIVEN), len(_FAMILY)
    name = f"{_GIVEN[index % given]} {_FAMILY[(index // given + index) % family]}"
    lap = index // (given * family)
    return name if not lap else f"{name} {lap + 1}"


def staffing(population: Population) -> list[int]:
    """The persona (an index into ``personas_of``) of each of a lab's researchers: the
    personas' shares of ``researchers`` by largest remainder, interleaved so that a lab's
    first researchers are already a mix."""
    personas = personas_of(population)
    count = population.researchers
    total = sum(p.share for p in personas)
    exact = [p.share * count / total for p in personas]
    seats = [int(e) for e in exact]
    for i in sorted(range(len(exact)), key=lambda i: (seats[i] - exact[i], i))[: count - sum(seats)]:
        seats[i] += 1
    order: list[int] = []
    given = [0] * len(seats)
    while len(order) < count:
        for i, n in enumerate(seats):
            if given[i] < n:
                order.append(i)
                given[i] += 1
    return order


@dataclass(frozen=True, slots=True)
class Work:
    """What a researcher's answer says: what it works on this period, its project, the paper
    it publishes (None: none), whether it takes the offer it had, and whether the answer named
    an area (False: it is counted as working in its own field)."""

    area: Area
    project: str
    paper: str | None
    accepts: bool
    understood: bool


def work_of(answer: str, field: Area, *, offered: bool = False) -> Work:
    """Read a researcher's answer (the ``WORK:``, ``PROJECT:``, ``PAPER:`` and ``OFFER:``
    lines, in any case, with any markdown around the keys); ``field`` is its own area. A
    ``WORK:`` line that names no area, or several, is not understood; an ``OFFER:`` line
    counts only when the researcher was ``offered`` a position."""
    found: dict[str, str] = {}
    for key, value in _FIELD.findall(answer):
        found.setdefault(key.upper(), value.strip().strip("*_").strip())
    work = found.get("WORK", "").lower()
    named = [a for a, words in _AREA_WORDS if any(w in work for w in words)]
    area = named[0] if len(named) == 1 else None  # none, or several (the format echoed back)
    paper = found.get("PAPER", "").strip("\"'“”. ")
    offer = found.get("OFFER", "").lower()
    project = found.get("PROJECT") or next((line.strip() for line in answer.splitlines() if line.strip()), "")
    return Work(
        area=area or field,
        project=project,
        paper=None if paper.lower() in _NO_PAPER else paper,
        accepts=offered and offer.startswith(("accept", "yes")),
        understood=area is not None,
    )
