"""Many runs: a sweep's grid, running many at once in one process or on Ray, and the summary
and report over their results."""

from ._grid import PlannedRun as PlannedRun
from ._grid import Sweep as Sweep
from ._grid import plan_sweep as plan_sweep
from ._many import Finished as Finished
from ._many import Job as Job
from ._many import run_many as run_many
from ._report import write_report as write_report
from ._rows import SweepProgress as SweepProgress
from ._stats import Interval as Interval
from ._stats import bootstrap_ci as bootstrap_ci
from ._summary_csv import SweepRow as SweepRow
from ._summary_csv import read_summary_csv as read_summary_csv
from ._summary_csv import write_summary_csv as write_summary_csv
from ._sweep import SweepOutcome as SweepOutcome
from ._sweep import run_sweep as run_sweep

__all__ = [
    "Finished",
    "Interval",
    "Job",
    "PlannedRun",
    "Sweep",
    "SweepOutcome",
    "SweepProgress",
    "SweepRow",
    "bootstrap_ci",
    "plan_sweep",
    "read_summary_csv",
    "run_many",
    "run_sweep",
    "write_report",
    "write_summary_csv",
]
