from executions.models.events import ExecutionEvent
from executions.models.executions import Execution, ExecutionStatus, NodeRun, NodeStatus
from executions.models.secrets import Secret

__all__ = ["Execution", "ExecutionEvent", "ExecutionStatus", "NodeRun", "NodeStatus", "Secret"]
