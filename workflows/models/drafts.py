from __future__ import annotations

from django.db import models

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
