"""A concurrency or rate limit's shared state: one row per limit, locked while a start is decided."""

from __future__ import annotations

from django.db import models


class Limit(models.Model):
    # "<tenant id>:<limit name>" or "<tenant id>:<workflow>:<node id>", as NodeRun.limit_key.
    key = models.CharField(max_length=200, unique=True)
    # A rate limit's last `requests` starts (epoch seconds, sorted), promised future ones included.
    starts = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.key
