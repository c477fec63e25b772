"""The fidelity audit: what each agent was shown on each call, checked against what it may see."""

from ._audit import Violation as Violation
from ._audit import Window as Window
from ._report import AgentStats as AgentStats
from ._report import AuditReport as AuditReport
from ._report import audit_file as audit_file
from ._report import audit_run as audit_run
from ._report import format_report as format_report

__all__ = [
    "AgentStats",
    "AuditReport",
    "Violation",
    "Window",
    "audit_file",
    "audit_run",
    "format_report",
]
