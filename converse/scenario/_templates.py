"""Prompt templates: which placeholders each may (and must) use, and how they are filled."""

from __future__ import annotations

import string

from .._exceptions import ScenarioError

# Placeholders each template may use (dials are allowed everywhere), and those it must use.
TEMPLATE_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "system": (
        frozenset({"name", "description", "organisations", "others", "first_period", "last_period", "unit"}),
        frozenset(),
    ),
    "turn": (frozenset({"name", "period", "statements"}), frozenset({"period", "statements"})),
    "statement": (
        frozenset({"name", "period", "statements", "debate"}),
        frozenset({"period", "statements", "debate"}),
    ),
    "member_system": (
        frozenset({"name", "persona", "organisation", "organisation_description", "colleagues"}),
        frozenset(),
    ),
    "council_opening": (
        frozenset({"organisation", "period", "public_record"}),
        frozenset({"period"}),
    ),
    "member_turn": (
        frozenset({"name", "organisation", "period", "debate"}),
        frozenset({"period", "debate"}),
    ),
    "member_statement": (
        frozenset({"name", "organisation", "period", "debate", "advice"}),
        frozenset({"period", "debate", "advice"}),
    ),
}

# Placeholders of a population's prompts (``[population.prompts]``), and of its personas' texts.
POPULATION_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "researcher_system": (
        frozenset({"name", "seniority", "area", "lab", "persona", "lab_description", "unit"}),
        frozenset(),
    ),
    "researcher_turn": (
        frozenset({"name", "lab", "period", "news", "offer"}),
        frozenset({"period", "news", "offer"}),
    ),
    "briefing": (frozenset({"lab", "period", "count", "total", "records"}), frozenset({"records"})),
}
PERSONA_FIELDS = frozenset({"name", "lab", "area", "seniority"})


def template_fields(template: str, path: str = "$", file: str = "<scenario>") -> set[str]:
    """The placeholder names in a template; raises ``ScenarioError`` on bad syntax."""
    names: set[str] = set()
    try:
        for _, field, spec, conversion in string.Formatter().parse(template):
            if field is None:
                continue
            if not field.isidentifier() or spec or conversion:
                raise ScenarioError(file, path, f"bad placeholder {{{field}}}: use plain {{name}} (double braces for a literal brace)")
            names.add(field)
    except ValueError as exc:
        raise ScenarioError(file, path, f"bad template: {exc} (double braces for a literal brace)") from None
    return names


def fill(template: str, values: dict[str, object]) -> str:
    """Fill a checked template."""
    return template.format_map(values)
