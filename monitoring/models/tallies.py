"""What monitoring keeps of the Prometheus tallies: counts folded from the event log."""

from __future__ import annotations

from django.db import models


class TallyCursor(models.Model):
    """How far the execution event log has been folded into ``Tally`` rows (one row, id 1)."""

    event_id = models.BigIntegerField(help_text="Events up to this id are counted in the tallies.")
    folded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"events up to #{self.event_id}"


class Tally(models.Model):
    """One cumulative Prometheus figure counted from the event log: a counter's value, or a
    histogram's count in one bucket (not cumulative) or its sum, for one set of label values."""

    metric = models.CharField(max_length=100)
    labels = models.CharField(max_length=1000, help_text="The label values, as a JSON object with sorted keys.")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["metric", "labels"], name="unique_tally")]

    def __str__(self) -> str:
        return f"{self.metric}{self.labels} = {self.value:g}"
