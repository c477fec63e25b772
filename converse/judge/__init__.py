"""The judge: a finished run's summary and scores, asked of a model (or a Python function) as
structured output and recorded in the log."""

from ._judge import DEFAULT_METRICS as DEFAULT_METRICS
from ._judge import JudgeFunction as JudgeFunction
from ._judge import RunJudge as RunJudge

__all__ = [
    "DEFAULT_METRICS",
    "JudgeFunction",
    "RunJudge",
]
