from __future__ import annotations

import uuid

from django.db import models

from workflows.models.tenants import Tenant


class PendingContext(models.Model):
    """A WorkflowContext (a workflow's input and output schemas) imported before its workflow.

    Kept until a workflow of that name is created in the tenant, which then gets the schemas in a
    version of their own; the row is deleted as it is applied. One per workflow name: a later
    context for the same workflow replaces it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="pending_contexts")
    workflow_name = models.CharField(max_length=100, help_text="The workflow whose schemas these are.")
    name = models.CharField(max_length=100, help_text="The context's own name (its metadata.name).")
    document = models.JSONField(help_text="The context as a native WorkflowContext document.")
    source_dialect = models.CharField(max_length=16, default="native")
    author = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "workflow_name"], name="unique_pending_context_workflow"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (for {self.workflow_name})"
