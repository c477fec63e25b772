"""What is read out of a log: Markdown transcripts of lab conversations and role-plays, and
CAMEL's chat, instruction and fine-tuning records. Pure functions of the events."""

from ._markdown import render_markdown as render_markdown

__all__ = ["render_markdown"]
