from __future__ import annotations

from django.db import models

from workflows.models.tenants import Tenant
from workflows.models.workflows import Workflow


class WorkflowDraft(models.Model):
    """Work in progress on a workflow, kept as typed: it need not parse or validate.

    A draft is never run: executions and triggers use the workflow's active version. One per
    workflow, replaced on every save of the draft (the designer autosaves it).
    """

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="draft", primary_key=True)
    yaml_text = models.TextField()
    # The version the draft was started from (null: none then), to say "draft of version N".
    base_version = models.PositiveIntegerField(null=True, blank=True)
    author = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"draft of {self.workflow.name}"


class PinnedData(models.Model):
    """Sample outputs pinned on a workflow's nodes in the designer, shared by the tenant's editors.

    Used only by test runs: the designer sends them with a test run's request (``pinned`` of
    POST /executions/adhoc). Production runs (the API, triggers, schedules) never read this table.
    Kept apart from the draft, which is dropped when a version is saved.
    """

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="pinned_data", primary_key=True)
    # Node id -> the output that node keeps in test runs.
    nodes = models.JSONField(default=dict)
    author = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"pinned data of {self.workflow.name}"


class CanvasDraft(models.Model):
    """A new workflow not saved yet (no workflow row exists): one per user and tenant, so that a
    reload of the designer's New workflow brings the work back. Deleted once the workflow is
    created (its pinned data then moves to the workflow) or when the user discards it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="canvas_drafts")
    owner = models.CharField(max_length=200)  # "user:<id>", or "key:<id>" for an API key
    yaml_text = models.TextField(blank=True)
    # The template the canvas was started from ("" for a blank one).
    template = models.CharField(max_length=200, blank=True)
    pinned = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "owner"], name="unique_canvas_draft_owner")]

    def __str__(self) -> str:
        return f"new workflow draft of {self.owner}"
