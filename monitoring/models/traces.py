"""What tracing keeps: the span that started each execution, for the execution's trace to link to."""

from __future__ import annotations

from django.db import models

from executions.models import Execution


class TraceStart(models.Model):
    """The span that started an execution (a request's, or a trigger's made for it). Written
    only while tracing is on, when the execution is created; read when it ends."""

    execution = models.OneToOneField(Execution, primary_key=True, on_delete=models.CASCADE, related_name="+")
    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"{self.execution_id} started by {self.trace_id}/{self.span_id}"
