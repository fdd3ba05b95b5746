from __future__ import annotations

from typing import Any

from django.db import models

from executions.models.executions import Execution


class ImmutableEventError(Exception):
    pass


class ExecutionEvent(models.Model):
    """One state change of an execution. Append-only: rows are inserted, never updated."""

    # No index of its own: unique_event_seq (execution, seq) serves every lookup by execution;
    # no constraint in the database either (the note above NodeRun in executions.models.executions).
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events", db_index=False,
                                  db_constraint=False)
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    node_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    time = models.DateTimeField()

    class Meta:
        ordering = ["execution", "seq"]
        constraints = [models.UniqueConstraint(fields=["execution", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.node_id}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableEventError("Execution events are append-only.")
        super().save(*args, **kwargs)
