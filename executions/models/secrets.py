from __future__ import annotations

from django.db import models

from workflows.models import Tenant


class Secret(models.Model):
    """A tenant's named secret, encrypted at rest (see ``executions.services.secrets``)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_secret_name")]

    def __str__(self) -> str:
        return self.name
