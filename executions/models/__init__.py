from executions.models.events import ExecutionEvent
from executions.models.executions import Execution, ExecutionStatus, NodeRun, NodeStatus
from executions.models.limits import Limit
from executions.models.secrets import Secret

__all__ = ["Execution", "ExecutionEvent", "ExecutionStatus", "Limit", "NodeRun", "NodeStatus", "Secret"]
