from __future__ import annotations

import uuid

from django.db import models

from workflows.models.tenants import Tenant


class Template(models.Model):
    """A tenant's own workflow template; the built-in ones are YAML files shipped with MBFlow."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=100)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    yaml_text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_template_name")]

    def __str__(self) -> str:
        return self.name
