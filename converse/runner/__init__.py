"""A run put together: the kind of conversation a scenario holds (councils or a role-play), its
model and judge, handed to the engine; ``run_scenario`` and ``resume_run``; and what a run will
cost before it runs (``estimate_run``)."""

from ._estimate import Estimate as Estimate
from ._estimate import estimate_run as estimate_run
from ._run import ensure_transcript as ensure_transcript
from ._run import kind_of as kind_of
from ._run import resume_run as resume_run
from ._run import resume_with as resume_with
from ._run import run_scenario as run_scenario
from ._run import run_with as run_with

__all__ = [
    "Estimate",
    "ensure_transcript",
    "estimate_run",
    "kind_of",
    "resume_run",
    "resume_with",
    "run_scenario",
    "run_with",
]
