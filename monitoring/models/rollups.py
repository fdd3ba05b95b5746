"""Hourly and daily rollups of the execution and node-run rows, which the metrics API reads for
the whole hours and days of a long window (``monitoring.services.rollups`` keeps them)."""

from __future__ import annotations

from django.db import models

HOUR = 3600
DAY = 86400
# The ``size`` of rows for what retention deleted: a ``RollupPeriod`` of size PRUNED marks an hour
# some of whose executions were deleted, and ``ExecutionRollup``/``NodeRollup`` rows of size
# PRUNED hold those executions' figures (added up over the pruner's batches), so the hour can be
# rolled up again from its remaining rows plus them.
PRUNED = -HOUR


class RollupPeriod(models.Model):
    """An hour (``size`` 3600) or a day (86400) of a tenant whose rollup rows were computed at
    ``rolled_at`` from the raw rows (none: nothing ran then). It counts only while none of its
    executions has a ``RollupDirty`` row. Size ``PRUNED`` (-3600): an hour some of whose
    executions retention deleted (``rolled_at``: the last time)."""

    tenant = models.ForeignKey("workflows.Tenant", on_delete=models.CASCADE, related_name="+")
    size = models.IntegerField()
    start = models.DateTimeField()
    rolled_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "size", "start"], name="unique_rollup_period")]

    def __str__(self) -> str:
        return f"{self.size}s from {self.start:%Y-%m-%d %H:%M}"


class ExecutionRollup(models.Model):
    """The executions of one workflow (none: ad hoc) created in one period: counts by how they
    ended, and the durations of those that ended (count, sum, log-spaced histogram)."""

    tenant = models.ForeignKey("workflows.Tenant", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, null=True, related_name="+")
    size = models.IntegerField()
    start = models.DateTimeField()
    execution_count = models.IntegerField()
    success_count = models.IntegerField()
    failure_count = models.IntegerField()
    cancelled_count = models.IntegerField()
    duration_count = models.IntegerField()
    duration_sum = models.FloatField()
    durations = models.BinaryField(default=b"", help_text="The ended executions' durations by bucket, packed "
                                                          "(monitoring.aggregates.Histogram).")

    class Meta:
        indexes = [models.Index(fields=["tenant", "size", "start"])]

    def __str__(self) -> str:
        return f"{self.execution_count} executions, {self.size}s from {self.start:%Y-%m-%d %H:%M}"


class NodeRollup(models.Model):
    """The runs of one node of one workflow, in the executions created in one period."""

    tenant = models.ForeignKey("workflows.Tenant", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, null=True, related_name="+")
    node_id = models.CharField(max_length=64)
    size = models.IntegerField()
    start = models.DateTimeField()
    execution_count = models.IntegerField()
    ended_count = models.IntegerField()
    failure_count = models.IntegerField()
    retry_count = models.IntegerField()
    duration_count = models.IntegerField()
    duration_sum = models.FloatField()
    durations = models.BinaryField(default=b"", help_text="The runs' durations by bucket, packed "
                                                          "(monitoring.aggregates.Histogram).")

    class Meta:
        indexes = [models.Index(fields=["tenant", "size", "start"])]

    def __str__(self) -> str:
        return f"{self.node_id}: {self.execution_count} runs, {self.size}s from {self.start:%Y-%m-%d %H:%M}"


class RollupDirty(models.Model):
    """An execution whose rows changed since the rollups of its hour and day were computed (the
    engine's events mark it; the next tick computes those periods again and drops the mark)."""

    # No index but its key: a mark is written by every step and dropped by the next tick, so the
    # table holds a few ticks' worth of rows, which the tick and the pruner read whole.
    tenant_id = models.UUIDField()
    execution_id = models.UUIDField()

    def __str__(self) -> str:
        return f"execution {self.execution_id}"
