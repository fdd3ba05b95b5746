from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from workflows.models.tenants import Tenant


class Workflow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=100)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    active_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(default=False)
    # Only an active workflow's triggers (schedules, webhooks, events) start runs; starting one
    # through the API or the designer works either way.
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_workflow_name")]
        indexes = [models.Index(fields=["tenant", "archived", "name"])]

    def __str__(self) -> str:
        return self.name


class ImmutableVersionError(Exception):
    pass


class WorkflowVersion(models.Model):
    """One saved state of a workflow. Never updated after creation: a change is a new version."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    yaml_text = models.TextField(help_text="The YAML as written (native dialect).")
    spec = models.JSONField(help_text="The parsed native document.")
    checksum = models.CharField(max_length=64)
    message = models.CharField(max_length=500, blank=True)
    author = models.CharField(max_length=200, blank=True)
    source_dialect = models.CharField(max_length=16, default="native")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.workflow.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersionError("A workflow version is never changed; save a new version instead.")
        super().save(*args, **kwargs)
