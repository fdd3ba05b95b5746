"""Business metrics (``spec.metrics``): what each finished execution observed, and the running
totals Prometheus reads."""

from __future__ import annotations

from django.db import models

from workflows.models import Tenant, Workflow


class MetricSeries(models.Model):
    """One business metric of a workflow with one set of label values, and its totals since it
    was first observed: a counter's sum, a gauge's last value, a histogram's buckets. Totals only
    go up (observations past their keeping time are deleted, the totals stay)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=80)
    type = models.CharField(max_length=16)
    labels = models.CharField(max_length=2000, help_text="The label values, as a JSON object with sorted keys.")
    count = models.BigIntegerField(default=0, help_text="Observations.")
    total = models.FloatField(default=0, help_text="The sum of the observed values.")
    last = models.FloatField(null=True, blank=True, help_text="The latest value (a gauge's).")
    last_at = models.DateTimeField(null=True, blank=True)
    bounds = models.JSONField(default=list, blank=True, help_text="A histogram's bucket bounds.")
    buckets = models.JSONField(default=list, blank=True,
                               help_text="Observations per bucket (not cumulative), the last one past every bound.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "metric", "labels"], name="unique_metric_series")]

    def __str__(self) -> str:
        return f"{self.metric}{self.labels}"


class MetricObservation(models.Model):
    """One finished execution's value of one business metric."""

    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, related_name="observations")
    execution_id = models.UUIDField()
    # The event that ended the execution: a run retried that ends again observes again.
    seq = models.PositiveIntegerField()
    value = models.FloatField()
    time = models.DateTimeField(help_text="When the execution ended.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "execution_id", "seq"],
                                               name="unique_metric_observation")]
        indexes = [models.Index(fields=["series", "time"], name="metric_observation_time")]

    def __str__(self) -> str:
        return f"{self.series_id} = {self.value:g} at {self.time.isoformat()}"
