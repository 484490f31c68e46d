"""hookline: a webhook-triggered workflow engine."""

from hookline.errors import HooklineError
from hookline.models import Answer, Execution, ExecutionStatus, Job, JobStatus, Node, Workflow

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Execution",
    "ExecutionStatus",
    "HooklineError",
    "Job",
    "JobStatus",
    "Node",
    "Workflow",
    "__version__",
]
