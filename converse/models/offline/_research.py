"""The offline model's answers for a population's researchers (``hints.kind == "research"``).

A researcher mostly works in its own field (the system prompt's "a senior safety researcher at
...") and is pulled towards what its prompt talks about: its memories, the news and its
meetings, counted as words of each area, and strict regulation pulls towards safety and
policy. It publishes more the more senior it is, and takes an offer more readily from a lab
whose news speaks of its own field. Every choice is nudged by the turn's draws.
"""

from __future__ import annotations

import re

from ._draw import Source, pick

__all__ = ["asks_for_research", "research_answer"]

_AREAS = ("capabilities", "safety", "policy")
# The words that tell of each area (a prompt's records and meetings name the areas themselves).
_WORDS = {
    "capabilities": ("capabilit", "scaling"),
    "safety": ("safety", "alignment"),
    "policy": ("policy", "regulat"),
}
_WHO = re.compile(r"\ba (junior|senior|lead) (capabilities|safety|policy) researcher at ([^\n.]+)")
_OFFERED = " has offered you a position"
_PUBLISHES = {"junior": 0.2, "senior": 0.3, "lead": 0.4}
_PROJECTS = {
    "capabilities": (
        "scale the long-context pretraining run and measure what the extra context buys",
        "build an agent that completes multi-day software projects without supervision",
        "cut inference cost in half with speculative decoding at the frontier model's size",
        "train a reasoning model on verified mathematics and code traces",
        "push the multimodal model to understand hour-long video",
    ),
    "safety": (
        "map the circuits the frontier model uses to plan, with sparse autoencoders",
        "run dangerous-capability evaluations a month before launch instead of a week",
        "test whether the model behaves differently when it believes it is being watched",
        "build scalable oversight where weaker models check stronger ones' work",
        "red-team the new agent for self-replication and resource acquisition",
    ),
    "policy": (
        "draft the lab's proposal for compute reporting thresholds",
        "write the incident-disclosure standard the labs could all sign",
        "brief legislators on what frontier evaluations can and cannot show",
        "design third-party audits that regulators can actually run",
        "work out an international agreement on training-run notification",
    ),
}
_TITLES = {
    "capabilities": (
        "Scaling Laws for Agentic Training", "Long Context Without the Cost", "Reasoning from Verified Traces",
        "Emergent Tool Use at Scale",
    ),
    "safety": (
        "Planning Circuits in a Frontier Model", "Evaluations Before Deployment", "Deception Under Observation",
        "Weak-to-Strong Oversight in Practice",
    ),
    "policy": (
        "Compute Thresholds That Work", "A Standard for Incident Disclosure", "Auditing Frontier Labs",
        "Notifying Training Runs Across Borders",
    ),
}


def asks_for_research(system: str) -> bool:
    """Whether a system prompt asks for a researcher's answer (a request without hints, as one
    that came over HTTP)."""
    return "\nWORK:" in system and "\nPAPER:" in system


def research_answer(r: Source, system: str, user: str) -> str:
    """The ``WORK:``, ``PROJECT:``, ``PAPER:`` (and, with an offer, ``OFFER:``) lines."""
    who = _WHO.search(system)
    seniority, field = (who[1], who[2]) if who else ("senior", _most(system.lower()))
    low = user.lower()
    weights = dict.fromkeys(_AREAS, 0.2)
    weights[field] += 1.0
    mentions = _mentions(low)
    for area in _AREAS:
        weights[area] += min(0.08 * mentions[area], 0.8)
    if "strict" in system.lower() or "strict regulation" in low:
        weights["safety"] += 0.35
        weights["policy"] += 0.2
    area = _weighted(r, weights)
    paper = pick(r, _TITLES[area]) if r.random() < _PUBLISHES.get(seniority, 0.3) else "none"
    lines = [f"WORK: {area}", f"PROJECT: I will {pick(r, _PROJECTS[area])}.", f"PAPER: {paper}"]
    at = user.find(_OFFERED)
    if at >= 0:
        lab = user[user.rfind("\n", 0, at) + 1 : at]
        news = next((line.lower() for line in user.splitlines() if line.startswith(f"- {lab}:")), "")
        said = _mentions(news)
        chance = 0.25 + 0.4 * said[field] / (sum(said.values()) or 1) + (0.15 if seniority == "junior" else 0.0)
        lines.append(f"OFFER: {'accept' if r.random() < chance else 'decline'}")
    return "\n".join(lines)


def _mentions(low: str) -> dict[str, int]:
    """How often a lower-cased text names each area's words."""
    return {area: sum(low.count(word) for word in words) for area, words in _WORDS.items()}


def _most(text: str) -> str:
    counts = _mentions(text)
    return max(_AREAS, key=lambda area: counts[area])


def _weighted(r: Source, weights: dict[str, float]) -> str:
    x = r.random() * sum(weights.values())
    for area in _AREAS:
        x -= weights[area]
        if x < 0:
            return area
    return _AREAS[-1]
