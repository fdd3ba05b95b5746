from workflows.models.contexts import PendingContext
from workflows.models.drafts import CanvasDraft, PinnedData, WorkflowDraft
from workflows.models.keys import ApiKey
from workflows.models.templates import Template
from workflows.models.tenants import Membership, Role, Tenant
from workflows.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "ApiKey", "CanvasDraft", "Membership", "PendingContext", "PinnedData", "Role", "Template", "Tenant", "Workflow",
    "WorkflowDraft", "WorkflowVersion",
]
